//! The route handlers: each parses, asks the per-series logic or the store, and answers.

use std::sync::Arc;

use aeroguard_consensus::FencingToken;
use aeroguard_consensus::history::{Point, Writer};
use aeroguard_core::Timestamp;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Extension, Query, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

use super::Sentinel;
use super::api::{ApiError, HistoryQuery, Ingest, VerdictOut, VerdictsQuery, validate};
use super::keys::Caller;
use super::series::{KEPT, Series, SeriesError, StoredModel, model_series, verdict_of};

/// A series new to this process, resumed from the store: its model (if it was fitted) and its newest time.
async fn resume(s: &Sentinel, name: &str) -> Result<Series, ApiError> {
    let unavailable =
        |e: aeroguard_consensus::Error| s.reject(StatusCode::SERVICE_UNAVAILABLE, "history", e.to_string());
    let model = s
        .history
        .latest(&model_series(name), 1)
        .await
        .map_err(unavailable)?;
    let stored = model
        .last()
        .and_then(|p| serde_json::from_value::<StoredModel>(p.detail.clone()?).ok());
    let last = s.history.latest(name, 1).await.map_err(unavailable)?;
    Series::resume(stored.as_ref(), last.last().map(|p| p.at.as_millis()))
        .map_err(|e| s.reject(StatusCode::INTERNAL_SERVER_ERROR, "model", e.to_string()))
}

/// The series' state: held already, or resumed from the store and added (within the series limit).
async fn series_cell(s: &Sentinel, name: &str) -> Result<super::SeriesCell, ApiError> {
    if let Some(cell) = s.series.read().get(name) {
        return Ok(cell.clone());
    }
    let too_many = |held: usize| {
        s.reject(
            StatusCode::TOO_MANY_REQUESTS,
            "series_limit",
            format!(
                "series limit reached: the service holds {held} series (--max-series); {name} is not taken"
            ),
        )
    };
    let held = s.series.read().len();
    if held >= s.options.max_series {
        return Err(too_many(held));
    }
    // New to this process (a restart, or another instance's series): its model and last time from the store.
    let resumed = resume(s, name).await?.with_model(s.options.model.clone());
    let mut all = s.series.write();
    if let Some(cell) = all.get(name) {
        // Another request added it meanwhile: that one is the series.
        return Ok(cell.clone());
    }
    if all.len() >= s.options.max_series {
        return Err(too_many(all.len()));
    }
    let cell = Arc::new(tokio::sync::Mutex::new(resumed));
    all.insert(name.to_string(), cell.clone());
    Ok(cell)
}

/// `POST /ingest`.
pub(super) async fn ingest(
    State(s): State<Arc<Sentinel>>,
    Extension(caller): Extension<Caller>,
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
    // The grant before anything else: a forged or stale token touches nothing, not even the fence.
    if let Some(grants) = &s.options.grants {
        grants.check(&caller, &req.series, req.token).await.map_err(|e| {
            let reason = if e.0 == StatusCode::FORBIDDEN {
                "forbidden"
            } else {
                "fenced"
            };
            s.reject(e.0, reason, e.1)
        })?;
    }
    let cell = series_cell(&s, &req.series).await?;
    let mut series = cell.lock().await;
    series
        .check_width(&req)
        .map_err(|e| s.reject(StatusCode::BAD_REQUEST, "invalid", e.to_string()))?;
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
    // Fitting an ensemble takes a while (seconds for the full one): off the runtime's workers when it can.
    let train_rows = s.options.train_rows;
    let scored = if series.fits_with(req.readings.len(), train_rows)
        && tokio::runtime::Handle::current().runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread
    {
        tokio::task::block_in_place(|| series.ingest(&req.readings, train_rows))
    } else {
        series.ingest(&req.readings, train_rows)
    };
    let scored = scored.map_err(|e| match e {
        SeriesError::Training(_) => s.reject(StatusCode::UNPROCESSABLE_ENTITY, "training", e.to_string()),
        SeriesError::Width { .. } => s.reject(StatusCode::BAD_REQUEST, "invalid", e.to_string()),
        SeriesError::Model(_) => s.reject(StatusCode::INTERNAL_SERVER_ERROR, "model", e.to_string()),
    })?;
    // Points scored earlier that the history could not take go first; if it cannot take them now either, they
    // wait in the series (the readings are already taken: a re-send is skipped and stores them then).
    let points = series.to_store(scored.points);
    let writer = Writer::new(FencingToken(req.token), caller.identity.as_str());
    let stored = s.history.append(&req.series, &writer, &points).await;
    stored.map_err(|e| match e {
        aeroguard_consensus::Error::Fenced { .. } | aeroguard_consensus::Error::FenceHeld { .. } => {
            s.reject(StatusCode::CONFLICT, "fenced", e.to_string())
        }
        other => {
            let lost = series.keep_unsaved(points);
            if lost > 0 {
                tracing::warn!(
                    "{}: {lost} scored points dropped, the history is unavailable",
                    req.series
                );
            }
            s.reject(StatusCode::SERVICE_UNAVAILABLE, "history", other.to_string())
        }
    })?;
    // A newly fitted ensemble goes to the store, so a restart resumes scoring without retraining (if the store
    // cannot take it now, the next request tries again).
    if let Some(model) = series.model_to_store() {
        let model = model.map_err(|e| s.reject(StatusCode::INTERNAL_SERVER_ERROR, "model", e.to_string()))?;
        let at = Timestamp::from_millis(series.last_at().unwrap_or(0));
        let point = serde_json::to_value(&model)
            .map(|detail| Point::new(at, model.width as f64).with_detail(detail))
            .map_err(|e| s.reject(StatusCode::INTERNAL_SERVER_ERROR, "model", e.to_string()))?;
        match s
            .history
            .append(&model_series(&req.series), &writer, &[point])
            .await
        {
            Ok(()) => series.model_stored(),
            Err(e) => tracing::warn!("{}: the model could not be stored yet: {e}", req.series),
        }
    }
    let alarms = scored.verdicts.iter().filter(|v| v.alarm).count();
    s.metrics
        .ingested(&req.series, (req.readings.len() - scored.skipped) as u64);
    s.metrics.skipped(&req.series, scored.skipped as u64);
    s.metrics.alarms(&req.series, alarms as u64);
    // One count per (member, vote) of the request, not one per row.
    let mut votes: Vec<(&str, &str, u64)> = Vec::new();
    for mv in scored.verdicts.iter().flat_map(|v| &v.members) {
        match votes.iter_mut().find(|(m, v, _)| *m == mv.name && *v == mv.vote) {
            Some(seen) => seen.2 += 1,
            None => votes.push((&mv.name, &mv.vote, 1)),
        }
    }
    for (member, vote, n) in votes {
        s.metrics.votes_n(&req.series, member, vote, n);
    }
    s.metrics.observe_latency(started.elapsed().as_secs_f64());
    Ok(axum::Json(serde_json::json!({
        "accepted": req.readings.len() - scored.skipped,
        "skipped": scored.skipped,
        "scored": scored.verdicts.len(),
        "alarms": alarms,
        "training": series.is_training(),
    })))
}

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
