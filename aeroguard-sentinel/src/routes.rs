//! The route handlers: each parses, asks the per-series logic or the store, and answers.

use std::sync::Arc;

use aeroguard_core::Timestamp;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

use super::Sentinel;
use super::api::{ApiError, HistoryQuery, VerdictOut, VerdictsQuery};
use super::series::{KEPT, verdict_of};
use aeroguard_consensus::history::MAX_LATEST;

/// The points one `/history` request returns unless it asks for fewer or more.
pub const HISTORY_PAGE: usize = 1_000;

/// The header of a full `/history` page: the `from` of the next page.
pub const NEXT_FROM: &str = "aeroguard-next-from";

pub(super) use super::ingest::ingest;

/// A query string that does not parse: a 400 with the reason, counted.
fn bad_query(s: &Sentinel, e: &QueryRejection) -> ApiError {
    s.reject(
        StatusCode::BAD_REQUEST,
        "query",
        format!("query: {}", e.body_text()),
    )
}

/// `GET /verdicts`.
pub(super) async fn verdicts(
    State(s): State<Arc<Sentinel>>,
    q: Result<Query<VerdictsQuery>, QueryRejection>,
) -> Result<axum::Json<Vec<VerdictOut>>, ApiError> {
    let Query(q) = q.map_err(|e| bad_query(&s, &e))?;
    // From the store, so what any instance scored, before or after a restart, is there.
    let points = s
        .history
        .latest(&q.series, q.limit.unwrap_or(100).min(KEPT))
        .await
        .map_err(|e| match e {
            aeroguard_consensus::Error::InvalidName { .. }
            | aeroguard_consensus::Error::InvalidParameter { .. } => {
                s.reject(StatusCode::BAD_REQUEST, "query", e.to_string())
            }
            other => s.reject(StatusCode::SERVICE_UNAVAILABLE, "history", other.to_string()),
        })?;
    if points.is_empty() {
        return Err(ApiError(
            StatusCode::NOT_FOUND,
            format!("no series {:?}", q.series),
        ));
    }
    Ok(axum::Json(points.iter().filter_map(verdict_of).collect()))
}

/// `GET /history`: the oldest `limit` points of the range (1,000 unless given, at most 10,000). A full page
/// names where the next starts in the `aeroguard-next-from` header.
pub(super) async fn history(
    State(s): State<Arc<Sentinel>>,
    q: Result<Query<HistoryQuery>, QueryRejection>,
) -> Result<axum::response::Response, ApiError> {
    let Query(q) = q.map_err(|e| bad_query(&s, &e))?;
    let limit = q.limit.unwrap_or(HISTORY_PAGE);
    if limit == 0 || limit > MAX_LATEST {
        return Err(s.reject(
            StatusCode::BAD_REQUEST,
            "query",
            format!("limit: {limit}; give 1 to {MAX_LATEST} points a request (page on with `from`)"),
        ));
    }
    let from = Timestamp::from_millis(q.from.unwrap_or(0));
    let to = Timestamp::from_millis(q.to.unwrap_or(i64::MAX / 2));
    let points = s
        .history
        .range_first(&q.series, from, to, limit)
        .await
        .map_err(|e| match e {
            aeroguard_consensus::Error::InvalidName { .. }
            | aeroguard_consensus::Error::InvalidParameter { .. } => {
                s.reject(StatusCode::BAD_REQUEST, "query", e.to_string())
            }
            other => s.reject(StatusCode::SERVICE_UNAVAILABLE, "history", other.to_string()),
        })?;
    let next = (points.len() == limit)
        .then(|| points.last().map(|p| p.at.as_millis().saturating_add(1)))
        .flatten();
    let mut response = axum::Json(points).into_response();
    if let Some(v) = next.and_then(|n| header::HeaderValue::from_str(&n.to_string()).ok()) {
        response.headers_mut().insert(NEXT_FROM, v);
    }
    Ok(response)
}

/// `GET /health`: what the service holds, read without taking any series' lock.
pub(super) async fn health(State(s): State<Arc<Sentinel>>) -> axum::Json<serde_json::Value> {
    let series = s.series.read().len();
    axum::Json(serde_json::json!({
        "status": "ok",
        "history": s.history_name,
        "series": series,
        "training": s.training.load(std::sync::atomic::Ordering::Relaxed),
    }))
}

/// `GET /metrics`.
pub(super) async fn metrics_text(State(s): State<Arc<Sentinel>>) -> impl IntoResponse {
    let text = s.metrics.render();
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
}
