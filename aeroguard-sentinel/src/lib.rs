//! # aeroguard-sentinel
//!
//! The analysis service: fused readings come in over HTTP, the M-of-N ensemble scores
//! them, the history keeps them (fenced by the posting leader's token), and Prometheus reads the counters.
//!
//! Every route but `/health` needs an API key (`Authorization: Bearer <key>`, see [`ApiKeys`]) unless the
//! service runs insecure; `/ingest` needs a node's key, and with [`Grants`] the posted token must be the grant
//! that node holds in the series' election now (a forged or stale token is refused and raises no fence).
//!
//! | route | what |
//! |---|---|
//! | `POST /ingest` | `{"series": "pump-1", "token": 7, "readings": [{"at": 1700000000000, "values": [4.01, 60.2, 12.3]}]}`; bad input is a 400 with the reason, no or an unknown key a 401, a reader's key or another node's election a 403, a stale or forged token a 409, a body over 1 MiB a 413, a series past the limit, or a key over its rate, a 429 (with `Retry-After`) |
//! | `GET /verdicts?series=..&limit=..` | the latest verdicts with every member's vote, read from the store (what any instance scored, before or after a restart) |
//! | `GET /history?series=..&from=..&to=..&limit=..` | stored points, times in ms, oldest first, 1,000 a page unless `limit` says (at most 10,000); a full page names the next page's `from` in the `aeroguard-next-from` header |
//! | `GET /health` | liveness and what the service holds |
//! | `GET /metrics` | Prometheus text: ingested and rejected counts, alarms, votes per member, ingest latency |
//!
//! Per series, the first `train_rows` readings train its model ([`SeriesModel`]: by default the classic
//! ensemble, `EnsembleRecipe::default()`; or the surprise detector for single metrics); verdicts follow from
//! then on. The fitted model is stored beside the series (in `<series>.model`, fenced like the
//! points), and each verdict with its vote record in the series' points, so a restarted service (or another
//! instance over the same store) resumes scoring without retraining, and skips readings at or before the last
//! time the store holds.
//!
//! ```
//! # tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use aeroguard_consensus::history::MemoryHistory;
//! use aeroguard_sentinel::{Sentinel, SentinelOptions, client, router, serve};
//!
//! // Insecure (no keys) and in memory: for a closed test network only.
//! let service = Sentinel::new(Arc::new(MemoryHistory::new()), "memory", SentinelOptions::new(None, 50));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let addr = listener.local_addr()?.to_string();
//! tokio::spawn(serve(listener, router(service), Default::default()));
//! let rows: Vec<String> = (0..60)
//!     .map(|i| format!(r#"{{"at":{},"values":[{},{}]}}"#, 1_700_000_000_000i64 + i * 1000, 4.0 + (i % 7) as f64 * 0.01, 60.0))
//!     .collect();
//! let body = format!(r#"{{"series":"pump-1","token":1,"readings":[{}]}}"#, rows.join(","));
//! let answer = client::request(&addr, "POST", "/ingest", Some(body.as_bytes()), &[]).await?;
//! assert_eq!(answer.status, 200, "{}", answer.body);
//! assert!(answer.body.contains(r#""accepted":60"#), "{}", answer.body);
//! # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
//! ```
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::Arc;

use aeroguard_consensus::history::HistoryStore;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::{get, post};
use tokio::sync::Mutex;

mod api;
pub mod client;
mod error;
mod fit;
mod guard;
pub mod history;
mod ingest;
mod keys;
pub mod logging;
mod metrics;
mod rate;
mod record;
mod routes;
mod series;
mod serve;
mod taken;

pub use error::{Error, Result};

pub use api::{
    ApiError, Ingest, IngestReading, MAX_READINGS, MAX_SERIES_LEN, MemberVote, VerdictOut, validate,
};
pub use fit::SeriesModel;
pub use guard::{Grants, INSECURE};
pub use keys::{ApiKeys, Caller, MAX_KEY_LEN, MAX_KEYS, Role, key_line, new_key};
pub use metrics::Metrics;
pub use rate::{MAX_CALLERS, RateLimit};
pub use routes::{HISTORY_PAGE, NEXT_FROM};
pub use series::{KEPT, Scored, Series, SeriesError, StoredModel, model_series, verdict_of};
pub use serve::{BACKLOG, Limits, bind, serve};
pub use taken::{Arrival, OutOfOrder, RESEND_WINDOW, Taken};

/// The fewest training readings per series.
pub const MIN_TRAIN_ROWS: usize = 50;

/// How far ahead of the service's clock a reading's time may be, by default.
pub const DEFAULT_MAX_AHEAD: std::time::Duration = std::time::Duration::from_secs(5);

/// The largest request body accepted.
pub const MAX_BODY: usize = 1 << 20;

/// How the service runs: training, limits, who may call it and where grants are checked.
#[derive(Debug, Clone)]
pub struct SentinelOptions {
    /// Readings per series that train its model (at least [`MIN_TRAIN_ROWS`], and at least what the model
    /// needs: [`SentinelOptions::check`]).
    pub train_rows: usize,
    /// The most series held; a new series past it is refused (429). Every metric labelled by series is
    /// bounded by it too.
    pub max_series: usize,
    /// The accepted keys; `None` runs the service insecure (anyone may call it, as [`INSECURE`]).
    pub keys: Option<ApiKeys>,
    /// Where posted tokens are checked against the current grant; `None`: against the highest token seen
    /// (the history's fence), from authenticated nodes only.
    pub grants: Option<Grants>,
    /// What each series fits once trained ([`SeriesModel`]; by default the classic ensemble).
    pub model: SeriesModel,
    /// How far ahead of the service's clock a reading's time may be; a reading further ahead is refused
    /// (422), so one clock ahead cannot stop a series for every later leader. 5 s by default.
    pub max_ahead: std::time::Duration,
    /// Requests a second each key may make (and each address calling without a key); over it, 429 with
    /// `Retry-After`. `None`: no limit (a load generator measuring capacity). [`RateLimit::default`] unless set.
    pub rate: Option<RateLimit>,
}

impl SentinelOptions {
    /// Options with API keys `keys` (`None` for insecure), training on `train_rows`, 1,000 series at most.
    pub fn new(keys: Option<ApiKeys>, train_rows: usize) -> Self {
        SentinelOptions {
            train_rows: train_rows.max(MIN_TRAIN_ROWS),
            max_series: 1_000,
            keys,
            grants: None,
            model: SeriesModel::default(),
            max_ahead: DEFAULT_MAX_AHEAD,
            rate: Some(RateLimit::default()),
        }
    }

    /// Fails, naming both counts, when `train_rows` is fewer than the model fits on.
    ///
    /// ```
    /// use aeroguard_sentinel::{Error, SentinelOptions, SeriesModel};
    /// let mut options = SentinelOptions::new(None, 120);
    /// options.model = SeriesModel::Surprise(aeroguard_detect::Surprise::builder().build()?);
    /// assert!(matches!(options.check(), Err(Error::TrainingRows { rows: 120, .. })));
    /// # Ok::<(), aeroguard_detect::Error>(())
    /// ```
    pub fn check(&self) -> Result<()> {
        let needed = self.model.rows_needed();
        if self.train_rows < needed {
            return Err(Error::TrainingRows {
                rows: self.train_rows,
                needed,
            });
        }
        Ok(())
    }

    /// Checks posted tokens against `grants`.
    pub fn with_grants(mut self, grants: Grants) -> Self {
        self.grants = Some(grants);
        self
    }
}

/// One series' state, locked on its own: requests for different series run in parallel.
type SeriesCell = Arc<Mutex<Series>>;

/// The service's state.
pub struct Sentinel {
    history: Arc<dyn HistoryStore>,
    history_name: &'static str,
    options: SentinelOptions,
    /// Held only to find or add a series; each series has its own lock.
    series: parking_lot::RwLock<BTreeMap<String, SeriesCell>>,
    /// How many held series are still training (`/health` reads it without taking any series' lock).
    training: std::sync::atomic::AtomicUsize,
    /// Each caller's rate, if limited.
    buckets: Option<rate::Buckets>,
    metrics: Metrics,
}

impl std::fmt::Debug for Sentinel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sentinel")
            .field("history", &self.history_name)
            .field("options", &self.options)
            .finish()
    }
}

impl Sentinel {
    /// A service storing into `history` (named in `/health`). A `train_rows` under what the model fits on is
    /// raised to it, so no series ever fails to train for want of rows ([`SentinelOptions::check`] tells a
    /// program that would rather refuse).
    pub fn new(
        history: Arc<dyn HistoryStore>,
        history_name: &'static str,
        mut options: SentinelOptions,
    ) -> Arc<Self> {
        options.train_rows = options.train_rows.max(options.model.rows_needed());
        Arc::new(Sentinel {
            history,
            history_name,
            buckets: options.rate.map(rate::Buckets::new),
            options,
            series: parking_lot::RwLock::new(BTreeMap::new()),
            training: std::sync::atomic::AtomicUsize::new(0),
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
        .layer(axum::middleware::from_fn_with_state(
            sentinel.clone(),
            guard::authenticate,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(sentinel)
}
