//! # aeroguard-consensus
//!
//! Coordination recipes for redundant sensor nodes, as small object-safe traits, with backends:
//! [`memory`] (always compiled; one process, with seeded fault injection), `zookeeper` (feature
//! `zookeeper`), `redis` (feature `redis`: leases, streams and server-side scripts, directly or through Sentinel).
//! The [`history`] module adds a fenced time-series store (memory, and Redis with the `redis` feature).
//!
//! - [`Election`]: campaign until elected; the [`Leadership`] carries a [`FencingToken`] that strictly
//!   increases over all terms, learns when it can no longer be trusted ([`Leadership::lost`]), and resigns on
//!   drop. Unlike Kazoo's election, a suspended connection counts: past a grace shorter than the session
//!   timeout, the leader stops trusting itself before any other candidate can be elected.
//! - [`Registry`]: ephemeral registrations, membership as a stream.
//! - [`Config`]: typed, versioned values with compare-and-set and watches that keep the last good value.
//! - [`Queue`]: FIFO with at-least-once delivery: an item leaves only when acked (Kazoo's queue removes it when
//!   taken, so a crash loses it).
//! - [`Round`](round): the leader opens round `r`, followers answer through the queue, the leader collects a
//!   quorum of live members or times out, and the result carries its fencing token.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use aeroguard_consensus::{Coordinator, memory::MemoryCluster};
//!
//! let cluster = MemoryCluster::new();
//! let a = cluster.connect("node-a".parse()?)?;
//! let b = cluster.connect("node-b".parse()?)?;
//! let lead = a.election("pump-1")?.campaign().await?;
//! assert_eq!(b.election("pump-1")?.leader().await?.unwrap().as_str(), "node-a");
//! let first = lead.token();
//! lead.resign().await?;
//! let next = b.election("pump-1")?.campaign().await?;
//! assert!(next.token() > first);
//! # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
//! ```
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod clock;
mod config;
#[cfg(feature = "conformance")]
pub mod conformance;
mod coordinator;
#[cfg(feature = "deployment")]
pub mod deployment;
mod election;
mod error;
pub mod history;
mod inbox;
pub mod memory;
#[cfg(feature = "outbox")]
pub mod outbox;
pub mod queue;
#[cfg(feature = "redis")]
pub mod redis;
mod registry;
pub mod round;
mod session;
#[cfg(feature = "zookeeper")]
pub mod zookeeper;

pub use aeroguard_core::Cause;
pub use clock::ClockOffset;
pub use config::{Config, ConfigEvent, ConfigStore, ConfigWatch, Expect, RawConfigWatch, Versioned};
pub use coordinator::Coordinator;
pub use election::{Election, FencingToken, Grant, Leadership, LossReason};
pub use error::{Error, Result};
pub use inbox::{Inbox, MAX_SLOT_BYTES, Slot};
pub use queue::{Delivery, Queue, QueueOptions};
pub use registry::{Instance, Membership, MembershipWatch, Registration, Registry};
pub use session::{SessionOptions, SessionState, SessionStatus};
