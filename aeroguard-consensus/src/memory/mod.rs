//! The in-memory backend: every recipe's semantics in one process, with fault injection.
//!
//! A [`MemoryCluster`] plays the coordination service; each [`MemoryCluster::connect`] is one node's
//! [`MemoryCoordinator`] with its own session. It is the embedded default for examples and the ground for the
//! randomised simulation: faults are injected by hand or drawn from a seed ([`MemoryCluster::with_seed`]),
//! and on a paused tokio clock a seed replays the same schedule.
//!
//! Sessions follow ZooKeeper's model: [`suspend`](MemoryCluster::suspend) cuts a node off (its operations fail
//! with `ConnectionLoss`, its ephemeral state stands) and, if the cut lasts the session timeout, the cluster
//! expires the session; [`expire`](MemoryCluster::expire) drops it at once; [`crash`](MemoryCluster::crash)
//! is a process death (the session lingers until its timeout, as on a real server). After an expiry the
//! coordinator builds a new session (epoch + 1) and re-registers its registrations; leadership is lost and
//! must be campaigned for again.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use aeroguard_core::NodeId;
use async_trait::async_trait;
use tokio::sync::watch;

use crate::config::Versioned;
use crate::{
    ConfigStore, Coordinator, Election, Error, Queue, Registry, Result, SessionState, SessionStatus,
};

mod config;
mod election;
mod queue;
mod registry;

const BACKEND: &str = "memory";

/// Session parameters of a memory coordinator.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MemoryOptions {
    /// How long a cut-off session lives on before the cluster expires it.
    pub session_timeout: Duration,
    /// How long a leader tolerates a suspended connection before it stops trusting its leadership; must be
    /// shorter than the session timeout.
    pub grace: Duration,
}

impl Default for MemoryOptions {
    fn default() -> Self {
        MemoryOptions {
            session_timeout: Duration::from_secs(2),
            grace: Duration::from_millis(600),
        }
    }
}

impl MemoryOptions {
    fn validate(&self) -> Result<()> {
        if self.session_timeout.is_zero() {
            return Err(Error::parameter(
                "session_timeout",
                self.session_timeout,
                "must be above zero",
            ));
        }
        if self.grace >= self.session_timeout {
            return Err(Error::parameter(
                "grace",
                self.grace,
                "must be shorter than the session timeout",
            ));
        }
        Ok(())
    }
}

pub(crate) type SessionId = u64;

#[derive(Debug)]
struct SessionEntry {
    node: NodeId,
    status: watch::Sender<SessionStatus>,
    notify: watch::Sender<u64>,
    suspended: bool,
    expired: bool,
    /// The current cut: when it began, when it ends, and which `suspend` call last set it.
    cut: Option<(tokio::time::Instant, tokio::time::Instant, u64)>,
}

#[derive(Debug, Default)]
pub(crate) struct MemQueue {
    pub items: BTreeMap<u64, Vec<u8>>,
    pub claims: HashMap<u64, SessionId>,
}

#[derive(Debug, Default)]
pub(crate) struct State {
    zxid: u64,
    next_session: SessionId,
    sessions: HashMap<SessionId, SessionEntry>,
    /// Candidates per election: (sequence, node, session), in sequence order.
    pub elections: HashMap<String, Vec<(u64, NodeId, SessionId)>>,
    pub services: HashMap<String, BTreeMap<NodeId, (SessionId, serde_json::Value)>>,
    pub configs: HashMap<String, Versioned<Vec<u8>>>,
    pub queues: HashMap<String, MemQueue>,
}

impl State {
    /// The next transaction number (tokens, sequence numbers).
    pub fn next_zxid(&mut self) -> u64 {
        self.zxid += 1;
        self.zxid
    }

    /// Fails unless `sid` is connected.
    pub fn live(&self, sid: SessionId, operation: &'static str) -> Result<()> {
        match self.sessions.get(&sid) {
            Some(s) if s.expired => Err(Error::SessionExpired { operation }),
            Some(s) if s.suspended => Err(Error::ConnectionLoss {
                backend: BACKEND,
                operation,
            }),
            Some(_) => Ok(()),
            None => Err(Error::SessionExpired { operation }),
        }
    }

    /// Drops everything ephemeral `sid` owns.
    fn drop_ephemerals(&mut self, sid: SessionId) {
        for candidates in self.elections.values_mut() {
            candidates.retain(|c| c.2 != sid);
        }
        for members in self.services.values_mut() {
            members.retain(|_, (owner, _)| *owner != sid);
        }
        for q in self.queues.values_mut() {
            q.claims.retain(|_, owner| *owner != sid);
        }
    }
}

/// Tells a client its session expired, unless it is closed (a closed client stays closed).
fn mark_expired(status: &watch::Sender<SessionStatus>) {
    status.send_if_modified(|s| {
        let open = s.state != SessionState::Closed;
        if open {
            s.state = SessionState::Expired;
        }
        open
    });
}

/// A tiny seeded generator for fault schedules (SplitMix64).
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[derive(Debug)]
struct Chaos {
    rng: Rng,
    max_delay: Duration,
}

#[derive(Debug)]
pub(crate) struct Shared {
    state: Mutex<State>,
    chaos: Mutex<Chaos>,
}

/// The coordination service, in memory. Cheap to clone (shared).
#[derive(Debug, Clone)]
pub struct MemoryCluster {
    shared: Arc<Shared>,
}

impl Default for MemoryCluster {
    fn default() -> Self {
        MemoryCluster::with_seed(0)
    }
}

impl MemoryCluster {
    /// A cluster with no faults scheduled.
    pub fn new() -> Self {
        MemoryCluster::default()
    }

    /// A cluster whose random choices (notification delays) come from `seed`.
    pub fn with_seed(seed: u64) -> Self {
        MemoryCluster {
            shared: Arc::new(Shared {
                state: Mutex::new(State::default()),
                chaos: Mutex::new(Chaos {
                    rng: Rng(seed),
                    max_delay: Duration::ZERO,
                }),
            }),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the maps half-updated in a way later calls rely on,
        // so a poisoned lock is taken over.
        self.shared.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Connects `node` with the default session options.
    pub fn connect(&self, node: NodeId) -> Result<Arc<MemoryCoordinator>> {
        self.connect_with(node, MemoryOptions::default())
    }

    /// Connects `node` with `options`.
    pub fn connect_with(&self, node: NodeId, options: MemoryOptions) -> Result<Arc<MemoryCoordinator>> {
        options.validate()?;
        Ok(Arc::new(MemoryCoordinator::new(self.clone(), node, options)))
    }

    fn open_session(&self, node: &NodeId, status: watch::Sender<SessionStatus>) -> SessionId {
        let mut st = self.lock();
        st.next_session += 1;
        let sid = st.next_session;
        let (notify, _) = watch::channel(0);
        st.sessions.insert(
            sid,
            SessionEntry {
                node: node.clone(),
                status,
                notify,
                suspended: false,
                expired: false,
                cut: None,
            },
        );
        sid
    }

    /// Every live session's node watches for changes; tell them (after a random delay when one is set).
    pub(crate) fn changed(&self, st: &mut State) {
        let delay = {
            let mut chaos = self.shared.chaos.lock().unwrap_or_else(|p| p.into_inner());
            let max = chaos.max_delay.as_micros() as u64;
            (max > 0).then(|| Duration::from_micros(chaos.rng.next() % (max + 1)))
        };
        for entry in st.sessions.values() {
            let tx = entry.notify.clone();
            match delay {
                Some(d) if !d.is_zero() => {
                    tokio::spawn(async move {
                        tokio::time::sleep(d).await;
                        tx.send_modify(|n| *n += 1);
                    });
                }
                _ => tx.send_modify(|n| *n += 1),
            }
        }
    }

    /// The change notifications of a session.
    pub(crate) fn subscribe(&self, sid: SessionId) -> Option<watch::Receiver<u64>> {
        self.lock().sessions.get(&sid).map(|s| s.notify.subscribe())
    }

    /// Delays every change notification by a random time up to `max` (drawn from the cluster's seed), as a
    /// slow network would. Watchers re-read state when notified, so late or merged notifications must not
    /// change what they end on.
    pub fn set_notification_delay(&self, max: Duration) {
        self.shared
            .chaos
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .max_delay = max;
    }

    fn sessions_of(&self, node: &NodeId) -> Vec<SessionId> {
        self.lock()
            .sessions
            .iter()
            .filter(|(_, s)| &s.node == node && !s.expired)
            .map(|(id, _)| *id)
            .collect()
    }

    fn expire_session(&self, sid: SessionId) {
        let mut st = self.lock();
        let Some(entry) = st.sessions.get_mut(&sid) else {
            return;
        };
        if entry.expired {
            return;
        }
        entry.expired = true;
        let status = entry.status.clone();
        // The client learns first (from its own session channel), then its ephemerals go. A closed (crashed)
        // client stays closed: nothing of it may come back.
        mark_expired(&status);
        st.drop_ephemerals(sid);
        self.changed(&mut st);
        st.sessions.remove(&sid);
    }

    /// Expires `node`'s session now: its leadership, registrations and claims go at once. Its coordinator then
    /// builds a new session.
    pub fn expire(&self, node: &NodeId) {
        for sid in self.sessions_of(node) {
            self.expire_session(sid);
        }
    }

    /// Cuts `node` off for `duration`: its operations fail with `ConnectionLoss` and its session state is
    /// `Suspended`. If the cut lasts the session timeout, the cluster expires the session at that point (the
    /// node learns it when the cut ends). A cut while cut off extends the cut (to the later end); the session
    /// timeout counts from the start of the whole cut.
    pub fn suspend(&self, node: &NodeId, duration: Duration, session_timeout: Duration) {
        let now = tokio::time::Instant::now();
        for sid in self.sessions_of(node) {
            let (status, start, end, generation) = {
                let mut st = self.lock();
                let Some(entry) = st.sessions.get_mut(&sid) else {
                    continue;
                };
                let (start, end, generation) = match entry.cut {
                    Some((start, end, g)) => (start, end.max(now + duration), g + 1),
                    None => (now, now + duration, 1),
                };
                entry.cut = Some((start, end, generation));
                entry.suspended = true;
                (entry.status.clone(), start, end, generation)
            };
            status.send_if_modified(|s| {
                let cut = s.state == SessionState::Connected;
                if cut {
                    s.state = SessionState::Suspended;
                }
                cut
            });
            let cluster = self.clone();
            let current = move |cluster: &MemoryCluster| {
                cluster
                    .lock()
                    .sessions
                    .get(&sid)
                    .and_then(|e| e.cut)
                    .is_some_and(|c| c.2 == generation)
            };
            tokio::spawn(async move {
                let expire_at = start + session_timeout;
                if end >= expire_at {
                    tokio::time::sleep_until(expire_at).await;
                    if !current(&cluster) {
                        return;
                    }
                    // Server side: the session times out; the client is still cut off and does not know.
                    {
                        let mut st = cluster.lock();
                        if let Some(entry) = st.sessions.get_mut(&sid) {
                            entry.expired = true;
                            st.drop_ephemerals(sid);
                            cluster.changed(&mut st);
                        }
                    }
                    tokio::time::sleep_until(end).await;
                    if !current(&cluster) {
                        return;
                    }
                    // The cut ends: the client learns its session is gone.
                    mark_expired(&status);
                    cluster.lock().sessions.remove(&sid);
                } else {
                    tokio::time::sleep_until(end).await;
                    if !current(&cluster) {
                        return;
                    }
                    {
                        let mut st = cluster.lock();
                        if let Some(entry) = st.sessions.get_mut(&sid) {
                            entry.suspended = false;
                            entry.cut = None;
                            cluster.changed(&mut st);
                        }
                    }
                    status.send_if_modified(|s| {
                        let back = s.state == SessionState::Suspended;
                        if back {
                            s.state = SessionState::Connected;
                        }
                        back
                    });
                }
            });
        }
    }

    /// A process death: `node`'s session lingers on the cluster until `session_timeout`, then expires. Use it
    /// with the node's coordinator dropped (its tasks stop with it).
    pub fn crash(&self, node: &NodeId, session_timeout: Duration) {
        let sids = self.sessions_of(node);
        {
            let mut st = self.lock();
            for sid in &sids {
                if let Some(entry) = st.sessions.get_mut(sid) {
                    entry.suspended = true;
                    entry.status.send_modify(|s| s.state = SessionState::Closed);
                }
            }
        }
        let cluster = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(session_timeout).await;
            for sid in sids {
                cluster.expire_session(sid);
            }
        });
    }
}

/// One node's session with a [`MemoryCluster`].
#[derive(Debug)]
pub struct MemoryCoordinator {
    cell: Handle,
}

/// The session a coordinator and its recipes share: rebuilt after an expiry.
#[derive(Debug)]
pub(crate) struct SessionCell {
    pub cluster: MemoryCluster,
    pub node: NodeId,
    pub options: MemoryOptions,
    status: watch::Sender<SessionStatus>,
    sid: Mutex<SessionId>,
}

/// What recipes hold.
pub(crate) type Handle = Arc<SessionCell>;

impl SessionCell {
    /// The current session id; an expired session is replaced by a new one (epoch + 1) first.
    pub fn sid(&self) -> Result<SessionId> {
        let mut sid = self.sid.lock().unwrap_or_else(|p| p.into_inner());
        let status = *self.status.borrow();
        match status.state {
            SessionState::Closed => return Err(Error::Closed),
            SessionState::Expired => {
                *sid = self.cluster.open_session(&self.node, self.status.clone());
                self.status.send_replace(SessionStatus {
                    state: SessionState::Connected,
                    epoch: status.epoch + 1,
                });
            }
            _ => {}
        }
        Ok(*sid)
    }

    pub fn session(&self) -> watch::Receiver<SessionStatus> {
        self.status.subscribe()
    }

    pub fn grace(&self) -> Duration {
        self.options.grace
    }
}

impl MemoryCoordinator {
    fn new(cluster: MemoryCluster, node: NodeId, options: MemoryOptions) -> Self {
        let (status, _) = watch::channel(SessionStatus {
            state: SessionState::Connected,
            epoch: 1,
        });
        let sid = cluster.open_session(&node, status.clone());
        MemoryCoordinator {
            cell: Arc::new(SessionCell {
                cluster,
                node,
                options,
                status,
                sid: Mutex::new(sid),
            }),
        }
    }

    /// The cluster this coordinator is connected to.
    pub fn cluster(&self) -> &MemoryCluster {
        &self.cell.cluster
    }

    /// The session options.
    pub fn options(&self) -> MemoryOptions {
        self.cell.options
    }

    /// Rebuilds the session now if it expired (recipes do it on their next call anyway).
    pub fn reconnect(&self) -> Result<()> {
        self.cell.sid().map(|_| ())
    }
}

#[async_trait]
impl Coordinator for MemoryCoordinator {
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
        Ok(Arc::new(election::MemoryElection::new(self.cell.clone(), name)))
    }

    fn registry(&self) -> Arc<dyn Registry> {
        Arc::new(registry::MemoryRegistry::new(self.cell.clone()))
    }

    fn config(&self) -> Arc<dyn ConfigStore> {
        Arc::new(config::MemoryConfig::new(self.cell.clone()))
    }

    fn queue(&self, name: &str) -> Result<Arc<dyn Queue>> {
        crate::error::check_name("queue", name)?;
        Ok(Arc::new(queue::MemoryQueue::new(self.cell.clone(), name)))
    }

    async fn close(&self) {
        let sid = *self.cell.sid.lock().unwrap_or_else(|p| p.into_inner());
        self.cell.status.send_modify(|s| s.state = SessionState::Closed);
        let mut st = self.cell.cluster.lock();
        st.drop_ephemerals(sid);
        st.sessions.remove(&sid);
        self.cell.cluster.changed(&mut st);
    }
}
