//! One node's coordinator on a [`MemoryCluster`], and the session its recipes share.

use std::sync::Arc;
use std::time::Duration;

use aeroguard_core::NodeId;
use async_trait::async_trait;
use parking_lot::Mutex;
use tokio::sync::watch;

use super::state::SessionId;
use super::{BACKEND, MemoryCluster, config, election, inbox, queue, registry};
use crate::{Coordinator, Error, Result, SessionOptions, SessionState, SessionStatus};

/// One node's session with a [`MemoryCluster`].
#[derive(Debug)]
pub struct MemoryCoordinator {
    session: Session,
}

/// The session a coordinator and its recipes share: rebuilt after an expiry.
#[derive(Debug)]
pub(crate) struct MemorySession {
    pub cluster: MemoryCluster,
    pub node: NodeId,
    pub options: SessionOptions,
    status: watch::Sender<SessionStatus>,
    sid: Mutex<SessionId>,
}

/// What recipes hold.
pub(crate) type Session = Arc<MemorySession>;

impl MemorySession {
    /// The current session id; an expired session is replaced by a new one (epoch + 1) first.
    pub fn sid(&self) -> Result<SessionId> {
        let mut sid = self.sid.lock();
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

    pub fn status(&self) -> watch::Receiver<SessionStatus> {
        self.status.subscribe()
    }

    pub fn grace(&self) -> Duration {
        self.options.grace
    }
}

impl MemoryCoordinator {
    pub(super) fn new(cluster: MemoryCluster, node: NodeId, options: SessionOptions) -> Self {
        let (status, _) = watch::channel(SessionStatus {
            state: SessionState::Connected,
            epoch: 1,
        });
        let sid = cluster.open_session(&node, status.clone());
        MemoryCoordinator {
            session: Arc::new(MemorySession {
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
        &self.session.cluster
    }

    /// The session options.
    pub fn options(&self) -> SessionOptions {
        self.session.options
    }

    /// Rebuilds the session now if it expired (recipes do it on their next call anyway).
    pub fn reconnect(&self) -> Result<()> {
        self.session.sid().map(|_| ())
    }
}

#[async_trait]
impl Coordinator for MemoryCoordinator {
    crate::coordinator::recipes_over_cell! {
        backend: BACKEND,
        election: election::MemoryElection,
        registry: registry::MemoryRegistry,
        config: config::MemoryConfig,
        inbox: inbox::MemoryInbox,
        queue: queue::MemoryQueue,
    }

    async fn clock_offset(&self) -> Result<crate::ClockOffset> {
        self.session.sid()?;
        let skew = self.session.cluster.skew_of(&self.session.node);
        Ok(crate::ClockOffset {
            offset_ms: skew,
            uncertainty: Duration::ZERO,
        })
    }

    async fn close(&self) {
        let sid = *self.session.sid.lock();
        self.session
            .status
            .send_modify(|s| s.state = SessionState::Closed);
        let mut st = self.session.cluster.lock();
        st.drop_ephemerals(sid);
        st.sessions.remove(&sid);
        self.session.cluster.changed(&mut st);
    }
}
