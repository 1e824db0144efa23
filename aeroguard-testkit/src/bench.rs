//! Measurements shared by the benchmark programs (`coordination_bench`, `limits`) against the services of
//! `scripts/services start`: election hand-over, queue throughput, fenced history throughput. They panic with
//! the reason when a service is unreachable: they are benchmark drivers, not library code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use aeroguard_consensus::history::{HistoryStore, Point, Writer};
use aeroguard_consensus::redis::RedisCoordinator;
use aeroguard_consensus::{Coordinator, Delivery, FencingToken};
use aeroguard_core::Timestamp;

use aeroguard_consensus::deployment::Backend;

pub mod cluster;

/// The `p` quantile (0 to 1) of sorted samples.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Connects `node` to `backend`'s test services, or panics with the reason.
pub async fn connect(backend: Backend, node: &str, session: Duration) -> Arc<dyn Coordinator> {
    backend.connect(node, session).await.unwrap_or_else(|e| {
        panic!(
            "{} unreachable ({e}): run `scripts/services start`",
            backend.name()
        )
    })
}

/// A leader resigns; how long until the next candidate is elected, `trials` times.
pub async fn resign_failover(backend: Backend, trials: usize, run: &str) -> Vec<Duration> {
    let a = connect(backend, "bench-a", Duration::from_secs(4)).await;
    let b = connect(backend, "bench-b", Duration::from_secs(4)).await;
    let mut out = Vec::new();
    for t in 0..trials {
        let name = format!("resign-{run}-{t}");
        let lead = a.election(&name).unwrap().campaign().await.unwrap();
        let e = b.election(&name).unwrap();
        let waiting = tokio::spawn(async move { e.campaign().await.map(|l| (l, Instant::now())) });
        // Let b queue up behind a.
        while a.election(&name).unwrap().contenders().await.unwrap().len() < 2 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let start = Instant::now();
        lead.resign().await.unwrap();
        let (next, at) = waiting.await.unwrap().unwrap();
        out.push(at - start);
        next.resign().await.unwrap();
    }
    a.close().await;
    b.close().await;
    out
}

/// Queue put + take + ack of small items: (one at a time, pipelined) in items per second.
pub async fn queue_throughput(backend: Backend, items: u32, run: &str) -> (f64, f64) {
    let c = connect(backend, "bench-q", Duration::from_secs(4)).await;
    // One at a time: each put, take and ack waits for its answer.
    let one = (items / 5).max(100);
    let q = c.queue(&format!("single-{run}")).unwrap();
    let start = Instant::now();
    for i in 0..one {
        q.put(i.to_be_bytes().to_vec()).await.unwrap();
    }
    for _ in 0..one {
        q.take(Some(Duration::from_secs(5)))
            .await
            .unwrap()
            .ack()
            .await
            .unwrap();
    }
    let single = one as f64 / start.elapsed().as_secs_f64();
    // Pipelined: batched puts (one multi per 500), batched takes with pipelined claims, one multi per ack batch.
    let q = c.queue(&format!("batch-{run}")).unwrap();
    let start = Instant::now();
    q.put_batch((0..items).map(|i| i.to_be_bytes().to_vec()).collect())
        .await
        .unwrap();
    let mut taken = 0;
    while taken < items as usize {
        let batch = q.take_batch(256, Some(Duration::from_secs(5))).await.unwrap();
        taken += batch.len();
        Delivery::ack_all(batch).await.unwrap();
    }
    let pipelined = items as f64 / start.elapsed().as_secs_f64();
    c.close().await;
    (single, pipelined)
}

/// History appends in batches of 500 points, eight batches in flight; then range queries of 1,000 points,
/// eight in flight. Returns (points appended per s, points read per s, range queries per s).
pub async fn history_throughput(points: usize, run: &str) -> (f64, f64, f64) {
    let c = RedisCoordinator::connect(
        "bench-h".parse().unwrap(),
        Backend::redis_options(Duration::from_secs(4)).unwrap_or_else(|e| panic!("{e}")),
    )
    .await
    .unwrap_or_else(|e| panic!("redis unreachable ({e}): run `scripts/services start`"));
    let store = Arc::new(c.history());
    let series = format!("bench-{run}");
    let base = Timestamp::now().as_millis();
    let batches: Vec<Vec<Point>> = (0..points)
        .map(|i| {
            Point::new(Timestamp::from_millis(base + i as i64), (i % 1000) as f64).with_alarm(i % 97 == 0)
        })
        .collect::<Vec<_>>()
        .chunks(500)
        .map(<[Point]>::to_vec)
        .collect();
    let start = Instant::now();
    let mut in_flight: tokio::task::JoinSet<aeroguard_consensus::Result<()>> = tokio::task::JoinSet::new();
    for batch in batches {
        if in_flight.len() >= 8 {
            in_flight.join_next().await.unwrap().unwrap().unwrap();
        }
        let (store, series) = (store.clone(), series.clone());
        in_flight.spawn(async move {
            store
                .append(&series, &Writer::new(FencingToken(1), "bench"), &batch)
                .await
        });
    }
    while let Some(r) = in_flight.join_next().await {
        r.unwrap().unwrap();
    }
    let appended = points as f64 / start.elapsed().as_secs_f64();
    let queries = (points / 1000).max(1);
    let start = Instant::now();
    let mut read = 0;
    for q in 0..queries {
        if in_flight.len() >= 8 {
            in_flight.join_next().await.unwrap().unwrap().unwrap();
        }
        let (store, series) = (store.clone(), series.clone());
        let from = Timestamp::from_millis(base + (q * 1000) as i64);
        let to = Timestamp::from_millis(base + (q * 1000 + 999) as i64);
        in_flight.spawn(async move {
            let got = store.range(&series, from, to).await?;
            assert_eq!(got.len(), 1000);
            Ok(())
        });
        read += 1000;
    }
    while let Some(r) = in_flight.join_next().await {
        r.unwrap().unwrap();
    }
    let secs = start.elapsed().as_secs_f64();
    c.close().await;
    (appended, read as f64 / secs, queries as f64 / secs)
}
