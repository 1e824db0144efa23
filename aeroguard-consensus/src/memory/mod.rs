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

use std::sync::Arc;
use std::time::Duration;

use aeroguard_core::NodeId;
use parking_lot::{Mutex, MutexGuard};
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use tokio::sync::watch;

use crate::{Result, SessionOptions, SessionStatus};

mod config;
mod coordinator;
mod election;
mod faults;
mod inbox;
mod queue;
mod registry;
mod state;

pub use coordinator::MemoryCoordinator;
pub(crate) use coordinator::Session;
use faults::Chaos;
use state::SessionEntry;
pub(crate) use state::{SessionId, State};

const BACKEND: &str = "memory";

#[derive(Debug)]
pub(crate) struct Shared {
    state: Mutex<State>,
    chaos: Mutex<Chaos>,
    /// Per node, how far its clock is off (ms), as `skew_clock` set it.
    skews: Mutex<std::collections::HashMap<NodeId, i64>>,
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
                    rng: Xoshiro256PlusPlus::seed_from_u64(seed),
                    max_delay: Duration::ZERO,
                }),
                skews: Mutex::default(),
            }),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the maps half-updated in a way later calls rely on,
        // so a poisoned lock is taken over.
        self.shared.state.lock()
    }

    /// Connects `node` with the default session options.
    pub fn connect(&self, node: NodeId) -> Result<Arc<MemoryCoordinator>> {
        self.connect_with(node, SessionOptions::default())
    }

    /// Connects `node` with `options`.
    pub fn connect_with(&self, node: NodeId, options: SessionOptions) -> Result<Arc<MemoryCoordinator>> {
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
        let delay = self.shared.chaos.lock().delay();
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
}
