//! The degraded mode on the embedded backend: every node is cut off the coordination servers for 30 s while a
//! process upset happens on the plant. Each node must go on alone (measure, alarm on the upset within the
//! rule's time, raise `coordination-lost`), and once a leader runs rounds again every measurement taken alone
//! must be fused and stored once, under its token.

use std::time::Duration;

use aeroguard_node::{self as cluster, ClusterOptions, Where};

mod support;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cut_off_from_coordination_every_node_alarms_alone_and_every_measurement_is_stored_once() {
    let mut options = ClusterOptions::new(Where::Memory, &cluster::unique_run("e2e-cut"));
    support::plan_a_cut(&mut options);
    options.cut_at = Some((10, Duration::from_secs(30)));
    let events = parking_lot::Mutex::new(Vec::new());
    let summary = cluster::run_cluster(options, |p| support::keep(&events, p))
        .await
        .unwrap();
    support::check_the_cut(&summary, &events.into_inner());
}
