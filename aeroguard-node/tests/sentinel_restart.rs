//! The analysis service restarted: a new instance over the same store resumes scoring without retraining,
//! serves the verdicts (with their vote records) its predecessor made, and skips what was already taken. On the
//! memory store (one process, shared) and on Redis (through the Sentinels, as the service's own ACL user).

use std::sync::Arc;

use aeroguard_consensus::history::{HistoryStore, MemoryHistory};
use aeroguard_node::{sim, unique_run};
use aeroguard_sentinel::client::{Response, request};
use aeroguard_sentinel::{Sentinel, SentinelOptions, router, serve};

/// An instance of the service over `history` (insecure: this is about state; keys are in sentinel_security.rs).
async fn start(history: Arc<dyn HistoryStore>) -> (String, tokio::task::JoinHandle<std::io::Result<()>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let service = Sentinel::new(history, "store", SentinelOptions::new(None, 50));
    (
        addr,
        tokio::spawn(async move { serve(listener, router(service), Default::default()).await }),
    )
}

async fn post(addr: &str, series: &str, from: u64, to: u64) -> serde_json::Value {
    let readings: Vec<serde_json::Value> = (from..to)
        .map(|r| {
            let t = sim::measure(0, r, 7, &[], None);
            serde_json::json!({ "at": 1_700_000_000_000i64 + r as i64 * 1000, "values": t })
        })
        .collect();
    let body = serde_json::json!({ "series": series, "token": 1, "readings": readings }).to_string();
    let r: Response = request(addr, "POST", "/ingest", Some(body.as_bytes()), &[])
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    serde_json::from_str(&r.body).unwrap()
}

async fn verdicts(addr: &str, series: &str) -> Vec<serde_json::Value> {
    let r = request(
        addr,
        "GET",
        &format!("/verdicts?series={series}&limit=1000"),
        None,
        &[],
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    serde_json::from_str(&r.body).unwrap()
}

async fn restart_resumes(history: Arc<dyn HistoryStore>) {
    let series = unique_run("svc-restart");
    let (a, first) = start(history.clone()).await;
    let trained = post(&a, &series, 0, 60).await;
    assert_eq!(trained["training"], false, "{trained}");
    assert_eq!(trained["scored"], 10, "50 rows train, 10 are scored: {trained}");
    post(&a, &series, 60, 80).await;
    let before = verdicts(&a, &series).await;
    assert_eq!(before.len(), 30);
    assert!(
        before
            .iter()
            .all(|v| v["members"].as_array().is_some_and(|m| !m.is_empty()))
    );
    // The instance dies; a new one starts over the same store.
    first.abort();
    let _ = first.await;
    let (b, second) = start(history).await;
    assert_eq!(
        verdicts(&b, &series).await,
        before,
        "the verdicts, with their votes, come from the store"
    );
    // It scores at once: no retraining (which would take 50 rows and score none).
    let next = post(&b, &series, 80, 90).await;
    assert_eq!(
        (next["scored"].as_u64(), next["training"].as_bool()),
        (Some(10), Some(false)),
        "{next}"
    );
    assert_eq!(verdicts(&b, &series).await.len(), 40);
    // What the first instance took is skipped if sent again.
    let again = post(&b, &series, 70, 80).await;
    assert_eq!(
        (again["skipped"].as_u64(), again["accepted"].as_u64()),
        (Some(10), Some(0)),
        "{again}"
    );
    assert_eq!(verdicts(&b, &series).await.len(), 40);
    second.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_service_resumes_from_the_memory_store() {
    restart_resumes(Arc::new(MemoryHistory::new())).await;
}

#[cfg(feature = "live-services")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_service_resumes_from_redis() {
    let history = aeroguard_sentinel::history::redis_history().await.unwrap();
    restart_resumes(Arc::new(history)).await;
}
