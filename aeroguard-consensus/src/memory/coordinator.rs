//! One node's coordinator on a [`MemoryCluster`], and the session its recipes share.

use std::sync::Arc;
use std::time::Duration;

use aeroguard_core::NodeId;
use async_trait::async_trait;
use parking_lot::Mutex;
use tokio::sync::watch;

use super::state::SessionId;
use super::{BACKEND, MemoryCluster, config, election, inbox, queue, registry};
use crate::{
    ConfigStore, Coordinator, Election, Error, Inbox, Queue, Registry, Result, SessionOptions, SessionState,
    SessionStatus,
};

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
    pub options: SessionOptions,
    status: watch::Sender<SessionStatus>,
    sid: Mutex<SessionId>,
}

/// What recipes hold.
pub(crate) type Handle = Arc<SessionCell>;

impl SessionCell {
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

    pub fn session(&self) -> watch::Receiver<SessionStatus> {
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
    pub fn options(&self) -> SessionOptions {
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

    fn inbox(&self, name: &str) -> Result<Arc<dyn Inbox>> {
        Ok(Arc::new(inbox::MemoryInbox::new(self.cell.clone(), name)?))
    }

    fn queue_with(&self, name: &str, options: crate::QueueOptions) -> Result<Arc<dyn Queue>> {
        crate::queue::check_names(name, &options)?;
        Ok(Arc::new(queue::MemoryQueue::new(
            self.cell.clone(),
            name,
            options,
        )))
    }

    async fn close(&self) {
        let sid = *self.cell.sid.lock();
        self.cell.status.send_modify(|s| s.state = SessionState::Closed);
        let mut st = self.cell.cluster.lock();
        st.drop_ephemerals(sid);
        st.sessions.remove(&sid);
        self.cell.cluster.changed(&mut st);
    }
}
