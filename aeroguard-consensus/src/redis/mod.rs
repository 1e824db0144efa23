//! The Redis backend (feature `redis`), on the `redis` crate with tokio, directly or through Sentinel.
//!
//! Redis has no sessions and no ordered watches, so each recipe is built from its own primitives, and every
//! read-check-write runs in one server-side script. Deadlines come from the server's clock (`TIME`).
//!
//! Every key is `<prefix>:<kind>:{<name>}<suffix>` (braces end the name, so distinct names never share a key;
//! `{name}` is also each name's Redis Cluster hash tag).
//!
//! | recipe | keys under the prefix (default `aeroguard`) |
//! |---|---|
//! | session | `session:{<node>}:<id>`: a key with a TTL of the session timeout, extended every third of it; gone = expired |
//! | election | `el:{<name>}:lease` (`SET NX PX`, renewed by a compare-and-extend script), `el:{<name>}:token` (incremented on every grant: the fencing token), `el:{<name>}:queue` / `:alive` (candidates in join order, with liveness deadlines), `el:{<name>}:wake:<candidate>` (a list the predecessor pushes to when it leaves; candidates wait on it with `BLPOP`) |
//! | registry | `svc:{<service>}:live` (node → deadline), `:data`, `:owner`, and `:events`, a stream of joins and leaves |
//! | config | `cfg:{<key>}` (version and bytes), `cfg:{<key>}:changes`, a stream of versions that watchers block on |
//! | queue | `q:{<name>}`: a stream with the consumer group `aeroguard`; `XREADGROUP`, `XACK` + `XTRIM MINID` (`XDEL` out of order), `XAUTOCLAIM` of entries idle longer than the session timeout |
//!
//! A member whose own login may not write the election keys asks an election authority instead
//! ([`RedisOptions::with_election_authority`], [`RedisElectionAuthority`]; `aeroguard-node election-authority`):
//! its requests go on `<prefix>-node/<node>/ask`, a stream only its login writes, and the authority runs them
//! as that node with the same scripts.
//!
//! # What the backend promises, and what it cannot
//!
//! - **Leadership is a lease.** The leader renews it every third of the session timeout `T`; it stops
//!   trusting itself ([`LossReason::LeaseExpired`](crate::LossReason::LeaseExpired)) at `9T/10` after the last
//!   renewal it *sent* that succeeded, which is before the server can let the lease run out (`T` after it
//!   *received* it), so two leaders never both trust themselves, as long as the clocks of the leader and the
//!   server run at the same rate within 10 %. [`Leadership::ensure`](crate::Leadership::ensure) reads that
//!   deadline directly, so a leader waking from a long pause knows at once.
//! - **Sessions are emulated.** A session is a key with a TTL; a coordinator whose session key is gone (it
//!   was silent longer than `T`, or the key was deleted) reports `Expired`, opens a new session (epoch + 1),
//!   re-registers its registrations and drops its leadership.
//! - **Replication is asynchronous.** A write acknowledged by the master can be lost if the master dies before
//!   a replica has it, and Sentinel then promotes a replica without it: a config version, a queue item, a history
//!   point, or an election grant (and with it a fencing-token increment, so a token could be handed out twice).
//!   [`Durability::Replicas`] makes grants, config writes and history writes wait (`WAIT`) until that many
//!   replicas have them, and fail with [`Error::NotReplicated`](crate::Error::NotReplicated) otherwise; that narrows the window but is not
//!   consensus (Redis can still lose a write that `WAIT` reported on if it fails over twice).
//! - **Failover.** Through Sentinel ([`RedisTarget::Sentinel`]) every connection error, `READONLY` or
//!   `MASTERDOWN` makes the next command resolve the master again; operations in flight during the failover fail
//!   with `ConnectionLoss` and may be retried. Writes stall for about as long as Sentinel takes to promote a
//!   replica (down-after + election; 2-3 s with the test services' settings).
//! - The coordination recipes live on one master: their scripts touch keys of several names (a session and a
//!   lease, a token and a queue), which Redis Cluster would put in different slots. The history is per series
//!   and scales out: [`RedisClusterHistory`] (feature `redis-cluster`) keeps each series in one slot.

mod access;
mod auth;
mod authority;
mod ballot;
#[cfg(feature = "redis-cluster")]
mod cluster;
mod config;
mod conn;
mod coordinator;
mod election;
mod heartbeat;
mod history;
mod inbox;
mod keys;
mod open;
mod options;
mod queue;
mod rebase;
mod registry;
mod requests;
mod scripts;
mod session;
mod tenure;

pub use auth::RedisCredentials;
#[cfg(feature = "tls")]
pub use auth::RedisTls;
pub use authority::{MAX_LEASE, MAX_MEMBERS, RedisElectionAuthority};
#[cfg(feature = "redis-cluster")]
pub use cluster::RedisClusterHistory;
pub use coordinator::RedisCoordinator;
pub use history::RedisHistory;
pub use options::{Durability, RedisOptions, RedisTarget};
pub use rebase::{EpochRebase, rebase_epoch};
pub(crate) use session::Session;

pub(crate) const BACKEND: &str = "redis";
