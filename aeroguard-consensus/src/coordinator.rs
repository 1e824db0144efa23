//! What every backend hands out.

use std::fmt;
use std::sync::Arc;

use aeroguard_core::NodeId;
use async_trait::async_trait;
use tokio::sync::watch;

use crate::queue::QueueOptions;
use crate::{ClockOffset, ConfigStore, Election, Inbox, Queue, Registry, Result, SessionStatus};

/// One node's connection to a coordination backend: it hands out the recipes and reports its session state.
///
/// Usable as `Arc<dyn Coordinator>`, so a program picks the backend at start-up and the rest of the code does
/// not care which.
#[async_trait]
pub trait Coordinator: fmt::Debug + Send + Sync + 'static {
    /// The node this coordinator speaks for.
    fn node(&self) -> &NodeId;

    /// The backend's name: `"memory"`, `"zookeeper"` or `"redis"`.
    fn backend(&self) -> &'static str;

    /// The session state, on one channel.
    fn session(&self) -> watch::Receiver<SessionStatus>;

    /// The election called `name`.
    fn election(&self, name: &str) -> Result<Arc<dyn Election>>;

    /// Service discovery.
    fn registry(&self) -> Arc<dyn Registry>;

    /// Configuration storage (use it through [`Config`](crate::Config)).
    fn config(&self) -> Arc<dyn ConfigStore>;

    /// The queue called `name`, with the default [`QueueOptions`] (16 deliveries, then the dead-letter queue).
    fn queue(&self, name: &str) -> Result<Arc<dyn Queue>> {
        self.queue_with(name, QueueOptions::default())
    }

    /// The inbox called `name`: one slot per member, written only by that member's identity (see [`Inbox`]).
    fn inbox(&self, name: &str) -> Result<Arc<dyn Inbox>>;

    /// The queue called `name`, with these options.
    fn queue_with(&self, name: &str, options: QueueOptions) -> Result<Arc<dyn Queue>>;

    /// This node's clock against the servers', from one probe: the `mtime` ZooKeeper stamps on a write to this
    /// node's own znode, Redis's `TIME`. The memory backend's server is this process, so its clock is this
    /// process's, shifted by what [`MemoryCluster::skew_clock`](crate::memory::MemoryCluster::skew_clock) set.
    async fn clock_offset(&self) -> Result<ClockOffset>;

    /// Closes the session: its ephemeral state goes at once.
    async fn close(&self);
}

/// The parts of a backend's [`Coordinator`] that every backend shares: the node, the backend's name and the
/// session from its session session (the field `session`), and each recipe made over that session once its name is
/// checked. Each backend writes only `close`.
macro_rules! recipes_over_cell {
    (
        backend: $backend:expr,
        election: $election:path,
        registry: $registry:path,
        config: $config:path,
        inbox: $inbox:path,
        queue: $queue:path $(,)?
    ) => {
        fn node(&self) -> &aeroguard_core::NodeId {
            &self.session.node
        }

        fn backend(&self) -> &'static str {
            $backend
        }

        fn session(&self) -> tokio::sync::watch::Receiver<crate::SessionStatus> {
            self.session.status()
        }

        fn election(&self, name: &str) -> crate::Result<std::sync::Arc<dyn crate::Election>> {
            crate::error::check_name("election", name)?;
            Ok(std::sync::Arc::new(<$election>::new(
                self.session.clone(),
                name,
            )))
        }

        fn registry(&self) -> std::sync::Arc<dyn crate::Registry> {
            std::sync::Arc::new(<$registry>::new(self.session.clone()))
        }

        fn config(&self) -> std::sync::Arc<dyn crate::ConfigStore> {
            std::sync::Arc::new(<$config>::new(self.session.clone()))
        }

        fn inbox(&self, name: &str) -> crate::Result<std::sync::Arc<dyn crate::Inbox>> {
            Ok(std::sync::Arc::new(<$inbox>::new(
                self.session.clone(),
                name,
            )?))
        }

        fn queue_with(
            &self,
            name: &str,
            options: crate::QueueOptions,
        ) -> crate::Result<std::sync::Arc<dyn crate::Queue>> {
            crate::queue::check_names(name, &options)?;
            Ok(std::sync::Arc::new(<$queue>::new(
                self.session.clone(),
                name,
                options,
            )))
        }
    };
}
pub(crate) use recipes_over_cell;
