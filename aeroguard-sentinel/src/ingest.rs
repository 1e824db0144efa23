//! `POST /ingest`: the body parsed and validated, the grant and the fence checked, the readings scored, the
//! points and a newly fitted model stored, the metrics counted. Each step refuses with its own status and
//! reason, and a refusal changes nothing.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use aeroguard_consensus::FencingToken;
use aeroguard_consensus::history::{Point, Writer};
use aeroguard_core::Timestamp;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Extension, State};
use axum::http::StatusCode;

use super::Sentinel;
use super::api::{ApiError, Ingest, validate};
use super::keys::Caller;
use super::series::{Scored, Series, SeriesError, StoredModel, model_series};

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
    let recent = s
        .history
        .latest(name, crate::RESEND_WINDOW)
        .await
        .map_err(unavailable)?;
    Series::resume(stored.as_ref(), &recent)
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
    if resumed.is_training() {
        s.training.fetch_add(1, Ordering::Relaxed);
    }
    let cell = Arc::new(tokio::sync::Mutex::new(resumed));
    all.insert(name.to_string(), cell.clone());
    Ok(cell)
}

/// The request, parsed and validated.
fn parse(s: &Sentinel, body: Result<Bytes, BytesRejection>) -> Result<Ingest, ApiError> {
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
    Ok(req)
}

/// The grant, before anything else: a forged or stale token touches nothing, not even the fence.
async fn check_grant(s: &Sentinel, caller: &Caller, req: &Ingest) -> Result<(), ApiError> {
    let Some(grants) = &s.options.grants else {
        return Ok(());
    };
    grants.check(caller, &req.series, req.token).await.map_err(|e| {
        let reason = if e.0 == StatusCode::FORBIDDEN {
            "forbidden"
        } else {
            "fenced"
        };
        s.reject(e.0, reason, e.1)
    })
}

/// Readings stamped further ahead of this service's clock than `max_ahead`: refused, naming the bound, before
/// anything is taken (a series takes only readings after its last time, so one reading from a clock ahead
/// would otherwise stop it for every later leader).
fn check_clock(s: &Sentinel, req: &Ingest) -> Result<(), ApiError> {
    let now = Timestamp::now().as_millis();
    let bound = i64::try_from(s.options.max_ahead.as_millis()).unwrap_or(i64::MAX);
    let ahead = req
        .readings
        .iter()
        .enumerate()
        .find(|(_, r)| r.at > now.saturating_add(bound));
    match ahead {
        Some((i, r)) => Err(s.reject(
            StatusCode::UNPROCESSABLE_ENTITY,
            "ahead",
            format!(
                "readings[{i}].at: {} is {} ms ahead of this service's clock, more than the {bound} ms accepted \
                 (--max-ahead-ms); check the sender's clock; nothing was taken",
                r.at,
                r.at - now
            ),
        )),
        None => Ok(()),
    }
}

/// The fence: a stale leader's readings touch neither the history nor the ensemble's state.
async fn check_fence(s: &Sentinel, req: &Ingest) -> Result<(), ApiError> {
    let highest = s
        .history
        .fence(&req.series)
        .await
        .map_err(|e| s.reject(StatusCode::SERVICE_UNAVAILABLE, "history", e.to_string()))?;
    match highest {
        Some(highest) if req.token < highest.0 => Err(s.reject(
            StatusCode::CONFLICT,
            "fenced",
            format!(
                "token {} is older than {} already seen for {}",
                req.token, highest.0, req.series
            ),
        )),
        _ => Ok(()),
    }
}

/// The store's points at `times` (readings older than what the series keeps in memory, to tell a re-send
/// from a reading out of order): one read per time, at most one request's readings.
async fn stored_at(s: &Sentinel, series: &str, times: &[i64]) -> Result<Vec<Point>, ApiError> {
    let mut out = Vec::new();
    for at in times {
        let at = Timestamp::from_millis(*at);
        let points = s
            .history
            .range(series, at, at)
            .await
            .map_err(|e| s.reject(StatusCode::SERVICE_UNAVAILABLE, "history", e.to_string()))?;
        out.extend(points);
    }
    Ok(out)
}

/// Scores the readings (training first, until the series has its rows). Scoring up to 10,000 rows, or fitting
/// an ensemble (seconds for the full one), runs off the runtime's workers when the runtime has several, so
/// the connections of other callers are served meanwhile.
fn score(s: &Sentinel, series: &mut Series, req: &Ingest, stored: &[Point]) -> Result<Scored, ApiError> {
    let train_rows = s.options.train_rows;
    let was_training = series.is_training();
    let scored =
        if tokio::runtime::Handle::current().runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread {
            tokio::task::block_in_place(|| series.ingest_with_stored(&req.readings, train_rows, stored))
        } else {
            series.ingest_with_stored(&req.readings, train_rows, stored)
        };
    if was_training && !series.is_training() {
        s.training.fetch_sub(1, Ordering::Relaxed);
    }
    scored.map_err(|e| match e {
        SeriesError::Training(_) => s.reject(StatusCode::UNPROCESSABLE_ENTITY, "training", e.to_string()),
        SeriesError::Width { .. } => s.reject(StatusCode::BAD_REQUEST, "invalid", e.to_string()),
        SeriesError::Model(_) => s.reject(StatusCode::INTERNAL_SERVER_ERROR, "model", e.to_string()),
        SeriesError::OutOfOrder(_) => s.reject(StatusCode::CONFLICT, "out_of_order", e.to_string()),
    })
}

/// Stores the scored points, fenced by the poster's token. Points scored earlier that the history could not
/// take go first; if it cannot take them now either, they wait in the series (the readings are already taken:
/// a re-send is skipped and stores them then).
async fn store(
    s: &Sentinel,
    series: &mut Series,
    req: &Ingest,
    writer: &Writer,
    points: Vec<Point>,
) -> Result<(), ApiError> {
    let points = series.to_store(points);
    s.history
        .append(&req.series, writer, &points)
        .await
        .map_err(|e| match e {
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
        })
}

/// A newly fitted model goes to the store, so a restart resumes scoring without retraining (if the store cannot
/// take it now, the next request tries again).
async fn store_model(
    s: &Sentinel,
    series: &mut Series,
    req: &Ingest,
    writer: &Writer,
) -> Result<(), ApiError> {
    let Some(model) = series.model_to_store() else {
        return Ok(());
    };
    let model = model.map_err(|e| s.reject(StatusCode::INTERNAL_SERVER_ERROR, "model", e.to_string()))?;
    let at = Timestamp::from_millis(series.last_at().unwrap_or(0));
    let point = serde_json::to_value(&model)
        .map(|detail| Point::new(at, model.width as f64).with_detail(detail))
        .map_err(|e| s.reject(StatusCode::INTERNAL_SERVER_ERROR, "model", e.to_string()))?;
    match s
        .history
        .append(&model_series(&req.series), writer, &[point])
        .await
    {
        Ok(()) => series.model_stored(),
        Err(e) => tracing::warn!("{}: the model could not be stored yet: {e}", req.series),
    }
    Ok(())
}

/// Counts the request in the metrics: readings taken and skipped, alarms, and one count per (member, vote) of
/// the request, not one per row.
fn count(s: &Sentinel, req: &Ingest, scored: &Scored, alarms: usize) {
    s.metrics
        .ingested(&req.series, (req.readings.len() - scored.skipped) as u64);
    s.metrics.skipped(&req.series, scored.skipped as u64);
    s.metrics.alarms(&req.series, alarms as u64);
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
    if let Some(i) = &scored.integrity {
        s.metrics.integrity(&req.series, i);
    }
}

/// `POST /ingest`.
pub(super) async fn ingest(
    State(s): State<Arc<Sentinel>>,
    Extension(caller): Extension<Caller>,
    body: Result<Bytes, BytesRejection>,
) -> Result<axum::Json<serde_json::Value>, ApiError> {
    let started = std::time::Instant::now();
    let req = parse(&s, body)?;
    check_grant(&s, &caller, &req).await?;
    check_clock(&s, &req)?;
    let cell = series_cell(&s, &req.series).await?;
    let mut series = cell.lock().await;
    series
        .check_width(&req)
        .map_err(|e| s.reject(StatusCode::BAD_REQUEST, "invalid", e.to_string()))?;
    check_fence(&s, &req).await?;
    let stored = stored_at(&s, &req.series, &series.to_look_up(&req.readings)).await?;
    let mut scored = score(&s, &mut series, &req, &stored)?;
    let writer = Writer::new(FencingToken(req.token), caller.identity.as_str());
    store(&s, &mut series, &req, &writer, std::mem::take(&mut scored.points)).await?;
    store_model(&s, &mut series, &req, &writer).await?;
    let alarms = scored.verdicts.iter().filter(|v| v.alarm).count();
    count(&s, &req, &scored, alarms);
    s.metrics.observe_latency(started.elapsed().as_secs_f64());
    Ok(axum::Json(serde_json::json!({
        "accepted": req.readings.len() - scored.skipped,
        "skipped": scored.skipped,
        "scored": scored.verdicts.len(),
        "alarms": alarms,
        "training": series.is_training(),
    })))
}
