//! A node whose disk fills up: the outbox push that finds it full fails with a typed error naming the file,
//! nothing committed before is lost, and once space returns the same outbox (and the node's deliveries) work
//! again without a restart; an alert transition the full disk refused reaches the notifier once, when the
//! caller writes it again (as a leader does: its alerts move only once written). The disk is a 2 MiB tmpfs
//! the tests mount (as root, as `scripts/test` runs) and fill with a file they delete later.

use std::sync::Arc;
use std::time::Duration;

use aeroguard_consensus::Error as ConsensusError;
use aeroguard_consensus::history::MemoryHistory;
use aeroguard_consensus::outbox::{Outbox, OutboxLimits, Outcome};
use aeroguard_core::Timestamp;
use aeroguard_detect::alert::{AlertEvent, AlertStatus, Notifier, NotifyError, Severity};
use aeroguard_node::{Deliveries, Emit, NodeEvent};
use aeroguard_testkit::disk::SmallDisk;

fn entry(n: u32) -> String {
    format!("{n:0>4}-{}", "x".repeat(4_000))
}

#[test]
fn a_full_disk_fails_the_push_loses_nothing_and_the_outbox_works_again_once_space_returns() {
    let disk = SmallDisk::mount("outbox", "2m");
    let outbox: Outbox<String> = Outbox::open(disk.path("alerts.redb"), OutboxLimits::default()).unwrap();
    for n in 0..20 {
        outbox.push(&entry(n)).unwrap();
    }
    // The rest of the disk taken by another file: the next pushes find no room.
    let filler = disk.fill("filler");
    let mut pushed = 20;
    let failure = loop {
        match outbox.push(&entry(pushed)) {
            Ok(_) => pushed += 1,
            Err(e) => break e,
        }
        assert!(pushed < 1_000, "a 2 MiB disk never filled");
    };
    assert!(
        matches!(
            failure,
            ConsensusError::Backend {
                backend: "outbox",
                ..
            }
        ),
        "{failure}"
    );
    assert!(
        failure.to_string().contains("alerts.redb"),
        "the error names the file: {failure}"
    );
    // Still full: the next call opens the file again and fails the same typed way.
    let again = outbox.push(&entry(pushed));
    assert!(matches!(again, Err(ConsensusError::Backend { .. })), "{again:?}");
    // Space returns: the same outbox takes pushes again, and holds everything it acknowledged, in order.
    std::fs::remove_file(&filler).unwrap();
    outbox.push(&entry(pushed)).unwrap();
    assert!(outbox.stats().reopened >= 1, "{:?}", outbox.stats());
    let held: Vec<String> = outbox
        .oldest(10_000)
        .unwrap()
        .into_iter()
        .map(|(_, e)| e.unwrap())
        .collect();
    let expected: Vec<String> = (0..=pushed).map(entry).collect();
    assert_eq!(held.len(), expected.len());
    assert!(held == expected, "every acknowledged entry, in order");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut seen = Vec::new();
    let pass = rt
        .block_on(outbox.forward(|e: &String| {
            seen.push(e[..4].to_string());
            async { Outcome::Sent }
        }))
        .unwrap();
    assert_eq!(pass.sent, u64::from(pushed) + 1);
    let order: Vec<String> = (0..=pushed).map(|n| format!("{n:0>4}")).collect();
    assert_eq!(seen, order);
}

/// A notifier that records what it was sent.
#[derive(Debug, Default)]
struct Recording(parking_lot::Mutex<Vec<(String, AlertStatus)>>);

#[async_trait::async_trait]
impl Notifier for Recording {
    fn name(&self) -> &str {
        "recording"
    }
    async fn notify(&self, events: &[AlertEvent]) -> Result<(), NotifyError> {
        let mut seen = self.0.lock();
        seen.extend(events.iter().map(|e| (e.rule.clone(), e.status)));
        Ok(())
    }
}

fn event(rule: &str, status: AlertStatus, at: i64) -> AlertEvent {
    AlertEvent {
        rule: rule.into(),
        series: "pump".into(),
        status,
        at: Timestamp::from_millis(at),
        since: Timestamp::from_millis(at),
        severity: Severity::Critical,
        labels: Default::default(),
        value: 1.0,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_the_full_disk_refused_reaches_the_notifier_once_space_returns() {
    let disk = SmallDisk::mount("alerts", "2m");
    let emit: Emit = Arc::new(|_: NodeEvent| {});
    let history = Arc::new(MemoryHistory::new());
    let notifier = Arc::new(Recording::default());
    let deliveries = Deliveries::open(disk.dir(), "run", "n1", history, OutboxLimits::default(), emit)
        .unwrap()
        .with_notifier(notifier.clone())
        .unwrap();
    deliveries
        .notify(&[event("before", AlertStatus::Firing, 1)])
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while notifier.0.lock().is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the first alert was never sent"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let filler = disk.fill("filler");
    // Each round the leader writes the transition again until it is on disk (its alerts move only then).
    let mut refused = 0;
    let firing = [event("upset", AlertStatus::Firing, 2)];
    for round in 0.. {
        if round == 5 {
            std::fs::remove_file(&filler).unwrap();
        }
        match deliveries.notify(&firing) {
            Ok(()) => break,
            Err(e) => {
                refused += 1;
                assert!(
                    e.to_string().contains("alerts"),
                    "a typed error naming the outbox: {e}"
                );
            }
        }
        assert!(round < 50, "the outbox never took the alert again");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(refused >= 1, "the full disk refused the alert at least once");
    let metrics = deliveries.metrics();
    assert!(
        metrics.lines().any(
            |l| l.starts_with("aeroguard_outbox_reopened_total{outbox=\"notifier\"}") && !l.ends_with(" 0")
        ),
        "{metrics}"
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while notifier.0.lock().len() < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the alert never reached the notifier"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let seen = notifier.0.lock().clone();
    assert_eq!(
        seen,
        [
            ("before".to_string(), AlertStatus::Firing),
            ("upset".to_string(), AlertStatus::Firing)
        ],
        "each transition once"
    );
    drop(deliveries);
}
