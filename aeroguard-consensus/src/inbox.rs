//! Per-member slots whose writer the backend vouches for: what a round's submissions travel in.

use std::fmt;

use aeroguard_core::NodeId;
use async_trait::async_trait;

use crate::Result;

/// The largest value a slot holds (a round's measurement is a few hundred bytes).
pub const MAX_SLOT_BYTES: usize = 64 * 1024;

/// What a member's slot holds, as the reader sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Slot {
    /// Nothing posted yet.
    Empty,
    /// The member's last value, written by its own identity as far as the backend can tell.
    Posted(Vec<u8>),
    /// Something is there, but the backend cannot vouch that the member wrote it: why not.
    Unattested(String),
}

/// One slot per member under a name.
///
/// A value on a shared queue carries whatever node name its sender wrote into it, so one process could answer
/// a round as n6, n7 and n8. An inbox gives every member one slot, keyed by its node id, that only that
/// member's authenticated identity can write:
///
/// | backend | who can write node `n`'s slot | what the reader checks |
/// |---|---|---|
/// | memory | the coordinator of `n` (one process, nothing to forge) | nothing |
/// | ZooKeeper, with [`ZkAuth`](crate::zookeeper::ZkAuth) | the identity the roster names for `n` ([`ZkAuth::with_member`](crate::zookeeper::ZkAuth::with_member)) | the slot's ACL: `n`'s identity is its only writer and administrator, the ACL never changed, and the value was written after creation |
/// | ZooKeeper, without authentication | anyone | nothing (an open ensemble attests nothing) |
/// | Redis | the ACL users whose key patterns cover `<prefix>-inbox/n/*` (see SECURITY.md) | nothing the server lets a client read: the operator's ACL is the guarantee |
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use aeroguard_consensus::{Coordinator, Slot, memory::MemoryCluster};
///
/// let cluster = MemoryCluster::new();
/// let n1 = cluster.connect("n1".parse()?)?;
/// let lead = cluster.connect("lead".parse()?)?;
/// n1.inbox("pressure")?.post(b"4.02".to_vec()).await?;
/// let inbox = lead.inbox("pressure")?;
/// assert_eq!(inbox.read(&"n1".parse()?).await?, Slot::Posted(b"4.02".to_vec()));
/// assert_eq!(inbox.read(&"n2".parse()?).await?, Slot::Empty);
/// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
/// ```
#[async_trait]
pub trait Inbox: fmt::Debug + Send + Sync {
    /// Replaces this node's value (at most [`MAX_SLOT_BYTES`]).
    async fn post(&self, value: Vec<u8>) -> Result<()>;

    /// `node`'s slot.
    async fn read(&self, node: &NodeId) -> Result<Slot>;
}

/// Refuses a bad inbox name or a value past [`MAX_SLOT_BYTES`].
pub(crate) fn check(name: &str, value: &[u8]) -> Result<()> {
    crate::error::check_name("inbox name", name)?;
    if value.len() > MAX_SLOT_BYTES {
        return Err(crate::Error::parameter(
            "value",
            format!("{} bytes for inbox {name}", value.len()),
            "must be at most MAX_SLOT_BYTES (65536) bytes",
        ));
    }
    Ok(())
}
