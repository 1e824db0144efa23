//! The conformance suite on the memory backend.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aeroguard_consensus::Coordinator;
use aeroguard_consensus::conformance::{self, Harness};
use aeroguard_consensus::memory::{MemoryCluster, MemoryOptions};
use async_trait::async_trait;

struct Memory {
    cluster: MemoryCluster,
    options: MemoryOptions,
    counter: AtomicU64,
}

impl Memory {
    fn new() -> Self {
        let options = MemoryOptions {
            session_timeout: Duration::from_secs(1),
            grace: Duration::from_millis(300),
        };
        Memory {
            cluster: MemoryCluster::new(),
            options,
            counter: AtomicU64::new(0),
        }
    }
}

#[async_trait]
impl Harness for Memory {
    async fn connect(&self, node: &str) -> Arc<dyn Coordinator> {
        self.cluster
            .connect_with(node.parse().unwrap(), self.options)
            .unwrap()
    }

    async fn crash(&self, coordinator: Arc<dyn Coordinator>) {
        self.cluster
            .crash(coordinator.node(), self.options.session_timeout);
    }

    async fn expire(&self, coordinator: &Arc<dyn Coordinator>) {
        self.cluster.expire(coordinator.node());
    }

    fn session_timeout(&self) -> Duration {
        self.options.session_timeout
    }

    fn unique(&self, base: &str) -> String {
        format!("{base}-{}", self.counter.fetch_add(1, Ordering::SeqCst))
    }
}

#[tokio::test]
async fn election_succession() {
    conformance::check_election_succession(&Memory::new()).await;
}

#[tokio::test]
async fn election_cancel_and_drop() {
    conformance::check_election_cancel_and_drop(&Memory::new()).await;
}

#[tokio::test]
async fn election_crash_failover() {
    conformance::check_election_crash_failover(&Memory::new()).await;
}

#[tokio::test]
async fn registry() {
    conformance::check_registry(&Memory::new()).await;
}

#[tokio::test]
async fn config() {
    conformance::check_config(&Memory::new()).await;
}

#[tokio::test]
async fn queue() {
    conformance::check_queue(&Memory::new()).await;
}

#[tokio::test]
async fn queue_crashed_consumer() {
    conformance::check_queue_crashed_consumer(&Memory::new()).await;
}

#[tokio::test]
async fn session_expiry_recovery() {
    conformance::check_session_expiry_recovery(&Memory::new()).await;
}

#[tokio::test]
async fn config_watch_survives_notification_delays() {
    let h = Memory::new();
    h.cluster.set_notification_delay(Duration::from_millis(50));
    conformance::check_config(&h).await;
}

#[tokio::test]
async fn bad_names_and_options_are_typed_errors() {
    let cluster = MemoryCluster::new();
    let c = cluster.connect("n".parse().unwrap()).unwrap();
    for bad in ["", "a/b", "with space"] {
        let err = c.election(bad).unwrap_err();
        assert!(
            matches!(
                err,
                aeroguard_consensus::Error::InvalidName { what: "election", .. }
            ),
            "{err}"
        );
        assert!(c.queue(bad).is_err());
    }
    let opts = MemoryOptions {
        session_timeout: Duration::from_secs(1),
        grace: Duration::from_secs(2),
    };
    let err = cluster.connect_with("m".parse().unwrap(), opts).unwrap_err();
    assert!(err.to_string().contains("grace"), "{err}");
}
