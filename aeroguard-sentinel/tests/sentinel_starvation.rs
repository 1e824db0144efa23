//! One host cannot starve the service: connections are capped per address, each key and each keyless address
//! has its rate (429 with `Retry-After`), `/history` pages, reads make no entries, and `/health` counts without
//! series locks.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aeroguard_consensus::history::MemoryHistory;
use aeroguard_sentinel::{Limits, NEXT_FROM, RateLimit};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use support::{start, start_tuned};

const T0: i64 = 1_700_000_000_000;

fn readings(from: i64, n: i64) -> serde_json::Value {
    (from..from + n)
        .map(
            |i| serde_json::json!({"at": T0 + i * 1000, "values": [4.0 + (i % 7) as f64 * 0.01, 60.0, 12.0]}),
        )
        .collect()
}

#[tokio::test]
async fn a_key_over_its_rate_waits_and_the_others_go_on() {
    let s = start_tuned(Arc::new(MemoryHistory::new()), Limits::default(), |o| {
        o.rate = Some(RateLimit::new(2.0, 4).unwrap());
    })
    .await;
    for i in 0..4 {
        let r = s.post_as(Some("n1"), "pump-1", 1, T0 + i).await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let over = s.post_as(Some("n1"), "pump-1", 1, T0 + 4).await;
    assert_eq!(over.status, 429, "{}", over.body);
    assert_eq!(over.header("retry-after"), Some("1"), "{:?}", over.headers);
    assert!(
        over.body.contains("key n1") && over.body.contains("2 requests a second"),
        "{}",
        over.body
    );
    // Nothing of the refused post was taken.
    assert_eq!(s.stored("pump-1").await.0, 4);
    // Another key has its own rate.
    assert_eq!(s.post_as(Some("n2"), "pump-2", 1, T0).await.status, 200);
    // After the wait, n1 posts again.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let again = s.post_as(Some("n1"), "pump-1", 1, T0 + 4).await;
    assert_eq!(again.status, 200, "{}", again.body);
    let metrics = s.get_as(Some("prom"), "/metrics").await;
    assert!(metrics.body.contains("rate_limited"), "{}", metrics.body);
}

#[tokio::test]
async fn callers_without_a_key_are_limited_by_address() {
    let s = start_tuned(Arc::new(MemoryHistory::new()), Limits::default(), |o| {
        o.rate = Some(RateLimit::new(1.0, 3).unwrap());
    })
    .await;
    // Guessing keys from one address: three 401s, then 429s.
    let statuses: Vec<u16> = futures_statuses(&s, Some("not-a-key"), 5).await;
    assert_eq!(statuses[..3], [401, 401, 401], "{statuses:?}");
    assert!(statuses[3..].iter().all(|s| *s == 429), "{statuses:?}");
    // The open route shares the address's rate.
    assert_eq!(s.get_as(None, "/health").await.status, 429);
    // A key's rate is its own: a node's post goes through.
    assert_eq!(s.post_as(Some("n1"), "pump-1", 1, T0).await.status, 200);
}

async fn futures_statuses(s: &support::Service, who: Option<&str>, n: usize) -> Vec<u16> {
    let mut out = Vec::new();
    for i in 0..n {
        out.push(s.post_as(who, "pump-1", 1, T0 + i as i64).await.status);
    }
    out
}

#[tokio::test]
async fn history_pages_and_reads_make_no_entries() {
    let s = start(None, 10, Limits::default()).await;
    let r = s.post_readings(Some("n1"), "pump-1", 1, readings(0, 30)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let page = s.get_as(Some("prom"), "/history?series=pump-1&limit=10").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let points: Vec<serde_json::Value> = serde_json::from_str(&page.body).unwrap();
    assert_eq!(points.len(), 10);
    let next = page.header(NEXT_FROM).expect("a full page names the next");
    assert_eq!(next.parse::<i64>().unwrap(), T0 + 9_000 + 1);
    let rest = s
        .get_as(
            Some("prom"),
            &format!("/history?series=pump-1&from={next}&limit=100"),
        )
        .await;
    let rest_points: Vec<serde_json::Value> = serde_json::from_str(&rest.body).unwrap();
    assert_eq!(rest_points.len(), 20);
    assert_eq!(rest.header(NEXT_FROM), None, "the last page is not full");
    for bad in ["limit=0", "limit=10001", "limit=x"] {
        let r = s
            .get_as(Some("prom"), &format!("/history?series=pump-1&{bad}"))
            .await;
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
    }
    // Reading names nobody wrote keeps nothing.
    for i in 0..200 {
        let path = format!("/history?series=unknown-{i}");
        assert_eq!(s.get_as(Some("prom"), &path).await.status, 200);
        let path = format!("/verdicts?series=unknown-{i}");
        assert_eq!(s.get_as(Some("prom"), &path).await.status, 404);
    }
    assert_eq!(s.history.len(), 1, "only pump-1 is held: {}", s.history.len());
}

#[tokio::test]
async fn health_counts_training_series() {
    let s = start(None, 10, Limits::default()).await;
    let health = |body: String| serde_json::from_str::<serde_json::Value>(&body).unwrap();
    s.post_readings(Some("n1"), "a", 1, readings(0, 10)).await;
    s.post_readings(Some("n1"), "b", 1, readings(0, 10)).await;
    let h = health(s.get_as(None, "/health").await.body);
    assert_eq!(
        (h["series"].as_u64(), h["training"].as_u64()),
        (Some(2), Some(2)),
        "{h}"
    );
    let r = s.post_readings(Some("n1"), "a", 1, readings(10, 60)).await;
    assert!(r.body.contains(r#""training":false"#), "{}", r.body);
    let h = health(s.get_as(None, "/health").await.body);
    assert_eq!(
        (h["series"].as_u64(), h["training"].as_u64()),
        (Some(2), Some(1)),
        "{h}"
    );
}

/// One slow client on its own address: connects, sends half a request line, waits for the service to close
/// the connection, and does it again, until `stop`.
async fn slow_client(target: std::net::SocketAddr, stop: Arc<AtomicBool>, opened: Arc<AtomicU64>) {
    while !stop.load(Ordering::Relaxed) {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
        let Ok(mut stream) = socket.connect(target).await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        opened.fetch_add(1, Ordering::Relaxed);
        let _ = stream.write_all(b"POST /ingest HTTP/1.1\r\nHost: x\r\n").await;
        let mut buf = [0u8; 256];
        let _ = tokio::time::timeout(Duration::from_secs(30), stream.read(&mut buf)).await;
    }
}

/// A runtime of two workers, as a process of its own would have.
fn own_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A service on a runtime of its own, as a service process has (the attacker's 2,000 tasks do not share the
/// service's run queue).
fn start_apart() -> support::Service {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        own_runtime().block_on(async move {
            tx.send(start(None, 10, Limits::default()).await).unwrap();
            std::future::pending::<()>().await;
        });
    });
    rx.recv().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_slow_connections_from_one_address_leave_posts_answered() {
    let s = start_apart();
    let target: std::net::SocketAddr = s.addr.parse().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let opened = Arc::new(AtomicU64::new(0));
    // The attacker on a runtime of its own too, as another program on the host would be.
    let attacker = {
        let (stop, opened) = (stop.clone(), opened.clone());
        std::thread::spawn(move || {
            own_runtime().block_on(async move {
                let clients: Vec<_> = (0..2_000)
                    .map(|_| tokio::spawn(slow_client(target, stop.clone(), opened.clone())))
                    .collect();
                while !stop.load(Ordering::Relaxed) {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                for c in clients {
                    c.abort();
                }
            });
        })
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    // A node on another address posts through it all.
    let mut took = Vec::new();
    for i in 0..200 {
        let started = Instant::now();
        let r = s.post_as(Some("n1"), "pump-1", 1, T0 + i).await;
        took.push(started.elapsed());
        assert_eq!(r.status, 200, "post {i}: {}", r.body);
    }
    stop.store(true, Ordering::Relaxed);
    took.sort();
    let p99 = took[took.len() * 99 / 100];
    assert!(p99 < Duration::from_secs(1), "p99 {p99:?}");
    assert_eq!(s.stored("pump-1").await.0, 200);
    // The attack was made: every slow client connected, most of them many times over.
    let made = opened.load(Ordering::Relaxed);
    assert!(made >= 2_000, "{made} connections");
    attacker.join().unwrap();
}
