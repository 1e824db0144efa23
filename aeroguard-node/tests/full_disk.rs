//! A node whose disk fills up: the outbox push that finds it full fails with a typed error naming the file,
//! nothing committed before is lost, and once space returns the same outbox works again without a restart.
//! Meanwhile the node's rounds and alerts go to the history and the notifier at once; one that neither takes
//! comes again (a leader's alerts move only once written), and each reaches its receiver once. The disk is a
//! 2 MiB tmpfs the tests mount (as root, as `scripts/test` runs) and fill with a file they delete later.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use aeroguard_consensus::Error as ConsensusError;
use aeroguard_consensus::FencingToken;
use aeroguard_consensus::history::{HistoryStore, MemoryHistory, Point, Writer};
use aeroguard_consensus::outbox::{Append, Outbox, OutboxLimits, Outcome};
use aeroguard_core::Timestamp;
use aeroguard_detect::alert::{AlertEvent, AlertStatus, Notifier, NotifyError, Severity};
use aeroguard_node::{Deliveries, Emit, NodeEvent};
use aeroguard_testkit::disk::SmallDisk;
use support::until;

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

/// A notifier that records what it was sent, and can be down.
#[derive(Debug, Default)]
struct Recording {
    seen: parking_lot::Mutex<Vec<(String, AlertStatus)>>,
    down: AtomicBool,
}

impl Recording {
    fn seen(&self) -> Vec<(String, AlertStatus)> {
        self.seen.lock().clone()
    }
}

#[async_trait::async_trait]
impl Notifier for Recording {
    fn name(&self) -> &str {
        "recording"
    }
    async fn notify(&self, events: &[AlertEvent]) -> Result<(), NotifyError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(NotifyError::Unreachable {
                receiver: "recording".into(),
                reason: "down".into(),
            });
        }
        self.seen
            .lock()
            .extend(events.iter().map(|e| (e.rule.clone(), e.status)));
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
async fn on_a_full_disk_rounds_and_alerts_are_delivered_at_once_and_none_is_lost() {
    let disk = SmallDisk::mount("alerts", "2m");
    let emit: Emit = Arc::new(|_: NodeEvent| {});
    let history = Arc::new(MemoryHistory::new());
    let notifier = Arc::new(Recording::default());
    let deliveries = Deliveries::open(
        disk.dir(),
        "run",
        "n1",
        history.clone(),
        OutboxLimits::default(),
        emit,
    )
    .unwrap()
    .with_notifier(notifier.clone())
    .unwrap();
    let writer = Writer::new(FencingToken(1), "n1");
    let round = |r: i64| Append {
        series: "rounds".into(),
        writer: writer.clone(),
        points: vec![Point::new(Timestamp::from_millis(r), r as f64)],
    };
    deliveries.append(&round(1)).await.unwrap();
    deliveries
        .notify(&[event("before", AlertStatus::Firing, 1)])
        .await
        .unwrap();
    until("the first alert is sent", || notifier.seen().len() == 1).await;
    let filler = disk.fill("filler");
    // The disk is full: a round and a firing alert go to the history and the notifier at once.
    deliveries.append(&round(2)).await.unwrap();
    deliveries
        .notify(&[event("upset", AlertStatus::Firing, 2)])
        .await
        .unwrap();
    assert_eq!(notifier.seen().len(), 2, "sent at once: {:?}", notifier.seen());
    // Neither the disk nor the notifier takes it: a typed error, and the caller writes it again each round (a
    // leader's alerts move only once written) until one of them takes it.
    notifier.down.store(true, Ordering::SeqCst);
    let resolved = [event("upset", AlertStatus::Resolved, 3)];
    let mut refused = 0;
    for attempt in 0.. {
        if attempt == 3 {
            notifier.down.store(false, Ordering::SeqCst);
        }
        match deliveries.notify(&resolved).await {
            Ok(()) => break,
            Err(e) => {
                refused += 1;
                assert!(e.to_string().contains("alerts outbox"), "{e}");
            }
        }
        assert!(attempt < 10, "never taken");
    }
    assert_eq!(refused, 3);
    // Space returns: the outbox takes entries again (the file opened again) and forwards them.
    std::fs::remove_file(&filler).unwrap();
    deliveries.append(&round(3)).await.unwrap();
    deliveries
        .notify(&[event("later", AlertStatus::Firing, 4)])
        .await
        .unwrap();
    until("the last alert is forwarded", || notifier.seen().len() == 4).await;
    until("the last round is forwarded", || deliveries.stats().0.queued == 0).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let expected = [
        ("before", AlertStatus::Firing),
        ("upset", AlertStatus::Firing),
        ("upset", AlertStatus::Resolved),
        ("later", AlertStatus::Firing),
    ]
    .map(|(r, s)| (r.to_string(), s));
    assert_eq!(notifier.seen(), expected, "each transition once, in order");
    let stored = history
        .range("rounds", Timestamp::from_millis(0), Timestamp::from_millis(100))
        .await
        .unwrap();
    let rounds: Vec<f64> = stored.iter().map(|p| p.value).collect();
    assert_eq!(rounds, [1.0, 2.0, 3.0], "every round stored once");
    let metrics = deliveries.metrics();
    assert!(
        metrics.lines().any(|l| {
            l.starts_with("aeroguard_outbox_reopened_total{outbox=\"notifier\"}") && !l.ends_with(" 0")
        }),
        "{metrics}"
    );
    drop(deliveries);
}
