//! The memory history store: fencing, ranges, retention and downsampling (the Redis store passes the same
//! checks in `tests/redis.rs`).

use std::time::Duration;

use aeroguard_consensus::history::{HistoryStore, MemoryHistory, Point, Retention, Writer};
use aeroguard_consensus::{Error, FencingToken};
use aeroguard_core::Timestamp;

#[path = "support/history.rs"]
mod checks;

fn p(ms: i64, v: f64) -> Point {
    Point::new(Timestamp::from_millis(ms), v)
}

fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms)
}

#[tokio::test]
async fn fencing_ranges_and_compaction() {
    let store = MemoryHistory::new();
    let t = |n| Writer::new(FencingToken(n), "writer");
    store
        .append("s", &t(5), &[p(1_000, 1.0), p(2_000, 2.0).with_alarm(true)])
        .await
        .unwrap();
    store
        .append("s", &t(5), &[p(3_000, 3.0), p(3_000, 3.5)])
        .await
        .unwrap();
    assert!(matches!(
        store.append("s", &t(4), &[p(4_000, 99.0)]).await,
        Err(Error::Fenced {
            token: 4,
            highest: 5,
            ..
        })
    ));
    store.append("s", &t(6), &[p(5_000, 5.0)]).await.unwrap();
    assert_eq!(store.fence("s").await.unwrap(), Some(FencingToken(6)));
    assert_eq!(store.fence("other").await.unwrap(), None, "fences are per series");
    store.append("other", &t(1), &[p(1, 0.0)]).await.unwrap();
    let all = store.range("s", ts(0), ts(10_000)).await.unwrap();
    assert_eq!(
        all.iter().map(|p| p.value).collect::<Vec<_>>(),
        [1.0, 2.0, 3.0, 3.5, 5.0]
    );
    assert_eq!(store.range("s", ts(2_000), ts(3_000)).await.unwrap().len(), 3);

    assert!(matches!(
        store.append("s", &t(9), &[p(6_000, f64::INFINITY)]).await,
        Err(Error::InvalidParameter { name: "points", .. })
    ));
    assert!(matches!(
        store.range("s", ts(5), ts(1)).await,
        Err(Error::InvalidParameter { .. })
    ));
    assert!(matches!(
        store.append("", &t(9), &[]).await,
        Err(Error::InvalidName { .. })
    ));

    let retention = Retention::keep(Duration::from_secs(4))
        .downsample_after(Duration::from_millis(1_500), Duration::from_secs(2));
    let done = store.compact("s", &t(6), ts(6_000), &retention).await.unwrap();
    assert_eq!((done.dropped, done.folded), (1, 3));
    assert_eq!(store.range("s", ts(0), ts(10_000)).await.unwrap().len(), 1);
    let b = store.buckets("s", ts(0), ts(10_000)).await.unwrap();
    assert_eq!(b.len(), 1);
    assert_eq!(
        (b[0].start, b[0].count, b[0].min, b[0].max),
        (ts(2_000), 3, 2.0, 3.5)
    );
    assert!((b[0].mean - 8.5 / 3.0).abs() < 1e-12);
    assert!(matches!(
        store.compact("s", &t(2), ts(6_000), &retention).await,
        Err(Error::Fenced { .. })
    ));
    assert!(matches!(
        store
            .compact(
                "s",
                &t(6),
                ts(6_000),
                &Retention::keep(Duration::from_secs(1))
                    .downsample_after(Duration::from_secs(2), Duration::from_secs(1))
            )
            .await,
        Err(Error::InvalidParameter { name: "raw", .. })
    ));
}

/// Two writers claiming the same token (one grant, two owners): the first keeps it, the second is refused with
/// `FenceHeld` and writes nothing; the owner may write again, and a higher token from anyone takes over.
#[tokio::test]
async fn an_equal_token_from_another_owner_is_refused() {
    let store = MemoryHistory::new();
    let (a, b) = (
        Writer::new(FencingToken(7), "n1"),
        Writer::new(FencingToken(7), "n2"),
    );
    store.append("s", &a, &[p(1_000, 1.0)]).await.unwrap();
    match store.append("s", &b, &[p(2_000, 666.0)]).await {
        Err(Error::FenceHeld {
            token: 7,
            holder,
            writer,
            ..
        }) => assert_eq!((holder.as_str(), writer.as_str()), ("n1", "n2")),
        other => panic!("an equal token from another owner must be refused: {other:?}"),
    }
    store.append("s", &a, &[p(3_000, 3.0)]).await.unwrap();
    store
        .append("s", &Writer::new(FencingToken(8), "n2"), &[p(4_000, 4.0)])
        .await
        .unwrap();
    assert!(matches!(
        store.append("s", &a, &[p(5_000, 666.0)]).await,
        Err(Error::Fenced { .. })
    ));
    let values: Vec<f64> = store
        .range("s", ts(0), ts(10_000))
        .await
        .unwrap()
        .iter()
        .map(|p| p.value)
        .collect();
    assert_eq!(values, [1.0, 3.0, 4.0]);
    assert!(matches!(
        store
            .append("s", &Writer::new(FencingToken(9), "bad owner!"), &[p(6_000, 6.0)])
            .await,
        Err(Error::InvalidName { .. })
    ));
}

/// Retention on the schedule held in config: on time, by the last good schedule when a bad one is written,
/// and never by a deposed leader.
#[tokio::test]
async fn retention_runs_on_the_schedule_in_config() {
    use std::sync::Arc;

    use aeroguard_consensus::history::{Compactor, RetentionSchedule};
    use aeroguard_consensus::memory::MemoryCluster;
    use aeroguard_consensus::{Coordinator, Expect};

    let cluster = MemoryCluster::new();
    let a = cluster.connect("a".parse().unwrap()).unwrap();
    let term = a.election("pump").unwrap().campaign().await.unwrap();
    let history: Arc<dyn HistoryStore> = Arc::new(MemoryHistory::new());
    let minute = 60_000;
    let points: Vec<Point> = (0..120).map(|m| p(m * minute, m as f64)).collect();
    history
        .append("s", &term.writer().unwrap(), &points)
        .await
        .unwrap();
    let config = RetentionSchedule::config(a.config(), "retention").unwrap();
    let mut compactor = Compactor::new(history.clone(), config.clone());
    assert!(
        compactor
            .tick(&term, &["s"], ts(120 * minute))
            .await
            .unwrap()
            .is_none(),
        "no schedule, nothing"
    );

    // Keep 100 minutes, raw for 60, 10-minute buckets, every 5 minutes.
    let schedule = RetentionSchedule {
        keep_ms: 100 * minute as u64,
        raw_ms: Some(60 * minute as u64),
        bucket_ms: 10 * minute as u64,
        every_ms: 5 * minute as u64,
    };
    config.set(&schedule, Expect::Any).await.unwrap();
    let done = compactor
        .tick(&term, &["s"], ts(120 * minute))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (done.dropped, done.folded),
        (20, 40),
        "minutes 0-19 dropped, 20-59 folded"
    );
    assert!(
        compactor
            .tick(&term, &["s"], ts(124 * minute))
            .await
            .unwrap()
            .is_none(),
        "not due yet"
    );

    // A bad schedule is refused on write, and one written around the check is not applied.
    let bad = RetentionSchedule {
        every_ms: 10,
        ..schedule
    };
    assert!(matches!(
        config.set(&bad, Expect::Any).await,
        Err(Error::Invalid { .. })
    ));
    a.config()
        .set_raw("retention", br#"{"keep_ms":0}"#.to_vec(), Expect::Any)
        .await
        .unwrap();
    let done = compactor
        .tick(&term, &["s"], ts(135 * minute))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (done.dropped, done.folded),
        (0, 10),
        "the last good schedule still runs: minutes 60-69 are now past the raw hour"
    );
    assert_eq!(compactor.schedule(), Some(schedule));

    // A deposed leader's compactor changes nothing.
    let b = cluster.connect("b".parse().unwrap()).unwrap();
    let old = term;
    cluster.expire(&"a".parse().unwrap());
    let new = b.election("pump").unwrap().campaign().await.unwrap();
    history
        .append("s", &new.writer().unwrap(), &[p(130 * minute, 2.0)])
        .await
        .unwrap();
    let before = history.range("s", ts(0), ts(i64::MAX / 2)).await.unwrap();
    let err = compactor.tick(&old, &["s"], ts(200 * minute)).await.unwrap_err();
    assert!(
        matches!(err, Error::LeadershipLost { .. } | Error::Fenced { .. }),
        "{err:?}"
    );
    assert_eq!(history.range("s", ts(0), ts(i64::MAX / 2)).await.unwrap(), before);
}

#[tokio::test]
async fn latest_and_bounded_ranges_read_what_they_return() {
    let store = MemoryHistory::new();
    checks::latest_reads_the_newest(&store, "s").await;
    // Reads of names never written make no entries.
    assert!(store.range("other", ts(0), ts(9)).await.unwrap().is_empty());
    assert!(store.buckets("other", ts(0), ts(9)).await.unwrap().is_empty());
    assert_eq!(store.fence("other").await.unwrap(), None);
    assert_eq!(store.len(), 2, "s and s-big, nothing for the names only read");
}
