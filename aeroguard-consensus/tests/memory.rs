//! The conformance suite on the memory backend.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aeroguard_consensus::Coordinator;
use aeroguard_consensus::SessionOptions;
use aeroguard_consensus::conformance::{self, Harness};
use aeroguard_consensus::memory::MemoryCluster;
use async_trait::async_trait;

struct Memory {
    cluster: MemoryCluster,
    options: SessionOptions,
    counter: AtomicU64,
}

impl Memory {
    fn new() -> Self {
        let options = SessionOptions::new(Duration::from_secs(1)).with_grace(Duration::from_millis(300));
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
        self.cluster.crash(coordinator.node(), self.options.timeout);
    }

    async fn expire(&self, coordinator: &Arc<dyn Coordinator>) {
        self.cluster.expire(coordinator.node());
    }

    fn session_timeout(&self) -> Duration {
        self.options.timeout
    }

    fn unique(&self, base: &str) -> String {
        format!("{base}-{}", self.counter.fetch_add(1, Ordering::SeqCst))
    }
}

aeroguard_consensus::conformance_tests!(Memory::new());

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
    // A grace above T/2 would let the old leader trust itself after a successor could be elected.
    for grace in [Duration::from_secs(2), Duration::from_millis(501)] {
        let opts = SessionOptions::new(Duration::from_secs(1)).with_grace(grace);
        let err = cluster.connect_with("m".parse().unwrap(), opts).unwrap_err();
        assert!(err.to_string().contains("grace"), "{err}");
    }
    let at_half = SessionOptions::new(Duration::from_secs(1)).with_grace(Duration::from_millis(500));
    assert!(cluster.connect_with("m".parse().unwrap(), at_half).is_ok());
}

#[tokio::test]
async fn a_skewed_clock_is_reported_and_a_closed_coordinator_cannot_probe() {
    let cluster = MemoryCluster::new();
    let ahead: aeroguard_core::NodeId = "ahead".parse().unwrap();
    let c = cluster.connect(ahead.clone()).unwrap();
    assert_eq!(c.clock_offset().await.unwrap().offset_ms, 0);
    cluster.skew_clock(&ahead, 120_000);
    let o = c.clock_offset().await.unwrap();
    assert!(o.exceeds(Duration::from_secs(2)), "{o}");
    assert_eq!(
        o.to_string(),
        "120000 ms ahead of the coordination servers' clock (within 0 ms)"
    );
    c.close().await;
    assert!(matches!(
        c.clock_offset().await,
        Err(aeroguard_consensus::Error::Closed)
    ));
}
