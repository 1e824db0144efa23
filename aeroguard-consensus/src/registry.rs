//! Service discovery: ephemeral registrations and membership watches.

use std::fmt;

use aeroguard_core::NodeId;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::Result;

/// One registered instance of a service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Instance {
    /// The node that registered it.
    pub node: NodeId,
    /// What the node published about itself (address, sensors, version...).
    pub payload: serde_json::Value,
}

/// A service's membership after a change: every live instance (sorted by node), and who joined or left.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Membership {
    /// The service.
    pub service: String,
    /// Every live instance, sorted by node id.
    pub instances: Vec<Instance>,
    /// Nodes that appeared since the previous event (all of them in the first event).
    pub joined: Vec<NodeId>,
    /// Nodes that disappeared since the previous event.
    pub left: Vec<NodeId>,
}

impl Membership {
    /// The live nodes.
    pub fn nodes(&self) -> Vec<NodeId> {
        self.instances.iter().map(|i| i.node.clone()).collect()
    }

    pub(crate) fn diff(service: &str, previous: &[Instance], instances: Vec<Instance>) -> Self {
        let joined = instances
            .iter()
            .filter(|i| !previous.iter().any(|p| p.node == i.node))
            .map(|i| i.node.clone());
        let left = previous
            .iter()
            .filter(|p| !instances.iter().any(|i| i.node == p.node))
            .map(|p| p.node.clone());
        Membership {
            service: service.to_string(),
            joined: joined.collect(),
            left: left.collect(),
            instances,
        }
    }
}

/// A stream of membership changes; see [`Registry::watch`].
#[derive(Debug)]
pub struct MembershipWatch {
    pub(crate) rx: mpsc::Receiver<Membership>,
}

impl MembershipWatch {
    /// The next change: the first call returns the membership as it is; `None` once the coordinator is closed.
    pub async fn next(&mut self) -> Option<Membership> {
        self.rx.recv().await
    }
}

/// The backend's side of a registration.
pub(crate) trait Deregister: fmt::Debug + Send + Sync {
    fn deregister(&self);
}

/// A live registration: the instance stays registered while this handle lives and the session holds; dropping
/// it deregisters. If the session expires, backends that rebuild sessions re-register it (see the backend's docs).
#[derive(Debug)]
pub struct Registration {
    pub(crate) service: String,
    pub(crate) node: NodeId,
    pub(crate) inner: Box<dyn Deregister>,
}

impl Registration {
    /// The service registered in.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// The node registered.
    pub fn node(&self) -> &NodeId {
        &self.node
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.inner.deregister();
    }
}

/// Service discovery: who is alive, and what they say about themselves.
#[async_trait]
pub trait Registry: fmt::Debug + Send + Sync + 'static {
    /// Registers this coordinator's node in `service` with `payload`, ephemerally: it disappears when the
    /// returned handle is dropped or the session dies. A node registers once per service (`Conflict` otherwise).
    async fn register(&self, service: &str, payload: serde_json::Value) -> Result<Registration>;

    /// The live instances of `service`, sorted by node id.
    async fn instances(&self, service: &str) -> Result<Vec<Instance>>;

    /// Watches `service`: the first event is the current membership, then one per change.
    async fn watch(&self, service: &str) -> Result<MembershipWatch>;
}
