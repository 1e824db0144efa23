//! The conformance suite: each guarantee of the recipes, stated once, run against every backend.
//!
//! Behind the `conformance` feature. Each check panics with a message naming the broken guarantee: it is test
//! code, for a backend's integration tests.
//!
//! # Running it on a backend, your own included
//!
//! Implement [`Harness`] for your backend in an integration test, then let
//! [`conformance_tests!`](crate::conformance_tests) write one `#[tokio::test]` per check. The test crate needs
//! `aeroguard-consensus` with the `conformance` feature, `tokio` (features `macros`, `rt-multi-thread`) and
//! `async-trait` as dev-dependencies:
//!
//! ```no_run
//! use std::sync::Arc;
//! use std::time::Duration;
//! use aeroguard_consensus::{Coordinator, SessionOptions};
//! use aeroguard_consensus::conformance::Harness;
//! use aeroguard_consensus::memory::MemoryCluster;
//!
//! struct MyBackend(MemoryCluster);
//!
//! #[async_trait::async_trait]
//! impl Harness for MyBackend {
//!     async fn connect(&self, node: &str) -> Arc<dyn Coordinator> {
//!         self.0.connect_with(node.parse().unwrap(), self.session()).unwrap()
//!     }
//!     async fn crash(&self, c: Arc<dyn Coordinator>) { self.0.crash(c.node(), self.session_timeout()) }
//!     async fn expire(&self, c: &Arc<dyn Coordinator>) { self.0.expire(c.node()) }
//!     fn session_timeout(&self) -> Duration { Duration::from_secs(1) }
//!     fn unique(&self, base: &str) -> String { base.to_string() }
//! }
//! impl MyBackend {
//!     fn session(&self) -> SessionOptions {
//!         SessionOptions::new(self.session_timeout()).with_grace(Duration::from_millis(300))
//!     }
//! }
//!
//! // One test per check: election_succession, registry, queue, session_expiry_recovery, ...
//! aeroguard_consensus::conformance_tests!(MyBackend(MemoryCluster::new()));
//! # fn main() {}
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::timeout;

use crate::{Coordinator, FencingToken};

mod election;
mod inbox;
mod queue;
mod registry;
mod session;

pub use election::{
    check_election_cancel_and_drop, check_election_crash_failover, check_election_succession,
};
pub use inbox::check_inbox;
pub use queue::{
    check_queue, check_queue_ack_needs_the_claim, check_queue_crashed_consumer, check_queue_dead_letters,
    check_queue_length_under_out_of_order_acks, check_queue_released_item_behind_live_claims,
};
pub use registry::{check_config, check_config_watch_sees_a_fresh_key, check_registry};
pub use session::{check_clock_offset, check_session_expiry_recovery};

/// What the suite needs from a backend.
#[async_trait]
pub trait Harness: Send + Sync {
    /// Connects a coordinator for node `node`.
    async fn connect(&self, node: &str) -> Arc<dyn Coordinator>;

    /// Makes the coordinator's process vanish without closing its session: the backend must notice within
    /// the session timeout.
    async fn crash(&self, coordinator: Arc<dyn Coordinator>);

    /// Expires the coordinator's session while the coordinator lives on (it must build a new one).
    async fn expire(&self, coordinator: &Arc<dyn Coordinator>);

    /// The session timeout the harness's coordinators use.
    fn session_timeout(&self) -> Duration;

    /// A name no earlier run used (real servers keep state between runs).
    fn unique(&self, base: &str) -> String;
}

/// How long the suite waits for something that should happen promptly.
pub(crate) const PROMPT: Duration = Duration::from_secs(5);

pub(crate) async fn campaign_within(
    c: &Arc<dyn Coordinator>,
    election: &str,
    limit: Duration,
) -> Option<crate::Leadership> {
    let e = c.election(election).unwrap();
    timeout(limit, e.campaign())
        .await
        .ok()
        .map(|r| r.expect("campaign failed"))
}

/// Runs every check in turn.
pub async fn run_all(h: &dyn Harness) {
    check_election_succession(h).await;
    check_election_cancel_and_drop(h).await;
    check_election_crash_failover(h).await;
    check_registry(h).await;
    check_config(h).await;
    check_config_watch_sees_a_fresh_key(h).await;
    check_queue(h).await;
    check_queue_crashed_consumer(h).await;
    check_queue_ack_needs_the_claim(h).await;
    check_queue_released_item_behind_live_claims(h).await;
    check_queue_dead_letters(h).await;
    check_queue_length_under_out_of_order_acks(h).await;
    check_session_expiry_recovery(h).await;
    check_clock_offset(h).await;
}

/// Tokens that did not strictly increase, if any (for simulations).
pub fn non_increasing(tokens: &[FencingToken]) -> Option<(FencingToken, FencingToken)> {
    tokens.windows(2).find(|w| w[1] <= w[0]).map(|w| (w[0], w[1]))
}

/// Writes one `#[tokio::test]` per conformance check, each on a fresh harness from `$harness` (an expression
/// evaluated once per test). See the [module docs](crate::conformance) for an example.
#[macro_export]
macro_rules! conformance_tests {
    ($harness:expr) => {
        $crate::conformance_tests!(@each $harness;
            election_succession => check_election_succession,
            election_cancel_and_drop => check_election_cancel_and_drop,
            election_crash_failover => check_election_crash_failover,
            registry => check_registry,
            config => check_config,
            config_watch_sees_a_fresh_key => check_config_watch_sees_a_fresh_key,
            queue => check_queue,
            queue_crashed_consumer => check_queue_crashed_consumer,
            queue_ack_needs_the_claim => check_queue_ack_needs_the_claim,
            queue_released_item_behind_live_claims => check_queue_released_item_behind_live_claims,
            queue_dead_letters => check_queue_dead_letters,
            queue_length_under_out_of_order_acks => check_queue_length_under_out_of_order_acks,
            session_expiry_recovery => check_session_expiry_recovery,
            clock_offset => check_clock_offset,
            inbox => check_inbox,
        );
    };
    (@each $harness:expr; $($name:ident => $check:ident,)*) => {
        $(
            #[tokio::test]
            async fn $name() {
                $crate::conformance::$check(&$harness).await;
            }
        )*
    };
}
