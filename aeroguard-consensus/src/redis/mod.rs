//! The Redis backend (feature `redis`), on the `redis` crate with tokio, directly or through Sentinel.
//!
//! Redis has no sessions and no ordered watches, so each recipe is built from its own primitives, and every
//! read-check-write runs in one server-side script. Deadlines come from the server's clock (`TIME`).
//!
//! | recipe | keys under the prefix (default `aeroguard`) |
//! |---|---|
//! | session | `session:<node>:<id>`: a key with a TTL of the session timeout, extended every third of it; gone = expired |
//! | election | `el:<name>:lease` (`SET NX PX`, renewed by a compare-and-extend script), `el:<name>:token` (incremented on every grant: the fencing token), `el:<name>:queue` / `:alive` (candidates in join order, with liveness deadlines), `el:<name>:wake:<candidate>` (a list the predecessor pushes to when it leaves; candidates wait on it with `BLPOP`) |
//! | registry | `svc:<service>:live` (node → deadline), `:data`, `:owner`, and `:events`, a stream of joins and leaves |
//! | config | `cfg:<key>` (version and bytes), `cfg:<key>:changes`, a stream of versions that watchers block on |
//! | queue | `q:<name>`: a stream with the consumer group `aeroguard`; `XREADGROUP`, `XACK` + `XDEL`, `XAUTOCLAIM` of entries idle longer than the session timeout |
//!
//! # What the backend promises, and what it cannot
//!
//! - **Leadership is a lease.** The leader renews it every third of the session timeout `T`; it stops
//!   trusting itself ([`LossReason::LeaseExpired`](crate::LossReason::LeaseExpired)) at `9T/10` after the last
//!   renewal it *sent* that succeeded, which is before the server can let the lease run out (`T` after it
//!   *received* it), so two leaders never both trust themselves, as long as the clocks of the leader and the
//!   server run at the same rate within 10 %. [`Leadership::ensure`](crate::Leadership::ensure) reads that
//!   deadline directly, so a leader waking from a long pause knows at once.
//! - **Sessions are emulated.** A session is a key with a TTL; a coordinator whose session key is gone (it
//!   was silent longer than `T`, or the key was deleted) reports `Expired`, opens a new session (epoch + 1),
//!   re-registers its registrations and drops its leadership.
//! - **Replication is asynchronous.** A write acknowledged by the master can be lost if the master dies before
//!   a replica has it, and Sentinel then promotes a replica without it: a config version, a queue item, a history
//!   point, or an election grant (and with it a fencing-token increment, so a token could be handed out twice).
//!   [`Durability::Replicas`] makes grants, config writes and history writes wait (`WAIT`) until that many
//!   replicas have them, and fail with [`Error::NotReplicated`] otherwise; that narrows the window but is not
//!   consensus (Redis can still lose a write that `WAIT` reported on if it fails over twice).
//! - **Failover.** Through Sentinel ([`RedisTarget::Sentinel`]) every connection error, `READONLY` or
//!   `MASTERDOWN` makes the next command resolve the master again; operations in flight during the failover fail
//!   with `ConnectionLoss` and may be retried. Writes stall for about as long as Sentinel takes to promote a
//!   replica (down-after + election; 2-3 s with the test services' settings).
//! - Everything lives on one master: the scripts touch several keys, so Redis Cluster is not supported.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aeroguard_core::NodeId;
use async_trait::async_trait;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::{
    ConfigStore, Coordinator, Election, Error, Queue, Registry, Result, SessionState, SessionStatus,
};

mod config;
mod conn;
mod election;
mod history;
mod queue;
mod registry;
mod scripts;

pub use history::RedisHistory;

pub(crate) const BACKEND: &str = "redis";

/// Where the Redis master is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedisTarget {
    /// One server, by URL (`redis://127.0.0.1:6379/0`).
    Direct {
        /// The URL.
        url: String,
    },
    /// The master named `master`, as reported by these Sentinels (`redis://127.0.0.1:26379`, ...).
    Sentinel {
        /// Sentinel URLs.
        sentinels: Vec<String>,
        /// The master's name in the Sentinels' configuration.
        master: String,
    },
}

/// How far a write must have gone before it counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// The master has it (the default: Redis' own behaviour).
    Master,
    /// At least `count` replicas have it within `timeout` (`WAIT count timeout`), else
    /// [`Error::NotReplicated`]. Applies to election grants, config writes and history writes.
    Replicas {
        /// Replicas that must acknowledge.
        count: u32,
        /// How long to wait for them.
        timeout: Duration,
    },
}

/// Connection parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct RedisOptions {
    /// Where the master is.
    pub target: RedisTarget,
    /// The prefix of every key.
    pub prefix: String,
    /// The session timeout `T`: the TTL of sessions, leases, registrations and queue claims.
    pub session_timeout: Duration,
    /// How long a leader tolerates a suspended connection before it stops trusting its leadership (the lease
    /// deadline at `9T/10` applies in any case).
    pub grace: Duration,
    /// The time limit of one command (and of connecting).
    pub operation_timeout: Duration,
    /// How far writes must go.
    pub durability: Durability,
}

impl RedisOptions {
    fn with_target(target: RedisTarget) -> Self {
        let session_timeout = Duration::from_secs(4);
        RedisOptions {
            target,
            prefix: "aeroguard".into(),
            session_timeout,
            grace: session_timeout / 2,
            operation_timeout: Duration::from_secs(1),
            durability: Durability::Master,
        }
    }

    /// One server by URL, with a 4 s session timeout.
    ///
    /// ```
    /// use aeroguard_consensus::redis::RedisOptions;
    /// let o = RedisOptions::direct("redis://127.0.0.1:6379").with_session_timeout(std::time::Duration::from_secs(2));
    /// assert_eq!(o.grace, std::time::Duration::from_secs(1));
    /// ```
    pub fn direct(url: impl Into<String>) -> Self {
        Self::with_target(RedisTarget::Direct { url: url.into() })
    }

    /// The master `master` through these Sentinels (`host:port` or `redis://host:port`).
    pub fn sentinel(sentinels: &[&str], master: impl Into<String>) -> Self {
        let sentinels = sentinels
            .iter()
            .map(|s| {
                if s.contains("://") {
                    s.to_string()
                } else {
                    format!("redis://{s}")
                }
            })
            .collect();
        Self::with_target(RedisTarget::Sentinel {
            sentinels,
            master: master.into(),
        })
    }

    /// Sets the session timeout and the grace to half of it.
    pub fn with_session_timeout(mut self, timeout: Duration) -> Self {
        self.session_timeout = timeout;
        self.grace = timeout / 2;
        self
    }

    /// Sets the key prefix.
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Sets how far writes must go.
    pub fn with_durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    fn validate(&self) -> Result<()> {
        crate::error::check_name("key prefix", &self.prefix)?;
        if self.session_timeout < Duration::from_millis(300) {
            return Err(Error::parameter(
                "session_timeout",
                self.session_timeout,
                "must be at least 300 ms",
            ));
        }
        if self.grace >= self.session_timeout {
            return Err(Error::parameter(
                "grace",
                self.grace,
                "must be shorter than the session timeout",
            ));
        }
        if self.operation_timeout.is_zero() || self.operation_timeout >= self.session_timeout {
            return Err(Error::parameter(
                "operation_timeout",
                self.operation_timeout,
                "must be positive and shorter than the session timeout",
            ));
        }
        if let RedisTarget::Sentinel { sentinels, master } = &self.target {
            if sentinels.is_empty() {
                return Err(Error::parameter(
                    "sentinels",
                    sentinels,
                    "must name at least one Sentinel",
                ));
            }
            crate::error::check_name("master", master)?;
        }
        Ok(())
    }

    /// The session timeout in milliseconds, as scripts take it.
    pub(crate) fn ttl_ms(&self) -> u64 {
        u64::try_from(self.session_timeout.as_millis()).unwrap_or(u64::MAX)
    }
}

/// The session a coordinator and its recipes share.
#[derive(Debug)]
pub(crate) struct Cell {
    pub options: RedisOptions,
    pub node: NodeId,
    pub pool: conn::Pool,
    status: watch::Sender<SessionStatus>,
    session_id: Mutex<String>,
    closed: AtomicBool,
    /// Queue entries this coordinator holds, by stream key: kept claimed by the heartbeat.
    held: Mutex<HashMap<String, HashSet<String>>>,
    /// Leases held, by lease key → (queue key, alive key, member): released on close.
    leases: Mutex<HashMap<String, (String, String, String)>>,
    /// Registrations held: (service, owner), removed on close.
    registrations: Mutex<HashSet<(String, String)>>,
}

pub(crate) type Handle = Arc<Cell>;

impl Cell {
    /// A key under the prefix.
    pub fn key(&self, rest: &str) -> String {
        format!("{}:{rest}", self.options.prefix)
    }

    /// The current session's id and epoch, or why there is none.
    pub fn session_now(&self, operation: &'static str) -> Result<(String, u64)> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(Error::Closed);
        }
        let status = *self.status.borrow();
        match status.state {
            SessionState::Expired => Err(Error::SessionExpired { operation }),
            SessionState::Closed => Err(Error::Closed),
            _ => Ok((
                self.session_id.lock().unwrap_or_else(|p| p.into_inner()).clone(),
                status.epoch,
            )),
        }
    }

    /// This coordinator's owner string in the current session: `node|session`.
    pub fn owner(&self, operation: &'static str) -> Result<(String, u64)> {
        let (sid, epoch) = self.session_now(operation)?;
        Ok((format!("{}|{sid}", self.node), epoch))
    }

    pub fn session(&self) -> watch::Receiver<SessionStatus> {
        self.status.subscribe()
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// Resolves when the session `epoch` has ended (expired or closed), with the error to report.
    pub async fn session_ended(&self, epoch: u64) -> Error {
        let mut rx = self.status.subscribe();
        let _ = rx
            .wait_for(|s| s.epoch != epoch || matches!(s.state, SessionState::Expired | SessionState::Closed))
            .await;
        if self.is_closed() {
            Error::Closed
        } else {
            Error::SessionExpired { operation: "wait" }
        }
    }

    /// Waits for `WAIT` acknowledgements if the options ask for them.
    pub async fn replicate(
        &self,
        conn: &mut redis::aio::MultiplexedConnection,
        operation: &'static str,
    ) -> Result<()> {
        let Durability::Replicas { count, timeout } = self.options.durability else {
            return Ok(());
        };
        let ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        let mut cmd = redis::cmd("WAIT");
        cmd.arg(count).arg(ms);
        let wait = cmd.query_async::<i64>(conn);
        let acked = match tokio::time::timeout(timeout + self.pool.op_timeout(), wait).await {
            Ok(Ok(n)) => n,
            Ok(Err(e)) => return Err(self.pool.fail(e, operation)),
            Err(_) => 0,
        };
        if acked < i64::from(count) {
            return Err(Error::NotReplicated {
                operation,
                wanted: count,
                acked: u32::try_from(acked.max(0)).unwrap_or(0),
            });
        }
        Ok(())
    }

    /// Runs one command-like future on the shared connection with the crate's error mapping.
    pub async fn run<T, F, Fut>(&self, operation: &'static str, f: F) -> Result<T>
    where
        F: FnOnce(redis::aio::MultiplexedConnection) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        if self.is_closed() {
            return Err(Error::Closed);
        }
        let conn = self.pool.conn(operation).await?;
        match tokio::time::timeout(self.pool.op_timeout() * 2, f(conn)).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(self.pool.fail(e, operation)),
            Err(_) => {
                self.pool.forget();
                Err(Error::ConnectionLoss {
                    backend: BACKEND,
                    operation,
                })
            }
        }
    }

    pub fn hold(&self, stream: &str, ids: impl IntoIterator<Item = String>) {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        held.entry(stream.to_string()).or_default().extend(ids);
    }

    pub fn unhold(&self, stream: &str, ids: &[String]) {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(set) = held.get_mut(stream) {
            for id in ids {
                set.remove(id);
            }
        }
    }

    pub fn track_lease(&self, lease: &str, queue: &str, alive: &str, member: &str, on: bool) {
        let mut leases = self.leases.lock().unwrap_or_else(|p| p.into_inner());
        if on {
            leases.insert(lease.into(), (queue.into(), alive.into(), member.into()));
        } else {
            leases.remove(lease);
        }
    }

    pub fn track_registration(&self, service: &str, owner: &str, on: bool) {
        let mut regs = self.registrations.lock().unwrap_or_else(|p| p.into_inner());
        if on {
            regs.insert((service.into(), owner.into()));
        } else {
            regs.remove(&(service.to_string(), owner.to_string()));
        }
    }
}

fn new_session_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.write_u32(std::process::id());
    format!("{:016x}", h.finish())
}

/// Opens a session key; the session id on success.
async fn open_session(cell: &Cell) -> Result<String> {
    let sid = new_session_id();
    let key = cell.key(&format!("session:{}:{sid}", cell.node));
    let ttl = cell.options.ttl_ms();
    cell.run("open session", |mut c| async move {
        redis::cmd("SET")
            .arg(&key)
            .arg(1)
            .arg("PX")
            .arg(ttl)
            .query_async::<()>(&mut c)
            .await
    })
    .await?;
    Ok(sid)
}

/// Extends the session every `T/3` and keeps held queue entries claimed; maps failures to `Suspended`, a
/// silence longer than `T` or a missing session key to `Expired`, then opens a new session.
async fn heartbeat(cell: std::sync::Weak<Cell>) {
    let Some(c) = cell.upgrade() else { return };
    let period = c.options.session_timeout / 3;
    let ttl = c.options.ttl_ms();
    drop(c);
    let mut last_ok = Instant::now();
    let mut wait = period;
    loop {
        tokio::time::sleep(wait).await;
        wait = period;
        let Some(c) = cell.upgrade() else { return };
        if c.is_closed() {
            return;
        }
        let sent = Instant::now();
        let sid = c.session_id.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let key = c.key(&format!("session:{}:{sid}", c.node));
        let beat = c
            .run("session heartbeat", |mut conn| async move {
                scripts::SESSION_BEAT
                    .key(&key)
                    .arg(ttl)
                    .invoke_async::<i64>(&mut conn)
                    .await
            })
            .await;
        let expired = match beat {
            Ok(1) => {
                last_ok = sent;
                c.status.send_if_modified(|s| {
                    let changed = s.state != SessionState::Connected;
                    s.state = SessionState::Connected;
                    changed
                });
                touch_held(&c, &sid).await;
                false
            }
            Ok(_) => true,
            Err(_) if sent.duration_since(last_ok) >= c.options.session_timeout => true,
            Err(_) => {
                c.status.send_if_modified(|s| {
                    let changed = s.state != SessionState::Suspended;
                    s.state = SessionState::Suspended;
                    changed
                });
                // Try again soon: a failover ends within seconds, and the session key must be extended
                // before it runs out.
                wait = (period / 8).max(Duration::from_millis(50));
                false
            }
        };
        if !expired {
            continue;
        }
        c.status.send_modify(|s| s.state = SessionState::Expired);
        drop(c);
        // A new session, backing off while the server is unreachable.
        let mut backoff = Duration::from_millis(100);
        loop {
            let Some(c) = cell.upgrade() else { return };
            if c.is_closed() {
                return;
            }
            match open_session(&c).await {
                Ok(sid) => {
                    *c.session_id.lock().unwrap_or_else(|p| p.into_inner()) = sid;
                    c.held.lock().unwrap_or_else(|p| p.into_inner()).clear();
                    c.status.send_modify(|s| {
                        s.state = SessionState::Connected;
                        s.epoch += 1;
                    });
                    last_ok = Instant::now();
                    break;
                }
                Err(_) => {
                    drop(c);
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                }
            }
        }
    }
}

/// Resets the idle time of the entries this session holds, so `XAUTOCLAIM` leaves them alone.
async fn touch_held(c: &Cell, sid: &str) {
    let held: Vec<(String, Vec<String>)> = c
        .held
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .filter(|(_, ids)| !ids.is_empty())
        .map(|(k, ids)| (k.clone(), ids.iter().cloned().collect()))
        .collect();
    let consumer = format!("{}|{sid}", c.node);
    for (stream, ids) in held {
        let consumer = consumer.clone();
        let _ = c
            .run("keep queue claims", |mut conn| async move {
                let mut inv = scripts::QUEUE_TOUCH.key(&stream);
                inv.arg(queue::GROUP).arg(&consumer).arg(0);
                for id in &ids {
                    inv.arg(id);
                }
                inv.invoke_async::<i64>(&mut conn).await
            })
            .await;
    }
}

/// One node's session with Redis.
#[derive(Debug)]
pub struct RedisCoordinator {
    cell: Handle,
    heartbeat: tokio::task::JoinHandle<()>,
}

impl RedisCoordinator {
    /// Connects `node` and opens its session.
    ///
    /// Fails with `ConnectionLoss` when the server (or, through Sentinel, the master) does not answer, and with
    /// `InvalidParameter` for options that cannot work.
    pub async fn connect(node: NodeId, options: RedisOptions) -> Result<Arc<RedisCoordinator>> {
        options.validate()?;
        let pool = conn::Pool::new(&options.target, options.operation_timeout)?;
        let (status, _) = watch::channel(SessionStatus {
            state: SessionState::Connected,
            epoch: 1,
        });
        let cell = Arc::new(Cell {
            options,
            node,
            pool,
            status,
            session_id: Mutex::new(String::new()),
            closed: AtomicBool::new(false),
            held: Mutex::new(HashMap::new()),
            leases: Mutex::new(HashMap::new()),
            registrations: Mutex::new(HashSet::new()),
        });
        let sid = open_session(&cell).await?;
        *cell.session_id.lock().unwrap_or_else(|p| p.into_inner()) = sid;
        let heartbeat = tokio::spawn(heartbeat(Arc::downgrade(&cell)));
        Ok(Arc::new(RedisCoordinator { cell, heartbeat }))
    }

    /// Deletes the session key at the server while the coordinator lives on, as if it had been silent past
    /// the session timeout (for failure tests): it sees `Expired` at its next heartbeat, then opens a new session.
    pub async fn force_expire(&self) -> Result<()> {
        let sid = self
            .cell
            .session_id
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let key = self.cell.key(&format!("session:{}:{sid}", self.cell.node));
        self.cell
            .run("expire session", |mut c| async move {
                redis::cmd("DEL").arg(&key).query_async::<i64>(&mut c).await
            })
            .await?;
        Ok(())
    }

    /// Stops this coordinator as if its process had died, for failure tests: no more heartbeats or renewals,
    /// `Closed` to its own recipes, and nothing cleaned up at the server, so its leases, registrations and
    /// claims run out after the session timeout, as a crashed process's would.
    pub fn abandon(&self) {
        self.cell.closed.store(true, Ordering::SeqCst);
        self.heartbeat.abort();
        self.cell.status.send_modify(|s| s.state = SessionState::Closed);
    }

    /// A history store on this coordinator's connection (see [`RedisHistory`]).
    pub fn history(self: &Arc<Self>) -> RedisHistory {
        RedisHistory::new(self.clone())
    }

    async fn release_everything(&self) {
        let leases: Vec<(String, (String, String, String))> = self
            .cell
            .leases
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain()
            .collect();
        for (lease, (queue, alive, member)) in leases {
            let wake = format!("{}:wake:", lease.trim_end_matches(":lease"));
            let _ = self
                .cell
                .run("close", |mut c| async move {
                    scripts::ELECTION_LEAVE
                        .key(&queue)
                        .key(&alive)
                        .key(&lease)
                        .arg(&member)
                        .arg(&wake)
                        .invoke_async::<i64>(&mut c)
                        .await
                })
                .await;
        }
        let regs: Vec<(String, String)> = self
            .cell
            .registrations
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain()
            .collect();
        for (service, owner) in regs {
            let _ = registry::delete(&self.cell, &service, &owner).await;
        }
        let sid = self
            .cell
            .session_id
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let key = self.cell.key(&format!("session:{}:{sid}", self.cell.node));
        let _ = self
            .cell
            .run("close", |mut c| async move {
                redis::cmd("DEL").arg(&key).query_async::<i64>(&mut c).await
            })
            .await;
    }
}

#[async_trait]
impl Coordinator for RedisCoordinator {
    fn node(&self) -> &NodeId {
        &self.cell.node
    }

    fn backend(&self) -> &'static str {
        BACKEND
    }

    fn session(&self) -> watch::Receiver<SessionStatus> {
        self.cell.session()
    }

    fn election(&self, name: &str) -> Result<Arc<dyn Election>> {
        crate::error::check_name("election", name)?;
        Ok(Arc::new(election::RedisElection::new(self.cell.clone(), name)))
    }

    fn registry(&self) -> Arc<dyn Registry> {
        Arc::new(registry::RedisRegistry::new(self.cell.clone()))
    }

    fn config(&self) -> Arc<dyn ConfigStore> {
        Arc::new(config::RedisConfig::new(self.cell.clone()))
    }

    fn queue(&self, name: &str) -> Result<Arc<dyn Queue>> {
        crate::error::check_name("queue", name)?;
        Ok(Arc::new(queue::RedisQueue::new(self.cell.clone(), name)))
    }

    async fn close(&self) {
        if self.cell.is_closed() {
            return;
        }
        self.heartbeat.abort();
        self.release_everything().await;
        self.cell.closed.store(true, Ordering::SeqCst);
        self.cell.status.send_modify(|s| s.state = SessionState::Closed);
    }
}

impl Drop for RedisCoordinator {
    fn drop(&mut self) {
        self.heartbeat.abort();
        if !self.cell.closed.swap(true, Ordering::SeqCst) {
            self.cell.status.send_modify(|s| s.state = SessionState::Closed);
        }
    }
}
