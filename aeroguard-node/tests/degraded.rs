//! The degraded mode on the embedded backend: every node is cut off the coordination servers for 30 s while a
//! process upset happens on the plant. Each node must go on alone (measure, alarm on the upset within the
//! rule's time, raise `coordination-lost`), and once a leader runs rounds again every measurement taken alone
//! must be fused and stored once, under its token.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use aeroguard_node::{self as cluster, ClusterOptions, NodeEvent, Progress, Where};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cut_off_from_coordination_every_node_alarms_alone_and_every_measurement_is_stored_once() {
    let mut options = ClusterOptions::new(Where::Memory, &cluster::unique_run("e2e-cut"));
    (
        options.kill_leader_at,
        options.new_period_at,
        options.bad_rules_at,
    ) = (None, None, None);
    options.plan.plant.outage = None;
    options.plan.period_ms = 100;
    options.plan.degrade_after_periods = Some(5);
    // The nodes number their rounds on alone from about 16 (10 reported, 5 quiet periods) to about 300.
    options.plan.plant.upset = Some(aeroguard_node::sim::Upset { from: 150, to: 170 });
    options.plan.rounds = 360;
    options.cut_at = Some((10, Duration::from_secs(30)));
    options.timeout = Duration::from_secs(120);
    let events = parking_lot::Mutex::new(Vec::new());
    let summary = cluster::run_cluster(options.clone(), |p| {
        if let Progress::Event(e) = p {
            events.lock().push(e.clone());
            if matches!(e, NodeEvent::Local { round, .. } if round % 50 != 0) {
                return;
            }
        }
        println!("{p}");
    })
    .await
    .unwrap();
    println!("{summary}");
    let events = events.into_inner();
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
    let first_after = events
        .iter()
        .filter_map(|e| match e {
            NodeEvent::Round(r) if r.round > 10 => Some(r.round),
            _ => None,
        })
        .min()
        .unwrap();
    let alone: Vec<u64> = events
        .iter()
        .filter_map(|e| match e {
            NodeEvent::Local { round, .. } => Some(*round),
            _ => None,
        })
        .collect();
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
    assert_eq!(late, alone.len() as u64 - expected);
    let gap: Vec<u64> = (11..first_after).collect();
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
