//! The analysis service (the seeds' "sentinel"): fused readings come in over HTTP, the M-of-N ensemble scores
//! them, the history keeps them (fenced by the posting leader's token), and Prometheus reads the counters.
//!
//! | route | what |
//! |---|---|
//! | `POST /ingest` | `{"series": "pump-1", "token": 7, "readings": [{"at": 1700000000000, "values": [4.01, 60.2, 12.3]}]}`; bad input is a 400 with the reason, a stale token a 409, a body over 1 MiB a 413 |
//! | `GET /verdicts?series=..&limit=..` | the latest verdicts with every member's vote |
//! | `GET /history?series=..&from=..&to=..` | stored points, times in ms |
//! | `GET /health` | liveness and what the service holds |
//! | `GET /metrics` | Prometheus text: ingested and rejected counts, alarms, votes per member, ingest latency |
//!
//! Per series, the first `train_rows` readings train the ensemble (`EnsembleRecipe::default()`); verdicts
//! follow from then on.

use std::collections::BTreeMap;
use std::sync::Arc;

use aeroguard_consensus::history::HistoryStore;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::{get, post};
use tokio::sync::Mutex;

mod api;
mod metrics;
mod routes;
mod series;

pub use api::{ApiError, Ingest, IngestReading, MAX_READINGS, MemberVote, VerdictOut, validate};
pub use metrics::Metrics;
pub use series::{KEPT, Scored, Series, SeriesError};

/// The largest request body accepted.
pub const MAX_BODY: usize = 1 << 20;

/// The service's state.
pub struct Sentinel {
    history: Arc<dyn HistoryStore>,
    history_name: &'static str,
    train_rows: usize,
    series: Mutex<BTreeMap<String, Series>>,
    metrics: Metrics,
}

impl std::fmt::Debug for Sentinel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sentinel")
            .field("history", &self.history_name)
            .field("train_rows", &self.train_rows)
            .finish()
    }
}

impl Sentinel {
    /// A service storing into `history` (named in `/health`), training each series' ensemble on its first
    /// `train_rows` readings (at least 50).
    pub fn new(history: Arc<dyn HistoryStore>, history_name: &'static str, train_rows: usize) -> Arc<Self> {
        Arc::new(Sentinel {
            history,
            history_name,
            train_rows: train_rows.max(50),
            series: Mutex::new(BTreeMap::new()),
            metrics: Metrics::new(),
        })
    }

    fn reject(&self, status: StatusCode, reason: &'static str, message: String) -> ApiError {
        self.metrics.rejected(reason);
        ApiError(status, message)
    }
}

/// The routes.
pub fn router(sentinel: Arc<Sentinel>) -> Router {
    Router::new()
        .route("/ingest", post(routes::ingest))
        .route("/verdicts", get(routes::verdicts))
        .route("/history", get(routes::history))
        .route("/health", get(routes::health))
        .route("/metrics", get(routes::metrics_text))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(sentinel)
}
