#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::time::Duration;

use aeroguard_core::Timestamp;

use super::*;
use crate::FencingToken;
use crate::history::{HistoryStore, MemoryHistory, Point, Writer};

struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir = std::env::temp_dir().join(format!("outbox-{name}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Dir(dir)
    }
    fn file(&self) -> PathBuf {
        self.0.join("outbox.redb")
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn entries_survive_reopening_and_leave_in_order() {
    let dir = Dir::new("reopen");
    {
        let outbox: Outbox<u32> = Outbox::open(dir.file(), OutboxLimits::default()).unwrap();
        outbox.push_all(&[1, 2, 3]).unwrap();
        outbox.push(&4).unwrap();
    }
    let outbox: Outbox<u32> = Outbox::open(dir.file(), OutboxLimits::default()).unwrap();
    assert_eq!(outbox.stats().queued, 4);
    let mut seen = Vec::new();
    let pass = rt()
        .block_on(outbox.forward(|n: &u32| {
            seen.push(*n);
            let n = *n;
            async move {
                if n == 3 {
                    Outcome::Retry("down".into())
                } else {
                    Outcome::Sent
                }
            }
        }))
        .unwrap();
    assert_eq!(pass.sent, 2);
    assert_eq!(pass.stopped.as_deref(), Some("down"));
    assert_eq!(seen, [1, 2, 3]);
    // Sequence numbers go on after a reopen: a new entry comes after the kept ones.
    outbox.push(&5).unwrap();
    let left: Vec<u32> = outbox
        .oldest(10)
        .unwrap()
        .into_iter()
        .map(|(_, v)| v.unwrap())
        .collect();
    assert_eq!(left, [3, 4, 5]);
}

#[test]
fn a_full_outbox_drops_the_oldest_and_counts_them() {
    let dir = Dir::new("full");
    let limits = OutboxLimits::bytes(1_000).entries(5);
    let outbox: Outbox<u32> = Outbox::open(dir.file(), limits).unwrap();
    for n in 0..12 {
        outbox.push(&n).unwrap();
    }
    let stats = outbox.stats();
    assert_eq!((stats.queued, stats.dropped, stats.pushed), (5, 7, 12));
    let left: Vec<u32> = outbox
        .oldest(10)
        .unwrap()
        .into_iter()
        .map(|(_, v)| v.unwrap())
        .collect();
    assert_eq!(left, [7, 8, 9, 10, 11]);
    // By bytes: entries of ~100 bytes in a 1,000-byte outbox.
    let dir = Dir::new("bytes");
    let outbox: Outbox<String> = Outbox::open(dir.file(), OutboxLimits::bytes(1_000)).unwrap();
    for n in 0..30 {
        outbox.push(&format!("{n:0>98}")).unwrap();
    }
    let stats = outbox.stats();
    assert!(stats.bytes <= 1_000, "{stats:?}");
    assert_eq!(stats.queued, 10, "{stats:?}");
    assert_eq!(stats.dropped, 20);
}

fn left(outbox: &Outbox<u32>) -> Vec<u32> {
    outbox
        .oldest(100)
        .unwrap()
        .into_iter()
        .map(|(_, v)| v.unwrap())
        .collect()
}

#[test]
fn a_full_outbox_drops_precious_entries_last() {
    let dir = Dir::new("precious");
    let outbox: Outbox<u32> = Outbox::open(dir.file(), OutboxLimits::default().entries(3)).unwrap();
    outbox.push_precious(&1).unwrap();
    outbox.push_all(&[2, 3, 4]).unwrap();
    // Full at three: the oldest entry not precious (2) went, the older precious one stayed.
    assert_eq!(left(&outbox), [1, 3, 4]);
    outbox.push_precious(&5).unwrap();
    outbox.push(&6).unwrap();
    assert_eq!(left(&outbox), [1, 5, 6]);
    outbox.push_precious(&7).unwrap();
    assert_eq!(left(&outbox), [1, 5, 7]);
    // Nothing but precious entries to drop: the oldest of them goes.
    outbox.push(&8).unwrap();
    assert_eq!(left(&outbox), [5, 7, 8]);
    assert_eq!(outbox.stats().dropped, 5);
    // Delivered precious entries leave their mark too: what is pushed after them is dropped by age again.
    let pass = rt()
        .block_on(outbox.forward(|_: &u32| async { Outcome::Sent }))
        .unwrap();
    assert_eq!(pass.sent, 3);
    outbox.push_all(&[9, 10, 11, 12]).unwrap();
    assert_eq!(left(&outbox), [10, 11, 12]);
    // Kept across opening the file again.
    outbox.push_precious(&13).unwrap();
    drop(outbox);
    let outbox: Outbox<u32> = Outbox::open(dir.file(), OutboxLimits::default().entries(3)).unwrap();
    outbox.push_all(&[14, 15]).unwrap();
    assert_eq!(left(&outbox), [13, 14, 15]);
}

#[test]
fn refuse_new_keeps_the_oldest_and_says_why() {
    let dir = Dir::new("refuse");
    let limits = OutboxLimits::bytes(1_000)
        .entries(2)
        .when_full(WhenFull::RefuseNew);
    let outbox: Outbox<u32> = Outbox::open(dir.file(), limits).unwrap();
    outbox.push_all(&[1, 2]).unwrap();
    let err = outbox.push(&3).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Overloaded {
                backend: "outbox",
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(outbox.stats().queued, 2);
    assert_eq!(outbox.stats().dropped, 0);
}

#[test]
fn bad_limits_and_oversized_entries_are_refused() {
    let dir = Dir::new("limits");
    let err = Outbox::<u32>::open(dir.file(), OutboxLimits::default().entries(0)).unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidParameter {
                name: "max_entries",
                ..
            }
        ),
        "{err}"
    );
    let outbox: Outbox<String> = Outbox::open(dir.file(), OutboxLimits::bytes(100)).unwrap();
    let err = outbox.push(&"x".repeat(200)).unwrap_err();
    assert!(
        matches!(err, Error::InvalidParameter { name: "entry", .. }),
        "{err}"
    );
    assert_eq!(outbox.stats().queued, 0);
}

#[test]
fn a_second_opener_is_refused() {
    let dir = Dir::new("lock");
    let _first: Outbox<u32> = Outbox::open(dir.file(), OutboxLimits::default()).unwrap();
    let err = Outbox::<u32>::open(dir.file(), OutboxLimits::default()).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Backend {
                backend: "outbox",
                operation: "open",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn refused_and_undecodable_entries_leave_counted() {
    let dir = Dir::new("refused");
    {
        let outbox: Outbox<String> = Outbox::open(dir.file(), OutboxLimits::default()).unwrap();
        outbox.push_all(&["a".into(), "b".into()]).unwrap();
    }
    // Reopened as numbers: "a" and "b" no longer decode, so they leave as refused rather than block the log.
    let outbox: Outbox<u32> = Outbox::open(dir.file(), OutboxLimits::default()).unwrap();
    outbox.push_all(&[7, 8]).unwrap();
    let pass = rt()
        .block_on(outbox.forward(|n: &u32| {
            let n = *n;
            async move {
                if n == 7 {
                    Outcome::Refused("fenced".into())
                } else {
                    Outcome::Sent
                }
            }
        }))
        .unwrap();
    assert_eq!((pass.sent, pass.refused), (1, 3));
    assert_eq!(outbox.stats().refused, 3);
    assert_eq!(outbox.stats().queued, 0);
    assert_eq!(outbox.stats().bytes, 0);
}

#[test]
fn a_deposed_leaders_buffered_appends_are_refused_by_the_fence() {
    let dir = Dir::new("fenced");
    let store = MemoryHistory::new();
    let outbox: Outbox<Append> = Outbox::open(dir.file(), OutboxLimits::default()).unwrap();
    let p = |ms| vec![Point::new(Timestamp::from_millis(ms), 1.0)];
    let old = Writer::new(FencingToken(4), "n1");
    outbox
        .push(&Append {
            series: "s".into(),
            writer: old.clone(),
            points: p(1),
        })
        .unwrap();
    rt().block_on(async {
        // The link was down; meanwhile n2 was elected and wrote.
        store
            .append("s", &Writer::new(FencingToken(5), "n2"), &p(2))
            .await
            .unwrap();
        let pass = forward_appends(&outbox, &store).await.unwrap();
        assert_eq!((pass.sent, pass.refused), (0, 1));
        let all = store
            .range("s", Timestamp::from_millis(0), Timestamp::from_millis(9))
            .await
            .unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].at, Timestamp::from_millis(2));
        // Appending the same point twice (redelivery after a crash) stores it once.
        let twice = Append {
            series: "s".into(),
            writer: Writer::new(FencingToken(5), "n2"),
            points: p(3),
        };
        outbox.push_all(&[twice.clone(), twice]).unwrap();
        assert_eq!(forward_appends(&outbox, &store).await.unwrap().sent, 2);
        let all = store
            .range("s", Timestamp::from_millis(0), Timestamp::from_millis(9))
            .await
            .unwrap();
        assert_eq!(all.len(), 2);
    });
}

#[test]
fn run_retries_with_backoff_until_the_sink_answers() {
    let dir = Dir::new("run");
    let outbox: Outbox<u32> = Outbox::open(dir.file(), OutboxLimits::default()).unwrap();
    outbox.push_all(&[1, 2, 3]).unwrap();
    let attempts = std::sync::atomic::AtomicU32::new(0);
    let delivered = parking_lot::Mutex::new(Vec::new());
    rt().block_on(async {
        let stop = async {
            while delivered.lock().len() < 4 {
                tokio::time::sleep(Duration::from_millis(5)).await;
                if attempts.load(Ordering::Relaxed) > 5 && delivered.lock().len() == 3 {
                    outbox.push(&4).unwrap();
                    // Wait for the fourth.
                    while delivered.lock().len() < 4 {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                }
            }
        };
        let deliver = |n: &u32| {
            let n = *n;
            let tries = attempts.fetch_add(1, Ordering::Relaxed);
            let ok = tries >= 5;
            if ok {
                delivered.lock().push(n);
            }
            async move {
                if ok {
                    Outcome::Sent
                } else {
                    Outcome::Retry("down".into())
                }
            }
        };
        tokio::time::timeout(
            Duration::from_secs(10),
            outbox.run(
                deliver,
                Duration::from_millis(40),
                Duration::from_millis(20),
                stop,
            ),
        )
        .await
        .unwrap()
        .unwrap();
    });
    assert_eq!(*delivered.lock(), [1, 2, 3, 4]);
    assert_eq!(outbox.stats().queued, 0);
}
