//! The route handlers: each parses, asks the per-series logic or the store, and answers.

use std::sync::Arc;

use aeroguard_consensus::history::Point;
use aeroguard_core::Timestamp;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

use super::Sentinel;
use super::api::{ApiError, HistoryQuery, VerdictOut, VerdictsQuery};
use super::series::{KEPT, verdict_of};

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

/// `GET /history`.
pub(super) async fn history(
    State(s): State<Arc<Sentinel>>,
    q: Result<Query<HistoryQuery>, QueryRejection>,
) -> Result<axum::Json<Vec<Point>>, ApiError> {
    let Query(q) = q.map_err(|e| bad_query(&s, &e))?;
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

/// `GET /health`.
pub(super) async fn health(State(s): State<Arc<Sentinel>>) -> axum::Json<serde_json::Value> {
    let cells: Vec<super::SeriesCell> = s.series.read().values().cloned().collect();
    let mut training = 0;
    for cell in &cells {
        training += usize::from(cell.lock().await.is_training());
    }
    axum::Json(serde_json::json!({
        "status": "ok",
        "history": s.history_name,
        "series": cells.len(),
        "training": training,
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
