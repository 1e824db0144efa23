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

/// A run for a 30 s cut after round 10: no other upset than the process one, in the rounds the nodes count
/// alone (from about 16 to about 300 at 100 ms, more while the servers take their time to come back), the
/// degraded mode after 5 quiet periods; the run goes on well past the cut, so the leader has stored what the
/// nodes measured alone before its last round.
pub fn plan_a_cut(options: &mut ClusterOptions) {
    (
        options.kill_leader_at,
        options.new_period_at,
        options.bad_rules_at,
    ) = (None, None, None);
    options.plan.plant.outage = None;
    options.plan.period_ms = 100;
    options.plan.degrade_after_periods = Some(5);
    options.plan.plant.upset = Some(aeroguard_node::sim::Upset { from: 150, to: 170 });
    options.plan.rounds = 480;
    options.timeout = std::time::Duration::from_secs(180);
}

/// Keeps every event and prints what a person would follow (every fiftieth round a node measured alone).
pub fn keep(events: &parking_lot::Mutex<Vec<aeroguard_node::NodeEvent>>, p: aeroguard_node::Progress<'_>) {
    use aeroguard_node::{NodeEvent, Progress};
    if let Progress::Event(e) = p {
        events.lock().push(e.clone());
        if matches!(e, NodeEvent::Local { round, .. } if round % 50 != 0) {
            return;
        }
    }
    println!("{p}");
}

/// The checks of a 30 s cut with the process upset in rounds 150-170 ([`plan_a_cut`]): the summary's own;
/// every node went alone, raised `coordination-lost`, alarmed on the upset within the rule's time and came
/// back; every measurement taken alone below the first round a leader ran after the cut was stored once.
pub fn check_the_cut(summary: &aeroguard_node::Summary, events: &[aeroguard_node::NodeEvent]) {
    use aeroguard_node::NodeEvent;
    use std::collections::{BTreeMap, BTreeSet};
    println!("{summary}");
    assert!(summary.problems().is_empty(), "{:?}", summary.problems());
    assert!(
        summary.duplicates.is_empty(),
        "stored twice: {:?}",
        summary.duplicates
    );
    assert!(summary.lost.is_empty(), "lost: {:?}", summary.lost);
    assert!(summary.tokens_in_order);

    let nodes: BTreeSet<String> = (0..5).map(aeroguard_node::Plan::node_name).collect();
    let by_node = |pick: &dyn Fn(&NodeEvent) -> Option<(String, u64)>| -> BTreeMap<String, Vec<u64>> {
        let mut out: BTreeMap<String, Vec<u64>> = BTreeMap::new();
        for (node, round) in events.iter().filter_map(pick) {
            out.entry(node).or_default().push(round);
        }
        out
    };
    let local_alert = |rule: &'static str| {
        move |e: &NodeEvent| match e {
            NodeEvent::LocalAlert {
                node,
                rule: r,
                status,
                round,
            } if r == rule && status == "firing" => Some((node.clone(), *round)),
            _ => None,
        }
    };
    // Every node went degraded, raised coordination-lost, and alarmed on the upset within the rule's time: its
    // 200 ms `for` and the vote's 2-of-3 window, a few rounds of 100 ms.
    let degraded = by_node(&|e| match e {
        NodeEvent::Degraded { node, round } => Some((node.clone(), *round)),
        _ => None,
    });
    assert_eq!(
        degraded.keys().cloned().collect::<BTreeSet<_>>(),
        nodes,
        "{degraded:?}"
    );
    let lost = by_node(&local_alert(cluster::COORDINATION_LOST));
    assert_eq!(lost.keys().cloned().collect::<BTreeSet<_>>(), nodes, "{lost:?}");
    let upset = by_node(&local_alert("process-anomaly"));
    for node in &nodes {
        let fired = upset.get(node).map(|r| r[0]);
        assert!(
            fired.is_some_and(|r| (150..=156).contains(&r)),
            "{node} alarmed alone on the upset (rounds 150-170) at {fired:?}"
        );
    }
    let recovered = by_node(&|e| match e {
        NodeEvent::Recovered { node, round, .. } => Some((node.clone(), *round)),
        _ => None,
    });
    assert_eq!(
        recovered.keys().cloned().collect::<BTreeSet<_>>(),
        nodes,
        "{recovered:?}"
    );

    // Every measurement taken alone below the first round a leader ran after the cut was fused and stored
    // once; the rest (a node that counted past it) came too late, and were counted as such.
    let alone: Vec<u64> = events
        .iter()
        .filter_map(|e| match e {
            NodeEvent::Local { round, .. } => Some(*round),
            _ => None,
        })
        .collect();
    let first_alone = alone.iter().copied().min().expect("rounds measured alone");
    let first_after = events
        .iter()
        .filter_map(|e| match e {
            NodeEvent::Round(r) if r.round > first_alone => Some(r.round),
            _ => None,
        })
        .min()
        .expect("a round a leader ran after the cut");
    let expected = alone.iter().filter(|r| **r < first_after).count() as u64;
    let (stored, late) = events.iter().fold((0, 0), |(s, l), e| match e {
        NodeEvent::Backfilled {
            measurements, late, ..
        } => (s + measurements, l + late),
        _ => (s, l),
    });
    assert!(expected >= 5 * 250, "{expected} measurements taken alone");
    assert_eq!(summary.backfilled_measurements, expected, "stored once each");
    assert_eq!(stored, expected);
    // The rest were measured in a round a leader ran: late (or still on their way when the run ended).
    assert!(late <= alone.len() as u64 - expected, "{late} late");
    let gap: Vec<u64> = (first_alone..first_after).collect();
    let aborted: BTreeSet<u64> = summary.aborted.iter().copied().collect();
    let backfilled: BTreeSet<u64> = summary.backfilled.iter().copied().collect();
    for r in &gap {
        assert!(
            backfilled.contains(r) || aborted.contains(r),
            "round {r} neither stored from the nodes' buffers nor accounted for"
        );
    }
    assert!(
        summary.backfilled.iter().any(|r| (150..=170).contains(r)),
        "the upset's rounds are in the history"
    );
}
