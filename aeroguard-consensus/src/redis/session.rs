//! The session a coordinator and its recipes share: emulated by a key with a TTL, kept alive by a heartbeat
//! that also keeps the queue claims the session holds.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use aeroguard_core::NodeId;
use parking_lot::Mutex;
use tokio::sync::watch;

use super::{BACKEND, Durability, RedisOptions, conn};
use crate::{Error, Result, SessionState, SessionStatus};

/// The session a coordinator and its recipes share.
#[derive(Debug)]
pub(crate) struct RedisSession {
    pub options: RedisOptions,
    pub node: NodeId,
    pub pool: conn::Pool,
    pub status: watch::Sender<SessionStatus>,
    pub session_id: Mutex<String>,
    pub closed: AtomicBool,
    /// Queue entries this coordinator holds, by stream key: kept claimed by the heartbeat.
    pub held: Mutex<HashMap<String, HashSet<String>>>,
    /// Leases held, by lease key → (election, member): released on close.
    pub leases: Mutex<HashMap<String, (String, String)>>,
    /// Registrations held: (service, owner), removed on close.
    pub registrations: Mutex<HashSet<(String, String)>>,
}

pub(crate) type Session = Arc<RedisSession>;

impl RedisSession {
    /// The base key of `name` of `kind` (see `keys`).
    pub fn named(&self, kind: &str, name: &str) -> String {
        super::keys::named(&self.options.prefix, kind, name)
    }

    /// The key of this node's session `sid`: under the node's own keys when it asks an election authority
    /// (its login writes nothing else's), else `<prefix>:session:{<node>}:<sid>`.
    pub fn session_key(&self, sid: &str) -> String {
        if self.options.election_authority {
            super::keys::own(
                &self.options.prefix,
                self.node.as_str(),
                &format!("session:{sid}"),
            )
        } else {
            format!("{}:{sid}", self.named("session", self.node.as_str()))
        }
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
            _ => Ok((self.session_id.lock().clone(), status.epoch)),
        }
    }

    /// This coordinator's owner string in the current session: `node|session`.
    pub fn owner(&self, operation: &'static str) -> Result<(String, u64)> {
        let (sid, epoch) = self.session_now(operation)?;
        Ok((format!("{}|{sid}", self.node), epoch))
    }

    pub fn status(&self) -> watch::Receiver<SessionStatus> {
        self.status.subscribe()
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// Resolves when the session `epoch` has ended (expired or closed), with the error to report.
    pub async fn session_ended(&self, epoch: u64) -> Error {
        let mut rx = self.status.subscribe();
        // An error here means the status sender is gone, which ends the session as surely.
        rx.wait_for(|s| s.epoch != epoch || matches!(s.state, SessionState::Expired | SessionState::Closed))
            .await
            .ok();
        if self.is_closed() {
            Error::Closed
        } else {
            Error::SessionExpired { operation: "wait" }
        }
    }

    /// Runs one write (a command or script, all or nothing) and, when the options ask for replicas, `WAIT`s for
    /// them on the same connection, a dedicated one: `WAIT` counts only its own connection's writes, and it
    /// blocks its connection while it waits, so on the shared one it held up every other call, and its time
    /// limit dropped them all. Fewer acknowledgements than asked is [`Error::NotReplicated`]; the write itself
    /// stays on the master.
    pub async fn run_replicated<T, F, Fut>(&self, operation: &'static str, f: F) -> Result<T>
    where
        F: FnOnce(redis::aio::MultiplexedConnection) -> Fut + Clone,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        match self.options.durability {
            Durability::Master => self.run(operation, f).await,
            Durability::Replicas { count, timeout } => {
                self.write_and_wait(operation, count, timeout, f).await
            }
        }
    }

    /// [`run_pipeline`](Self::run_pipeline), then `WAIT` as [`run_replicated`](Self::run_replicated) does.
    pub async fn run_pipeline_replicated<T, F, Fut>(&self, operation: &'static str, f: F) -> Result<T>
    where
        F: FnOnce(redis::aio::MultiplexedConnection) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        match self.options.durability {
            Durability::Master => self.run_pipeline(operation, f).await,
            Durability::Replicas { count, timeout } => {
                self.write_and_wait(operation, count, timeout, f).await
            }
        }
    }

    /// One write on a dedicated connection, then `WAIT count timeout` on it.
    async fn write_and_wait<T, F, Fut>(
        &self,
        operation: &'static str,
        count: u32,
        timeout: Duration,
        f: F,
    ) -> Result<T>
    where
        F: FnOnce(redis::aio::MultiplexedConnection) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        if self.is_closed() {
            return Err(Error::Closed);
        }
        let conn = self.pool.dedicated(operation).await?;
        let lost = || Error::ConnectionLoss {
            backend: BACKEND,
            operation,
        };
        let answer = match tokio::time::timeout(self.pool.op_timeout() * 2, f(conn.clone())).await {
            Ok(Ok(v)) => v,
            Ok(Err(e)) => return Err(self.pool.fail(e, operation)),
            Err(_) => return Err(lost()),
        };
        let ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        let mut cmd = redis::cmd("WAIT");
        cmd.arg(count).arg(ms);
        let mut waiting = conn.clone();
        let wait = cmd.query_async::<i64>(&mut waiting);
        let acked = match tokio::time::timeout(timeout + self.pool.op_timeout(), wait).await {
            Ok(Ok(n)) => {
                self.pool.give_back(conn);
                n
            }
            Ok(Err(e)) => return Err(self.pool.fail(e, operation)),
            // The server did not answer in time: this connection (and no other) is dropped.
            Err(_) => 0,
        };
        if acked < i64::from(count) {
            return Err(Error::NotReplicated {
                operation,
                wanted: count,
                acked: u32::try_from(acked.max(0)).unwrap_or(0),
            });
        }
        Ok(answer)
    }

    /// Runs one command or script (all or nothing) on the shared connection with the crate's error mapping. A
    /// refusal for now (`OOM`, `BUSY`) means it did not run, so it is retried with backoff for up to the operation
    /// timeout, then reported as the retryable `Overloaded`.
    pub async fn run<T, F, Fut>(&self, operation: &'static str, f: F) -> Result<T>
    where
        F: FnOnce(redis::aio::MultiplexedConnection) -> Fut + Clone,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        let give_up = tokio::time::Instant::now() + self.pool.op_timeout();
        let mut backoff = Duration::from_millis(20);
        loop {
            match self.once(operation, f.clone()).await? {
                Ok(v) => return Ok(v),
                Err(e) if super::conn::transient(&e) && tokio::time::Instant::now() + backoff < give_up => {
                    tracing::debug!(operation, error = %e, "refused for now; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_millis(500));
                }
                Err(e) => return Err(self.pool.fail(e, operation)),
            }
        }
    }

    /// Runs a pipeline once: it is not all or nothing (a refusal half-way leaves the commands before it done),
    /// so it is never retried here; a refusal for now reaches the caller as `Overloaded`.
    pub async fn run_pipeline<T, F, Fut>(&self, operation: &'static str, f: F) -> Result<T>
    where
        F: FnOnce(redis::aio::MultiplexedConnection) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        self.once(operation, f)
            .await?
            .map_err(|e| self.pool.fail(e, operation))
    }

    /// One attempt: the server's answer, or the connection's failure (a timeout drops the connection).
    async fn once<T, F, Fut>(&self, operation: &'static str, f: F) -> Result<redis::RedisResult<T>>
    where
        F: FnOnce(redis::aio::MultiplexedConnection) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        if self.is_closed() {
            return Err(Error::Closed);
        }
        let conn = self.pool.conn(operation).await?;
        match tokio::time::timeout(self.pool.op_timeout() * 2, f(conn)).await {
            Ok(answer) => Ok(answer),
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
        let mut held = self.held.lock();
        held.entry(stream.to_string()).or_default().extend(ids);
    }

    pub fn unhold(&self, stream: &str, ids: &[String]) {
        let mut held = self.held.lock();
        if let Some(set) = held.get_mut(stream) {
            for id in ids {
                set.remove(id);
            }
        }
    }

    pub fn track_lease(&self, election: &str, lease: &str, member: &str, on: bool) {
        let mut leases = self.leases.lock();
        if on {
            leases.insert(lease.into(), (election.into(), member.into()));
        } else {
            leases.remove(lease);
        }
    }

    pub fn track_registration(&self, service: &str, owner: &str, on: bool) {
        let mut regs = self.registrations.lock();
        if on {
            regs.insert((service.into(), owner.into()));
        } else {
            regs.remove(&(service.to_string(), owner.to_string()));
        }
    }
}

pub(super) use super::heartbeat::{heartbeat, open_session};
