//! The sensor cluster end to end on the embedded memory backend (no servers): a fixed number of rounds with
//! the seeded fault schedule and a leader crash; the summary read back from the history must show no round
//! reported twice or lost, the faulty sensors excluded, the crash survived, the rounds of a link outage
//! buffered and forwarded, and the new sampling period applied.

use std::time::Duration;

use aeroguard_node::{self as cluster, ClusterOptions, Where};

mod support;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_cluster_survives_a_leader_crash() {
    let mut options = ClusterOptions::new(Where::Memory, &cluster::unique_run("e2e-memory"));
    options.plan.rounds = 34;
    // The process upset's alert fires around round 31: sent again every 150 ms while it fires.
    options.plan.alert_resend_ms = 150;
    let summary = cluster::run_cluster(options, |line| println!("{line}"))
        .await
        .unwrap();
    println!("{summary}");
    assert!(summary.problems().is_empty(), "{:?}", summary.problems());
    assert_eq!(summary.rounds_reported + summary.aborted.len() as u64, 34);
    assert!(summary.duplicates.is_empty() && summary.lost.is_empty());
    assert_eq!(summary.terms.len(), 2, "one failover: {:?}", summary.terms);
    assert!(
        summary.terms[1].1 > summary.terms[0].1,
        "the new term has a higher token"
    );
    let failover = &summary.failovers[0];
    let took = Duration::from_millis(failover.took_ms.unwrap());
    assert!(
        took >= Duration::from_millis(1_500) && took <= Duration::from_secs(4),
        "a crashed leader is replaced after its 2 s session times out, not before: {took:?}"
    );
    for f in &summary.faults {
        if f.node != failover.killed && f.fault == "drift" {
            // A slow drift: flagged by the leader's health watch with the rounds it has left, before fusion
            // would leave it out.
            let (round, left) = f.warned.expect("the drifting sensor's health warning");
            assert!(left.is_some_and(|n| n <= 20), "{f:?}");
            assert!(f.first_excluded.is_none_or(|out| round < out), "{f:?}");
        } else if f.node != failover.killed {
            assert!(
                f.excluded >= 1,
                "{} ({}) excluded during its fault: {f:?}",
                f.node,
                f.fault
            );
        }
    }
    let spike = summary.faults.iter().find(|f| f.fault == "spike").unwrap();
    if spike.node != failover.killed {
        assert_eq!(spike.excluded, spike.rounds, "a spike is excluded in every round");
    }
    assert!(
        summary.healthy_excluded <= 2,
        "healthy sensors excluded in {} rounds",
        summary.healthy_excluded
    );
    // The link outage (rounds 16-20): every round waited in the leader's outbox and reached the history after.
    let outage = summary
        .outage
        .clone()
        .expect("the leader lived through the outage");
    let went = |status: &str| rounds_where(&summary, "process-anomaly", status);
    let (fired, again) = (went("firing"), went("sent-again"));
    assert_eq!(fired.len(), 1, "{:?}", summary.alerts);
    assert!(
        again.iter().any(|r| *r > fired[0]),
        "not sent again while firing: {:?}",
        summary.alerts
    );
    if let Some(resolved) = went("resolved").first() {
        assert!(
            again.iter().all(|r| r < resolved),
            "sent again after it resolved: {:?}",
            summary.alerts
        );
    }
    assert_eq!((outage.from, outage.to), (16, 20));
    assert_eq!(outage.buffered, 5, "rounds 16-20 waited on disk: {outage:?}");
    assert!(outage.forwarded >= outage.buffered, "{outage:?}");
    // The rule file with a typo (pushed after round 22): every live node refused it with the line and the
    // reason, and the rules in force stayed (the process-anomaly alert still fired and resolved).
    let rules = summary.bad_rules.clone().expect("a bad rule file was pushed");
    assert_eq!(rules.refused_by.len(), rules.live, "{rules:?}");
    assert!(rules.applied_by.is_empty(), "{rules:?}");
    assert!(
        rules.reason.contains("line 11") && rules.reason.contains("critcal"),
        "{}",
        rules.reason
    );
    // So was the action policy with a typo, and the policy in force acted on the upset: once, its
    // recommendation naming every detector that voted yes, logged in the history under the leader's token.
    let policy = summary.bad_policy.clone().expect("a bad policy was pushed");
    assert_eq!(policy.refused_by.len(), policy.live, "{policy:?}");
    assert!(policy.applied_by.is_empty(), "{policy:?}");
    assert!(
        policy.reason.contains("line 7") && policy.reason.contains("unknown placeholder"),
        "{}",
        policy.reason
    );
    let upset = upset_actions(&summary);
    assert_eq!(upset.len(), 1, "{:?}", summary.actions);
    assert!(upset[0].voted_yes.len() >= 2, "{:?}", upset[0]);
    for m in &upset[0].voted_yes {
        assert!(
            upset[0].recommendation.contains(&format!("{m} yes")),
            "{:?}",
            upset[0]
        );
    }
    assert!(summary.actions_logged.contains(&upset[0].key), "{summary}");
    let (period, applied, live) = summary.config.clone().unwrap();
    assert_eq!(
        (period, applied.len()),
        (75, live),
        "every live node applied the new period"
    );
}

fn upset_actions(summary: &aeroguard_node::Summary) -> Vec<&aeroguard_node::ActionLine> {
    summary
        .actions
        .iter()
        .filter(|a| a.rule == "process-upset")
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_firing_alert_survives_a_leader_crash_once() {
    // The leader dies while the process-anomaly alert fires (it fires at round 31); its successor takes over the
    // alert state the dead leader wrote with its token: the alert resolves once, and fires once, not twice.
    let mut options = ClusterOptions::new(Where::Memory, &cluster::unique_run("e2e-alert-failover"));
    options.kill_leader_at = Some(32);
    options.plan.rounds = 40;
    options.plan.plant.outage = None;
    options.bad_rules_at = None;
    let summary = cluster::run_cluster(options, |line| println!("{line}"))
        .await
        .unwrap();
    println!("{summary}");
    assert!(summary.problems().is_empty(), "{:?}", summary.problems());
    assert_eq!(summary.terms.len(), 2, "one failover: {:?}", summary.terms);
    // The successor carries on the action episode its predecessor opened: no second recommendation.
    assert_eq!(upset_actions(&summary).len(), 1, "{:?}", summary.actions);
    let went = |status: &str| rounds_where(&summary, "process-anomaly", status);
    let (fired, resolved) = (went("firing"), went("resolved"));
    assert_eq!(
        fired.len(),
        1,
        "fired once across the failover: {:?}",
        summary.alerts
    );
    assert_eq!(
        resolved.len(),
        1,
        "resolved once, by the successor: {:?}",
        summary.alerts
    );
    assert!(fired[0] <= 32 && resolved[0] > 32, "{:?}", summary.alerts);
    // The successor sends every alert still firing again before anything else it says of it (a receiver that
    // forgets alerts not heard of must not resolve it across the failover); nobody sends one again otherwise
    // within the 20 minutes between sends.
    let mut carried = 0;
    let rules: std::collections::BTreeSet<&str> = summary.alerts.iter().map(|a| a.0.as_str()).collect();
    for rule in rules {
        let events: Vec<&(String, String, u64)> = summary.alerts.iter().filter(|a| a.0 == rule).collect();
        let fired_before = events
            .iter()
            .rev()
            .find(|a| a.2 <= 32)
            .is_some_and(|a| a.1 == "firing");
        let first_after = events.iter().find(|a| a.2 > 32);
        if fired_before && first_after.is_some_and(|a| a.1 != "resolved") {
            assert_eq!(
                first_after.unwrap().1,
                "sent-again",
                "{rule}: {:?}",
                summary.alerts
            );
            carried += 1;
        }
    }
    assert!(
        carried >= 1,
        "no alert fired across the failover: {:?}",
        summary.alerts
    );
    let again: Vec<u64> = summary
        .alerts
        .iter()
        .filter(|a| a.1 == "sent-again")
        .map(|a| a.2)
        .collect();
    assert_eq!(
        again.len(),
        carried,
        "sent again only by the successor, once: {:?}",
        summary.alerts
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_leader_compacts_on_the_schedule_in_config() {
    // Raw points older than 1.5 s fold into 500 ms buckets, compacted every second: over a run of about 4 s
    // the oldest rounds end in buckets, and the summary accounts for every round, raw or folded.
    let mut options = ClusterOptions::new(Where::Memory, &cluster::unique_run("e2e-retention"));
    options.plan.rounds = 45;
    options.plan.period_ms = 75;
    options.plan.plant.faults = Vec::new();
    options.plan.plant.upset = None;
    options.plan.plant.outage = None;
    options.kill_leader_at = None;
    options.new_period_at = None;
    options.bad_rules_at = None;
    options.retention = Some(aeroguard_consensus::history::RetentionSchedule {
        keep_ms: 3_600_000,
        raw_ms: Some(1_500),
        bucket_ms: 500,
        every_ms: 1_000,
    });
    let summary = cluster::run_cluster(options, |line| println!("{line}"))
        .await
        .unwrap();
    println!("{summary}");
    assert!(summary.problems().is_empty(), "{:?}", summary.problems());
    let r = summary.retention.clone().unwrap();
    assert!(r.runs >= 2, "{r:?}");
    assert!(
        // Folded counts every series the leader keeps (the fused rounds, and its alert state); the fused
        // series' buckets hold the rounds.
        r.in_buckets >= 10 && r.folded >= r.in_buckets,
        "the oldest rounds were folded: {r:?}"
    );
    assert_eq!(r.in_buckets, r.expected_in_buckets, "{r:?}");
    assert_eq!(summary.rounds_reported + summary.aborted.len() as u64, 45);
    assert!(summary.lost.is_empty() && summary.duplicates.is_empty());
}

/// A node whose clock is two minutes ahead of the servers' never leads: it says so, the others lead (through a
/// leader's crash too), and no round is lost or reported twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_whose_clock_is_off_never_leads() {
    support::run_with_a_clock_ahead(Where::Memory, None).await;
}

/// The leader's disk fills up five rounds before the process upset (a database file still has room inside it
/// for a few rounds after its disk is full) and has space again after it: its rounds and alert
/// state go to the history at once meanwhile, the rules run every round, and the summary shows every round
/// stored once and the upset's alert fired and resolved once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_through_the_upset_loses_no_round_and_no_alert() {
    use aeroguard_node::{NodeEvent, Progress};
    let disk = aeroguard_testkit::disk::SmallDisk::mount("cluster", "16m");
    let mut options = ClusterOptions::new(Where::Memory, &cluster::unique_run("e2e-full-disk"));
    options.plan.outputs.outbox_dir = Some(disk.dir().to_path_buf());
    options.plan.plant.outage = None;
    let filler = parking_lot::Mutex::new(None);
    let (wrote_through, full_rounds) = (
        std::sync::atomic::AtomicU64::new(0),
        parking_lot::Mutex::new(Vec::new()),
    );
    let summary = cluster::run_cluster(options, |p| {
        match p {
            Progress::Event(NodeEvent::Round(line)) => {
                if line.round == 22 {
                    *filler.lock() = Some(disk.fill("filler"));
                }
                if filler.lock().is_some() {
                    full_rounds.lock().push(line.round);
                }
                if line.round == 36
                    && let Some(f) = filler.lock().take()
                {
                    std::fs::remove_file(f).unwrap();
                }
            }
            Progress::Event(NodeEvent::Warn { message, .. }) if message.contains("delivered at once") => {
                wrote_through.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
            _ => {}
        }
        println!("{p}");
    })
    .await
    .unwrap();
    println!("{summary}");
    assert!(summary.problems().is_empty(), "{:?}", summary.problems());
    let full = full_rounds.lock().clone();
    assert!(full.len() >= 10, "rounds with the disk full: {full:?}");
    assert!(
        wrote_through.load(std::sync::atomic::Ordering::SeqCst) >= 5,
        "the rounds went to the history at once"
    );
    let (fired, resolved) = (
        rounds_where(&summary, "process-anomaly", "firing"),
        rounds_where(&summary, "process-anomaly", "resolved"),
    );
    assert_eq!((fired.len(), resolved.len()), (1, 1), "{:?}", summary.alerts);
    assert!(
        full.contains(&fired[0]),
        "the alert fired while the disk was full: {fired:?}, full in {full:?}"
    );
}

/// The rounds in which `rule`'s alert went to `status` (or was sent again, for `sent-again`).
fn rounds_where(summary: &aeroguard_node::Summary, rule: &str, status: &str) -> Vec<u64> {
    summary
        .alerts
        .iter()
        .filter(|(r, s, _)| r == rule && s == status)
        .map(|a| a.2)
        .collect()
}
