//! The conformance suite on the 3-node ZooKeeper ensemble started by `scripts/services start`, which enforces
//! authentication: every node holds the cluster credential and its own (`AEROGUARD_ZK` overrides the hosts).
#![cfg(all(feature = "zookeeper", feature = "live-services"))]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aeroguard_consensus::conformance::Harness;
use aeroguard_consensus::zookeeper::{ZkCoordinator, ZkOptions};
use aeroguard_consensus::{Coordinator, Error, LossReason};
use async_trait::async_trait;
use support::zk::{hosts, options};

mod support;

struct Zk {
    options: ZkOptions,
    live: Mutex<Vec<Arc<ZkCoordinator>>>,
    run: String,
    counter: AtomicU64,
}

impl Zk {
    fn new() -> Self {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
        Zk {
            options: options("conformance"),
            live: Mutex::new(Vec::new()),
            run: format!("{}-{nanos}", std::process::id()),
            counter: AtomicU64::new(0),
        }
    }
}

#[async_trait]
impl Harness for Zk {
    async fn connect(&self, node: &str) -> Arc<dyn Coordinator> {
        let c = ZkCoordinator::connect(node.parse().unwrap(), options(node))
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "ZooKeeper at {} unreachable ({e}): run `scripts/services start`",
                    hosts()
                )
            });
        self.live.lock().push(c.clone());
        c
    }

    async fn crash(&self, coordinator: Arc<dyn Coordinator>) {
        let target = Arc::as_ptr(&coordinator) as *const () as usize;
        let zk = {
            let live = self.live.lock();
            live.iter()
                .find(|z| Arc::as_ptr(z) as *const () as usize == target)
                .expect("coordinator from this harness")
                .clone()
        };
        zk.abandon().await;
    }

    async fn expire(&self, coordinator: &Arc<dyn Coordinator>) {
        let target = Arc::as_ptr(coordinator) as *const () as usize;
        let zk = {
            let live = self.live.lock();
            live.iter()
                .find(|z| Arc::as_ptr(z) as *const () as usize == target)
                .expect("coordinator from this harness")
                .clone()
        };
        zk.force_expire().await;
    }

    fn session_timeout(&self) -> Duration {
        self.options.session.timeout
    }

    fn unique(&self, base: &str) -> String {
        format!(
            "{base}-{}-{}",
            self.run,
            self.counter.fetch_add(1, Ordering::SeqCst)
        )
    }
}

aeroguard_consensus::conformance_tests!(Zk::new());

#[tokio::test]
async fn unreachable_ensemble_is_a_typed_error() {
    let mut options = ZkOptions::new("127.0.0.1:1").with_session_timeout(Duration::from_secs(2));
    options.connection_timeout = Duration::from_millis(500);
    let err = tokio::time::timeout(
        Duration::from_secs(10),
        ZkCoordinator::connect("n".parse().unwrap(), options),
    )
    .await
    .expect("connect must give up")
    .unwrap_err();
    assert!(
        err.is_retryable() || matches!(err, aeroguard_consensus::Error::Backend { .. }),
        "{err:?}"
    );
    let bad = ZkOptions::new(hosts()).with_root("relative");
    assert!(
        ZkCoordinator::connect("n".parse().unwrap(), bad)
            .await
            .unwrap_err()
            .to_string()
            .contains("root")
    );
}

/// A leader whose whole runtime stops (a stop-the-world pause) for longer than its session timeout distrusts
/// itself the moment it wakes, before the client has run at all: its local deadline, kept from the negotiated
/// timeout, has passed.
#[test]
fn paused_leader_distrusts_itself_on_waking() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let c = ZkCoordinator::connect("sleeper".parse().unwrap(), options("sleeper"))
            .await
            .unwrap();
        let name = format!("pause-{}", std::process::id());
        let lead = c.election(&name).unwrap().campaign().await.unwrap();
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert!(
            lead.ensure().is_ok(),
            "a live leader keeps its term past the first deadline: {:?}",
            lead.loss()
        );
        // The pause: nothing on this runtime runs for 2.5 s, past the 2 s session.
        std::thread::sleep(Duration::from_millis(2500));
        match lead.ensure() {
            Err(Error::LeadershipLost {
                reason: LossReason::LeaseExpired { .. },
                ..
            }) => {}
            other => panic!("a leader waking from a pause past its session must distrust itself: {other:?}"),
        }
        std::mem::forget(lead);
        c.abandon().await;
    });
}
