//! What the node tests share: a run with one node's clock two minutes ahead, and the checks that it never
//! led while the others did, with no round lost; waiting for a condition.
#![allow(dead_code)]

use aeroguard_node::{self as cluster, ClusterOptions, Where};

/// Runs 20 rounds on `backend` (node processes when `node_command` is given), the leader killed after round 6,
/// node n1's clock two minutes ahead; checks n1 said its clock is off and never led, and no round was lost or
/// reported twice.
pub async fn run_with_a_clock_ahead(backend: Where, node_command: Option<(std::path::PathBuf, Vec<String>)>) {
    let mut options = ClusterOptions::new(backend, &cluster::unique_run("clock"));
    options.plan.rounds = 20;
    options.plan.plant.upset = None;
    options.plan.plant.outage = None;
    options.new_period_at = None;
    options.bad_rules_at = None;
    options.kill_leader_at = Some(6);
    options.skewed_clock = Some((0, 120_000));
    options.node_command = node_command;
    let lines = std::sync::Mutex::new(Vec::new());
    let summary = cluster::run_cluster(options, |line| lines.lock().unwrap().push(line.to_string()))
        .await
        .unwrap();
    let lines = lines.into_inner().unwrap();
    assert!(
        summary.duplicates.is_empty() && summary.lost.is_empty(),
        "{summary}"
    );
    assert_eq!(summary.rounds_reported + summary.aborted.len() as u64, 20);
    assert!(summary.terms.len() >= 2, "a failover: {:?}", summary.terms);
    assert!(
        summary.terms.iter().all(|(leader, _)| leader != "n1"),
        "n1's clock is ahead: {:?}",
        summary.terms
    );
    let off = lines
        .iter()
        .find(|l| l.starts_with("clock n1 "))
        .unwrap_or_else(|| panic!("no clock event from n1: {lines:?}"));
    assert!(off.contains("OFF, does not lead"), "{off}");
    assert!(!lines.iter().any(|l| l.starts_with("elected n1 ")), "{lines:?}");
}

/// Waits (60 s at most, checking every 20 ms) until `done` holds; fails naming `what` otherwise.
pub async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    while !done() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting: {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
