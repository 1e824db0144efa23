//! History-store checks shared by the backends' live tests (one master through Sentinel, Redis Cluster).
#![allow(dead_code)]

use std::time::Duration;

use aeroguard_consensus::history::{HistoryStore, Point, Retention, Writer};
use aeroguard_consensus::{Error, FencingToken};
use aeroguard_core::Timestamp;

pub fn p(ms: i64, v: f64) -> Point {
    Point::new(Timestamp::from_millis(ms), v)
}

/// Appends, fences (a lower token changes nothing), ranges, typed refusals of bad input, and compaction.
pub async fn append_range_fence_and_compaction(store: &impl HistoryStore, series: &str) {
    assert_eq!(store.fence(series).await.unwrap(), None);
    let t = |n| Writer::new(FencingToken(n), "writer");
    store
        .append(series, &t(5), &[p(1_000, 1.0), p(2_000, 2.0).with_alarm(true)])
        .await
        .unwrap();
    store.append(series, &t(5), &[p(3_000, 3.0)]).await.unwrap();
    match store.append(series, &t(4), &[p(4_000, 99.0)]).await {
        Err(Error::Fenced {
            token: 4, highest: 5, ..
        }) => {}
        other => panic!("a lower token must be fenced, got {other:?}"),
    }
    store.append(series, &t(6), &[p(5_000, 5.0)]).await.unwrap();
    assert_eq!(store.fence(series).await.unwrap(), Some(FencingToken(6)));
    let all = store
        .range(series, Timestamp::from_millis(0), Timestamp::from_millis(10_000))
        .await
        .unwrap();
    let values: Vec<f64> = all.iter().map(|p| p.value).collect();
    assert_eq!(values, [1.0, 2.0, 3.0, 5.0], "the fenced write left nothing");
    assert_eq!(all[1].alarm, Some(true));
    let mid = store
        .range(
            series,
            Timestamp::from_millis(2_000),
            Timestamp::from_millis(3_000),
        )
        .await
        .unwrap();
    assert_eq!(mid.len(), 2, "range bounds are inclusive");

    // Bad input is a typed error, never a write.
    assert!(matches!(
        store.append(series, &t(9), &[p(6_000, f64::NAN)]).await,
        Err(Error::InvalidParameter { name: "points", .. })
    ));
    assert!(matches!(
        store
            .range(series, Timestamp::from_millis(5), Timestamp::from_millis(1))
            .await,
        Err(Error::InvalidParameter { .. })
    ));
    assert!(matches!(
        store.append("bad name!", &t(9), &[]).await,
        Err(Error::InvalidName { .. })
    ));
    assert_eq!(
        store.fence(series).await.unwrap(),
        Some(FencingToken(6)),
        "refused writes move no fence"
    );

    // Retention 4 s at now = 6 s drops the point at 1 s; downsampling after 2 s in 2 s buckets folds 2 s and 3 s.
    let retention = Retention::keep(Duration::from_secs(4))
        .downsample_after(Duration::from_millis(1_500), Duration::from_secs(2));
    let done = store
        .compact(series, &t(6), Timestamp::from_millis(6_000), &retention)
        .await
        .unwrap();
    assert_eq!((done.dropped, done.folded), (1, 2));
    let raw = store
        .range(series, Timestamp::from_millis(0), Timestamp::from_millis(10_000))
        .await
        .unwrap();
    assert_eq!(raw.iter().map(|p| p.value).collect::<Vec<_>>(), [5.0]);
    let buckets = store
        .buckets(series, Timestamp::from_millis(0), Timestamp::from_millis(10_000))
        .await
        .unwrap();
    assert_eq!(buckets.len(), 1);
    let b = &buckets[0];
    assert_eq!((b.start.as_millis(), b.count, b.min, b.max), (2_000, 2, 2.0, 3.0));
    assert!((b.mean - 2.5).abs() < 1e-9);
    assert!(matches!(
        store
            .compact(series, &t(1), Timestamp::from_millis(6_000), &retention)
            .await,
        Err(Error::Fenced { .. })
    ));
}

/// 2,999 points to drop and 6,000 to fold take at least five steps, and the buckets come out whole.
pub async fn compaction_in_bounded_steps(store: &impl HistoryStore, series: &str) {
    let writer = Writer::new(FencingToken(1), "compactor");
    for chunk in (1..=9_000i64).collect::<Vec<_>>().chunks(1_000) {
        let points: Vec<Point> = chunk.iter().map(|&t| p(t, t as f64)).collect();
        store.append(series, &writer, &points).await.unwrap();
    }
    let now = Timestamp::from_millis(1_000_000);
    let retention = Retention::keep(Duration::from_millis(997_000))
        .downsample_after(Duration::from_millis(991_000), Duration::from_secs(1));
    let done = store.compact(series, &writer, now, &retention).await.unwrap();
    assert_eq!((done.dropped, done.folded), (2_999, 6_000), "{done:?}");
    assert!(
        done.steps >= 5,
        "at most 2,000 points a step: {} steps",
        done.steps
    );
    let buckets = store
        .buckets(series, Timestamp::from_millis(0), now)
        .await
        .unwrap();
    assert_eq!(buckets.len(), 6, "{buckets:?}");
    for b in &buckets {
        let start = b.start.as_millis() as f64;
        assert_eq!(b.count, 1_000, "{b:?}");
        assert_eq!((b.min, b.max), (start, start + 999.0), "{b:?}");
        assert!((b.mean - (start + 499.5)).abs() < 1e-9, "{b:?}");
    }
    let raw = store.range(series, Timestamp::from_millis(0), now).await.unwrap();
    assert_eq!(
        (raw.len(), raw[0].at.as_millis()),
        (1, 9_000),
        "only the newest point stays raw"
    );
}

/// `latest` reads the newest points, oldest first; one append larger than a script's chunk lands whole.
pub async fn latest_reads_the_newest(store: &impl HistoryStore, series: &str) {
    let t = Writer::new(FencingToken(1), "writer");
    let points: Vec<Point> = (0..50).map(|i| p(1_000 * i, i as f64)).collect();
    store.append(series, &t, &points).await.unwrap();
    let newest = store.latest(series, 5).await.unwrap();
    let values: Vec<f64> = newest.iter().map(|p| p.value).collect();
    assert_eq!(values, [45.0, 46.0, 47.0, 48.0, 49.0], "the newest, oldest first");
    assert_eq!(store.latest(series, 500).await.unwrap().len(), 50);
    assert!(store.latest(series, 0).await.unwrap().is_empty());
    assert!(store.latest("nothing-here", 3).await.unwrap().is_empty());
    assert!(matches!(
        store.latest(series, 10_001).await,
        Err(Error::InvalidParameter { name: "n", .. })
    ));
    assert!(matches!(
        store.latest("bad name", 1).await,
        Err(Error::InvalidName { .. })
    ));
    // A bounded range: the oldest `n` in the range, oldest first.
    let ts = Timestamp::from_millis;
    let first: Vec<f64> = (store.range_first(series, ts(2_000), ts(40_000), 3).await.unwrap())
        .iter()
        .map(|p| p.value)
        .collect();
    assert_eq!(first, [2.0, 3.0, 4.0], "the oldest of the range, oldest first");
    assert_eq!(
        store
            .range_first(series, ts(0), ts(i64::MAX / 2), 10_000)
            .await
            .unwrap()
            .len(),
        50
    );
    assert!(
        store
            .range_first(series, ts(0), ts(1), 0)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        store.range_first(series, ts(0), ts(1), 10_001).await,
        Err(Error::InvalidParameter { name: "n", .. })
    ));
    assert!(matches!(
        store.range_first(series, ts(5), ts(1), 1).await,
        Err(Error::InvalidParameter { name: "from", .. })
    ));
    // One append larger than the script's ZADD chunk (500 points): every point lands, once.
    let big = format!("{series}-big");
    let points: Vec<Point> = (0..1_203).map(|i| p(i, i as f64)).collect();
    store.append(&big, &t, &points).await.unwrap();
    store.append(&big, &t, &points[1_000..]).await.unwrap();
    let all = store
        .range(&big, Timestamp::from_millis(0), Timestamp::from_millis(10_000))
        .await
        .unwrap();
    assert_eq!(all.len(), 1_203);
    assert!(all.iter().enumerate().all(|(i, p)| p.value == i as f64));
}
