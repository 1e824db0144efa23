//! The sensor cluster end to end on the real services of `scripts/services start`, each node its own process
//! (`aeroguard-node sensor`): on the ZooKeeper ensemble (history in Redis) and on Redis through
//! Sentinel. The leader process is killed with SIGKILL after round 12.
#![cfg(feature = "live-services")]

use std::time::Duration;

use aeroguard_node::{self as cluster, ClusterOptions, Summary, Where};

mod support;

async fn run(backend: Where) -> Summary {
    let mut options = ClusterOptions::new(backend, &cluster::unique_run("e2e-live"));
    options.plan.rounds = 34;
    options.node_command = Some((env!("CARGO_BIN_EXE_aeroguard-node").into(), vec!["sensor".into()]));
    let summary = cluster::run_cluster(options, |line| println!("{line}"))
        .await
        .unwrap();
    println!("{summary}");
    assert!(summary.problems().is_empty(), "{:?}", summary.problems());
    assert!(summary.duplicates.is_empty() && summary.lost.is_empty());
    assert!(summary.terms.len() >= 2, "a failover: {:?}", summary.terms);
    assert!(summary.tokens_in_order);
    let took = Duration::from_millis(summary.failovers[0].took_ms.unwrap());
    assert!(
        took <= Duration::from_secs(5),
        "failover took {took:?} at a 2 s session"
    );
    summary
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zookeeper_cluster_survives_a_killed_leader_process() {
    run(Where::ZooKeeper).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_cluster_survives_a_killed_leader_process() {
    run(Where::Redis).await;
}

/// A node process whose wall clock runs two minutes ahead (libfaketime) never leads on the ZooKeeper ensemble:
/// its probe of the servers' clock says so, the others lead through a killed leader, no round is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_process_whose_clock_is_ahead_never_leads() {
    let node = (env!("CARGO_BIN_EXE_aeroguard-node").into(), vec!["sensor".into()]);
    support::run_with_a_clock_ahead(Where::ZooKeeper, Some(node)).await;
}
