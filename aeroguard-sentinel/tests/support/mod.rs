//! A service over real HTTP on 127.0.0.1 for the tests: three nodes' keys and a reader's, an in-memory history.
#![allow(dead_code)]

use std::sync::Arc;

use aeroguard_consensus::history::{HistoryStore, MemoryHistory};
use aeroguard_sentinel::client::{Response, request};
use aeroguard_sentinel::{
    ApiKeys, Grants, Limits, Role, Sentinel, SentinelOptions, key_line, new_key, router, serve,
};

pub struct Service {
    pub addr: String,
    pub history: Arc<MemoryHistory>,
    pub keys: std::collections::HashMap<&'static str, String>,
}

/// A service checking each posted token against the grant of the series' election (`{series}-leader`) on a
/// memory cluster, and the coordinators of nodes n1 and n2 on it.
pub async fn granted() -> (
    Service,
    Arc<aeroguard_consensus::memory::MemoryCoordinator>,
    Arc<aeroguard_consensus::memory::MemoryCoordinator>,
) {
    let cluster = aeroguard_consensus::memory::MemoryCluster::new();
    let n1 = cluster.connect("n1".parse().unwrap()).unwrap();
    let n2 = cluster.connect("n2".parse().unwrap()).unwrap();
    let watcher = cluster.connect("sentinel-service".parse().unwrap()).unwrap();
    let s = start(
        Some(Grants::new(watcher, "{series}-leader")),
        100,
        Limits::default(),
    )
    .await;
    (s, n1, n2)
}

pub async fn start(grants: Option<Grants>, max_series: usize, limits: Limits) -> Service {
    start_with(Arc::new(MemoryHistory::new()), grants, max_series, limits).await
}

/// A service over `history` (another instance over the same store: a restart).
pub async fn start_with(
    history: Arc<MemoryHistory>,
    grants: Option<Grants>,
    max_series: usize,
    limits: Limits,
) -> Service {
    start_tuned(history, limits, |o| {
        o.max_series = max_series;
        o.grants = grants;
    })
    .await
}

/// A service over `history` with its options as `tune` leaves them.
pub async fn start_tuned(
    history: Arc<MemoryHistory>,
    limits: Limits,
    tune: impl FnOnce(&mut SentinelOptions),
) -> Service {
    let mut keys = std::collections::HashMap::new();
    let mut file = String::new();
    for (identity, role) in [
        ("n1", Role::Node),
        ("n2", Role::Node),
        ("n3", Role::Node),
        ("prom", Role::Reader),
    ] {
        let key = new_key();
        file.push_str(&key_line(identity, role, &key));
        file.push('\n');
        keys.insert(identity, key);
    }
    let mut options = SentinelOptions::new(Some(ApiKeys::parse(&file).unwrap()), 60);
    tune(&mut options);
    let listener = aeroguard_sentinel::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let service = Sentinel::new(history.clone(), "memory", options);
    tokio::spawn(async move { serve(listener, router(service), limits).await.unwrap() });
    Service { addr, history, keys }
}

impl Service {
    /// Posts one reading at `at`, its values a function of `at` (so a re-send carries the same values).
    pub async fn post_as(&self, who: Option<&str>, series: &str, token: u64, at: i64) -> Response {
        let values = serde_json::json!([4.0 + (at % 7) as f64 * 0.01, 60.0, 12.0]);
        self.post_readings(
            who,
            series,
            token,
            serde_json::json!([{"at": at, "values": values}]),
        )
        .await
    }

    /// Posts `readings` (a JSON array of `{"at", "values"}`).
    pub async fn post_readings(
        &self,
        who: Option<&str>,
        series: &str,
        token: u64,
        readings: serde_json::Value,
    ) -> Response {
        let body = serde_json::json!({"series": series, "token": token, "readings": readings}).to_string();
        let bearer = who.map(|w| format!("Bearer {}", self.keys.get(w).map_or(w, String::as_str)));
        let headers: Vec<(&str, &str)> = bearer.iter().map(|b| ("authorization", b.as_str())).collect();
        request(&self.addr, "POST", "/ingest", Some(body.as_bytes()), &headers)
            .await
            .unwrap()
    }

    pub async fn get_as(&self, who: Option<&str>, path: &str) -> Response {
        let bearer = who.map(|w| format!("Bearer {}", self.keys[w]));
        let headers: Vec<(&str, &str)> = bearer.iter().map(|b| ("authorization", b.as_str())).collect();
        request(&self.addr, "GET", path, None, &headers).await.unwrap()
    }

    pub async fn stored(&self, series: &str) -> (usize, Option<u64>) {
        let points = self
            .history
            .range(
                series,
                aeroguard_core::Timestamp::from_millis(0),
                aeroguard_core::Timestamp::from_millis(i64::MAX / 2),
            )
            .await
            .unwrap()
            .len();
        let fence = self.history.fence(series).await.unwrap().map(|t| t.0);
        (points, fence)
    }
}
