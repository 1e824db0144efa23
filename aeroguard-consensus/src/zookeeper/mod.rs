//! The ZooKeeper backend (feature `zookeeper`), on `zookeeper-client` with its tokio runtime.
//!
//! Layout under the root (default `/aeroguard`):
//!
//! | recipe | znodes |
//! |---|---|
//! | election | `elections/<name>/<node>/<node>~<seq>`: ephemeral sequential, in a folder of the node's own; the oldest candidate (lowest `czxid`) leads, each watches only its predecessor; the token is the leader's `czxid`, which strictly increases over all terms. With a roster, a folder counts only when the roster's identity for its node is its one writer |
//! | registry | `services/<service>/<node>`: ephemeral, data = JSON payload |
//! | config | `config/<key>`: persistent; version = znode data version + 1 |
//! | inbox | `inbox/<name>/<node>`: persistent, the node's own ACL; see [`Inbox`](crate::Inbox) |
//! | queue | `queues/<name>/items/i-<seq>`: persistent sequential; `queues/<name>/claims/<item>`: ephemeral claim, deleted with the item on ack (one `multi`) |
//!
//! Sessions: the coordinator maps ZooKeeper's states to [`SessionState`](crate::SessionState) (`Disconnected` is `Suspended`).
//! After `Expired` it builds a new session (epoch + 1); registrations are re-created in it, leadership is lost
//! (its watchdog reports `SessionExpired`) and must be campaigned for again, claims are released (their items
//! are delivered again). A reconnect within the session keeps leadership only if the leader's own node is
//! still there, which the watchdog checks. Sessions are opened detached and closed explicitly by
//! [`close`](crate::Coordinator::close) (or on drop): the session is resumed on a second connection that is
//! then dropped, which sends the close.

mod acls;
mod auth;
mod config;
mod connect;
mod coordinator;
mod election;
mod errors;
mod identity;
mod inbox;
mod lease;
mod options;
mod queue;
mod registry;
#[cfg(feature = "zookeeper-sasl")]
mod sasl;
mod session;

pub(crate) use acls::AclKind;
pub use auth::{ZkAuth, ZkDigest};
pub use coordinator::ZkCoordinator;
pub(crate) use errors::zk_err;
pub use identity::ZkIdentity;
pub use options::ZkOptions;
#[cfg(feature = "zookeeper-sasl")]
pub use sasl::ZkSasl;
pub(crate) use session::{Session, ZkSession};

const BACKEND: &str = "zookeeper";
