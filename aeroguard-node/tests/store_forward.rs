//! Store-and-forward without servers: the analysis service unreachable for a while behind a cut link (every
//! reading reaches it once, none scored twice), and an outbox at its disk limit (the oldest dropped, counted,
//! and shown in the node's metrics). The Redis outage and the kill -9 during forwarding are in
//! store_forward_live.rs.

mod support;

use std::sync::Arc;
use std::time::Duration;

use aeroguard_consensus::FencingToken;
use aeroguard_consensus::history::{HistoryStore, MemoryHistory, Point, Writer};
use aeroguard_consensus::outbox::{Append, OutboxLimits};
use aeroguard_core::Timestamp;
use aeroguard_node::{Deliveries, Emit, NodeEvent, Post, sim};
use aeroguard_sentinel::client::request;
use aeroguard_sentinel::{Sentinel, SentinelOptions, router, serve};
use aeroguard_testkit::netcut::LinkProxy;
use support::until;

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "aeroguard-sf-{name}-{}-{}",
        std::process::id(),
        aeroguard_node::unique_run("t")
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn events() -> (Emit, Arc<parking_lot::Mutex<Vec<NodeEvent>>>) {
    let seen = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let s2 = seen.clone();
    (Arc::new(move |e| s2.lock().push(e)), seen)
}

/// The counter `name{series="..."}` in a metrics text.
fn counter(text: &str, name: &str, series: &str) -> u64 {
    let prefix = format!("{name}{{series=\"{series}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map_or(0, |v| v.trim().parse().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_unreachable_for_a_while_gets_every_reading_once() {
    // The service (insecure: this is about delivery, authentication is in sentinel_security.rs), behind a link
    // the test cuts.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let service_addr = listener.local_addr().unwrap().to_string();
    let service_history = Arc::new(MemoryHistory::new());
    let service = Sentinel::new(service_history.clone(), "memory", SentinelOptions::new(None, 50));
    tokio::spawn(async move { serve(listener, router(service), Default::default()).await });
    let link = LinkProxy::start(&service_addr).await.unwrap();
    let dir = temp_dir("service");
    let (emit, seen) = events();
    let node_history: Arc<dyn HistoryStore> = Arc::new(MemoryHistory::new());
    let deliveries = Deliveries::open(&dir, "run", "n1", node_history, OutboxLimits::default(), emit)
        .unwrap()
        .with_posts(link.addr().to_string(), None)
        .unwrap();
    let rows = 200u64;
    for r in 0..rows {
        if r == 60 {
            link.cut();
        }
        if r == 140 {
            link.restore();
        }
        deliveries
            .post(&Post {
                series: "pump-1".into(),
                token: 1,
                at: 1_700_000_000_000 + r as i64 * 1000,
                values: sim::measure(0, r, 7, &[], None),
            })
            .unwrap();
        tokio::time::sleep(Duration::from_millis(8)).await;
    }
    // The pass that drains the outbox reports after its closing sync, so wait for its report, not for the
    // queue to read empty.
    let forwarded = || {
        seen.lock()
            .iter()
            .any(|e| matches!(e, NodeEvent::Forwarded { to, sent, .. } if to == "service" && *sent > 0))
    };
    until(
        "the outage held posts back and they were forwarded after",
        forwarded,
    )
    .await;
    until("the posts outbox drains", || {
        deliveries.stats().1.unwrap().queued == 0
    })
    .await;
    let stats = deliveries.stats().1.unwrap();
    assert_eq!(
        (stats.pushed, stats.sent, stats.refused, stats.dropped),
        (rows, rows, 0, 0),
        "{stats:?}"
    );
    // Every reading is stored once, in order, and scored at most once.
    let stored = service_history
        .range(
            "pump-1",
            Timestamp::from_millis(0),
            Timestamp::from_millis(i64::MAX / 2),
        )
        .await
        .unwrap();
    assert_eq!(stored.len() as u64, rows);
    assert!(stored.windows(2).all(|w| w[0].at < w[1].at));
    let metrics = request(&service_addr, "GET", "/metrics", None, &[])
        .await
        .unwrap()
        .body;
    assert_eq!(
        counter(&metrics, "aeroguard_ingested_total", "pump-1"),
        rows,
        "{metrics}"
    );
    let verdicts = request(
        &service_addr,
        "GET",
        "/verdicts?series=pump-1&limit=1000",
        None,
        &[],
    )
    .await
    .unwrap();
    let verdicts: Vec<serde_json::Value> = serde_json::from_str(&verdicts.body).unwrap();
    assert_eq!(
        verdicts.len() as u64,
        rows - 50,
        "one verdict per reading after the 50 that trained"
    );
    drop(deliveries);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_outbox_drops_the_oldest_and_the_metric_shows_it() {
    let dir = temp_dir("limit");
    let (emit, _) = events();
    let store = Arc::new(MemoryHistory::new());
    let limits = OutboxLimits::bytes(8 * 1024);
    let deliveries = Deliveries::open(&dir, "run", "n1", store.clone(), limits, emit).unwrap();
    deliveries.set_link(false);
    let writer = Writer::new(FencingToken(1), "n1");
    let n = 200u64;
    for r in 1..=n {
        let point = Point::new(Timestamp::from_millis(r as i64), r as f64)
            .with_detail(serde_json::json!({ "round": r, "pad": "x".repeat(100) }));
        deliveries
            .append(&Append {
                series: "s".into(),
                writer: writer.clone(),
                points: vec![point],
            })
            .await
            .unwrap();
    }
    let stats = deliveries.stats().0;
    assert!(stats.bytes <= 8 * 1024, "{stats:?}");
    assert!(stats.dropped > 100, "{stats:?}");
    assert_eq!(stats.queued + stats.dropped, n, "{stats:?}");
    let metrics = deliveries.metrics();
    assert!(
        metrics.contains(&format!(
            "aeroguard_outbox_dropped_total{{outbox=\"history\"}} {}",
            stats.dropped
        )),
        "{metrics}"
    );
    assert!(
        metrics.contains("aeroguard_outbox_max_bytes{outbox=\"history\"} 8192"),
        "{metrics}"
    );
    // The link returns: what is left (the newest) reaches the history, in order.
    deliveries.set_link(true);
    until("the outbox drains", || deliveries.stats().0.queued == 0).await;
    let stored = store
        .range(
            "s",
            Timestamp::from_millis(0),
            Timestamp::from_millis(i64::MAX / 2),
        )
        .await
        .unwrap();
    let rounds: Vec<u64> = stored.iter().map(|p| p.value as u64).collect();
    let kept: Vec<u64> = (stats.dropped + 1..=n).collect();
    assert_eq!(rounds, kept, "the oldest were dropped, the newest kept");
    drop(deliveries);
    std::fs::remove_dir_all(&dir).unwrap();
}
