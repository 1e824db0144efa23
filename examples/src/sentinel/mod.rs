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

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use aeroguard_consensus::FencingToken;
use aeroguard_consensus::history::{HistoryStore, Point};
use aeroguard_core::Timestamp;
use aeroguard_detect::{EnsembleRecipe, Model, Vote, Voter};
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

mod metrics;

pub use metrics::Metrics;

/// The largest request body accepted.
pub const MAX_BODY: usize = 1 << 20;
/// The most readings in one request.
pub const MAX_READINGS: usize = 10_000;
/// Verdicts kept per series for `/verdicts`.
const KEPT: usize = 1_000;

/// One fused reading posted to `/ingest`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestReading {
    /// Milliseconds since the Unix epoch.
    pub at: i64,
    /// The fused values (the same number for every reading of a series).
    pub values: Vec<f64>,
}

/// The body of `POST /ingest`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ingest {
    /// The series.
    pub series: String,
    /// The posting leader's fencing token.
    pub token: u64,
    /// The readings, oldest first.
    pub readings: Vec<IngestReading>,
}

/// A member's vote, as `/verdicts` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberVote {
    /// The member.
    pub name: String,
    /// Its score, if it scored.
    pub score: Option<f64>,
    /// Its threshold.
    pub threshold: f64,
    /// `yes`, `no`, `abstained` or `failed`.
    pub vote: String,
}

/// One scored reading.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerdictOut {
    /// When it was measured.
    pub at: i64,
    /// The values.
    pub values: Vec<f64>,
    /// The ensemble's alarm.
    pub alarm: bool,
    /// Every member's vote.
    pub members: Vec<MemberVote>,
}

#[derive(Default)]
struct Series {
    width: usize,
    training: Vec<Vec<f64>>,
    voter: Option<Voter<Model>>,
    verdicts: VecDeque<VerdictOut>,
}

/// The service's state.
pub struct Sentinel {
    history: Arc<dyn HistoryStore>,
    history_name: &'static str,
    train_rows: usize,
    series: Mutex<BTreeMap<String, Series>>,
    metrics: parking_lot::Mutex<Metrics>,
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
            metrics: parking_lot::Mutex::new(Metrics::default()),
        })
    }

    fn reject(&self, status: StatusCode, reason: &'static str, message: String) -> ApiError {
        *self.metrics.lock().rejected.entry(reason).or_default() += 1;
        ApiError(status, message)
    }
}

/// An error response: the status and a JSON body `{"error": reason}`.
#[derive(Debug)]
pub struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, axum::Json(serde_json::json!({ "error": self.1 }))).into_response()
    }
}

/// The routes.
pub fn router(sentinel: Arc<Sentinel>) -> Router {
    Router::new()
        .route("/ingest", post(ingest))
        .route("/verdicts", get(verdicts))
        .route("/history", get(history))
        .route("/health", get(health))
        .route("/metrics", get(metrics_text))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(sentinel)
}

fn validate(body: &Ingest) -> Result<(), String> {
    if body.series.is_empty()
        || body.series.len() > 128
        || !body
            .series
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.:-".contains(&b))
    {
        return Err(format!(
            "series {:?}: use 1-128 letters, digits, '_', '.', ':' or '-'",
            body.series
        ));
    }
    if body.readings.is_empty() {
        return Err("readings: empty".into());
    }
    if body.readings.len() > MAX_READINGS {
        return Err(format!(
            "readings: {} in one request, at most {MAX_READINGS}",
            body.readings.len()
        ));
    }
    let width = body.readings[0].values.len();
    if width == 0 || width > 64 {
        return Err(format!("readings[0].values: {width} values, expected 1 to 64"));
    }
    for (i, r) in body.readings.iter().enumerate() {
        if r.values.len() != width {
            return Err(format!(
                "readings[{i}].values: {} values, readings[0] has {width}",
                r.values.len()
            ));
        }
        if let Some(j) = r.values.iter().position(|v| !v.is_finite()) {
            return Err(format!("readings[{i}].values[{j}]: not a finite number"));
        }
        if r.at < 0 {
            return Err(format!("readings[{i}].at: {} is before 1970", r.at));
        }
    }
    Ok(())
}

fn vote_name(v: &Vote) -> &'static str {
    match v {
        Vote::Yes => "yes",
        Vote::No => "no",
        Vote::Abstained(_) => "abstained",
        Vote::Failed(_) => "failed",
    }
}

async fn ingest(
    State(s): State<Arc<Sentinel>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<axum::Json<serde_json::Value>, ApiError> {
    let started = std::time::Instant::now();
    let body = body.map_err(|e| {
        let status = e.status();
        let reason = if status == StatusCode::PAYLOAD_TOO_LARGE {
            "too_large"
        } else {
            "unreadable"
        };
        s.reject(status, reason, format!("body: {}", e.body_text()))
    })?;
    let req: Ingest = serde_json::from_slice(&body)
        .map_err(|e| s.reject(StatusCode::BAD_REQUEST, "malformed", format!("body: {e}")))?;
    validate(&req).map_err(|e| s.reject(StatusCode::BAD_REQUEST, "invalid", e))?;
    let mut all = s.series.lock().await;
    let series = all.entry(req.series.clone()).or_default();
    let width = req.readings[0].values.len();
    if series.width != 0 && series.width != width {
        return Err(s.reject(
            StatusCode::BAD_REQUEST,
            "invalid",
            format!(
                "readings: {width} values each, series {} has {}",
                req.series, series.width
            ),
        ));
    }
    // The fence first: a stale leader's readings touch neither the history nor the ensemble's state.
    if let Some(highest) = s
        .history
        .fence(&req.series)
        .await
        .map_err(|e| s.reject(StatusCode::SERVICE_UNAVAILABLE, "history", e.to_string()))?
        && req.token < highest.0
    {
        return Err(s.reject(
            StatusCode::CONFLICT,
            "fenced",
            format!(
                "token {} is older than {} already seen for {}",
                req.token, highest.0, req.series
            ),
        ));
    }
    series.width = width;
    let mut points = Vec::with_capacity(req.readings.len());
    let mut out = Vec::new();
    for r in &req.readings {
        let mut point = Point::new(Timestamp::from_millis(r.at), r.values[0]);
        match series.voter.as_mut() {
            None => {
                series.training.push(r.values.clone());
                if series.training.len() >= s.train_rows {
                    let rows = ndarray::Array2::from_shape_fn((series.training.len(), width), |(i, j)| {
                        series.training[i][j]
                    });
                    let voter = EnsembleRecipe::default().fit(rows.view()).map_err(|e| {
                        s.reject(
                            StatusCode::UNPROCESSABLE_ENTITY,
                            "training",
                            format!("training: {e}"),
                        )
                    })?;
                    series.voter = Some(voter);
                    series.training.clear();
                }
            }
            Some(voter) => {
                let v = voter.update(ndarray::ArrayView1::from(&r.values[..]));
                let verdict = VerdictOut {
                    at: r.at,
                    values: r.values.clone(),
                    alarm: v.alarm,
                    members: v
                        .members
                        .iter()
                        .map(|m| MemberVote {
                            name: m.name.clone(),
                            score: m.score,
                            threshold: m.threshold,
                            vote: vote_name(&m.vote).into(),
                        })
                        .collect(),
                };
                point = point
                    .with_alarm(v.alarm)
                    .with_detail(serde_json::json!({ "values": r.values }));
                out.push(verdict);
            }
        }
        points.push(point);
    }
    s.history
        .append(&req.series, FencingToken(req.token), &points)
        .await
        .map_err(|e| match e {
            aeroguard_consensus::Error::Fenced { .. } => {
                s.reject(StatusCode::CONFLICT, "fenced", e.to_string())
            }
            other => s.reject(StatusCode::SERVICE_UNAVAILABLE, "history", other.to_string()),
        })?;
    let alarms = out.iter().filter(|v| v.alarm).count();
    {
        let mut m = s.metrics.lock();
        *m.ingested.entry(req.series.clone()).or_default() += req.readings.len() as u64;
        *m.alarms.entry(req.series.clone()).or_default() += alarms as u64;
        for v in &out {
            for mv in &v.members {
                *m.votes
                    .entry((req.series.clone(), mv.name.clone(), mv.vote.clone()))
                    .or_default() += 1;
            }
        }
        m.observe_latency(started.elapsed().as_secs_f64());
    }
    for v in &out {
        series.verdicts.push_back(v.clone());
        if series.verdicts.len() > KEPT {
            series.verdicts.pop_front();
        }
    }
    Ok(axum::Json(serde_json::json!({
        "accepted": req.readings.len(),
        "scored": out.len(),
        "alarms": alarms,
        "training": series.voter.is_none(),
    })))
}

/// Query of `/verdicts`.
#[derive(Debug, Deserialize)]
pub struct VerdictsQuery {
    series: String,
    limit: Option<usize>,
}

async fn verdicts(
    State(s): State<Arc<Sentinel>>,
    q: Result<Query<VerdictsQuery>, QueryRejection>,
) -> Result<axum::Json<Vec<VerdictOut>>, ApiError> {
    let Query(q) = q.map_err(|e| {
        s.reject(
            StatusCode::BAD_REQUEST,
            "query",
            format!("query: {}", e.body_text()),
        )
    })?;
    let all = s.series.lock().await;
    let Some(series) = all.get(&q.series) else {
        return Err(ApiError(
            StatusCode::NOT_FOUND,
            format!("no series {:?}", q.series),
        ));
    };
    let limit = q.limit.unwrap_or(100).min(KEPT);
    let skip = series.verdicts.len().saturating_sub(limit);
    Ok(axum::Json(series.verdicts.iter().skip(skip).cloned().collect()))
}

/// Query of `/history`.
#[derive(Debug, Deserialize)]
pub struct HistoryQuery {
    series: String,
    from: Option<i64>,
    to: Option<i64>,
}

async fn history(
    State(s): State<Arc<Sentinel>>,
    q: Result<Query<HistoryQuery>, QueryRejection>,
) -> Result<axum::Json<Vec<Point>>, ApiError> {
    let Query(q) = q.map_err(|e| {
        s.reject(
            StatusCode::BAD_REQUEST,
            "query",
            format!("query: {}", e.body_text()),
        )
    })?;
    let from = Timestamp::from_millis(q.from.unwrap_or(0));
    let to = Timestamp::from_millis(q.to.unwrap_or(i64::MAX / 2));
    s.history
        .range(&q.series, from, to)
        .await
        .map(axum::Json)
        .map_err(|e| match e {
            aeroguard_consensus::Error::InvalidName { .. }
            | aeroguard_consensus::Error::InvalidParameter { .. } => {
                s.reject(StatusCode::BAD_REQUEST, "query", e.to_string())
            }
            other => s.reject(StatusCode::SERVICE_UNAVAILABLE, "history", other.to_string()),
        })
}

async fn health(State(s): State<Arc<Sentinel>>) -> axum::Json<serde_json::Value> {
    let all = s.series.lock().await;
    axum::Json(serde_json::json!({
        "status": "ok",
        "history": s.history_name,
        "series": all.len(),
        "training": all.values().filter(|v| v.voter.is_none()).count(),
    }))
}

async fn metrics_text(State(s): State<Arc<Sentinel>>) -> impl IntoResponse {
    let text = s.metrics.lock().render();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}
