//! # aeroguard-testkit
//!
//! What AeroGuard's tests and benchmarks share (unpublished):
//! - [`raw`]: raw connections to the test services' Redis servers and Sentinels;
//! - [`netcut`]: a TCP link a test can cut, in front of a real server;
//! - [`bench`](mod@bench): the coordination benchmarks' drivers (hand-over, queue and history throughput);
//! - [`disk`]: a small disk a test can fill;
//! - [`services()`]: the test services' script, to kill, pause or restart one server.
//!
//! How programs connect to the services (`--backend`, credentials from the environment) is the library's:
//! [`aeroguard_consensus::deployment`].
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod bench;
pub mod disk;
pub mod netcut;
pub mod raw;
mod services;

pub use services::services;

/// Logging for test and benchmark programs: `tracing` events to stderr, filtered by `RUST_LOG` (default:
/// warnings). A second call keeps the first subscriber.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ignored = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
