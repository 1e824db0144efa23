//! The degraded mode on the real ZooKeeper ensemble of `scripts/services start`, each node its own process
//! (history in Redis): once round 10 is reported, all three ZooKeeper servers are paused (SIGSTOP) for 30 s,
//! which cuts every node off the coordination servers, while a process upset happens on the plant. The checks
//! are the embedded run's (`degraded.rs`).
#![cfg(feature = "live-services")]

use std::time::Duration;

use aeroguard_node::{self as cluster, ClusterOptions, NodeEvent, Progress, Where};
use aeroguard_testkit::services;

mod support;

const ENSEMBLE: [&str; 3] = ["zk1", "zk2", "zk3"];

/// Resumes the ensemble when dropped, whatever happened to the test.
struct Resume;

impl Drop for Resume {
    fn drop(&mut self) {
        for zk in ENSEMBLE {
            services(&["resume", zk]);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ensemble_paused_for_30_s_every_node_alarms_alone_and_every_measurement_is_stored_once() {
    let mut options = ClusterOptions::new(Where::ZooKeeper, &cluster::unique_run("e2e-cut-live"));
    support::plan_a_cut(&mut options);
    options.node_command = Some((env!("CARGO_BIN_EXE_aeroguard-node").into(), vec!["sensor".into()]));
    let events = parking_lot::Mutex::new(Vec::new());
    let (once, cut) = (std::sync::Once::new(), parking_lot::Mutex::new(None));
    let summary = cluster::run_cluster(options, |p| {
        if let Progress::Event(NodeEvent::Round(r)) = p
            && r.round >= 10
        {
            once.call_once(|| {
                println!(
                    "*** pausing the ZooKeeper ensemble for 30 s after round {}",
                    r.round
                );
                *cut.lock() = Some(std::thread::spawn(|| {
                    let _resume = Resume;
                    for zk in ENSEMBLE {
                        services(&["pause", zk]);
                    }
                    std::thread::sleep(Duration::from_secs(30));
                }));
            });
        }
        support::keep(&events, p)
    })
    .await;
    let cut = cut.lock().take().expect("round 10 was reported");
    cut.join().expect("the ensemble paused and resumed");
    support::check_the_cut(&summary.unwrap(), &events.into_inner());
}
