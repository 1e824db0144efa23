//! What goes over the wire: request and response bodies, queries, validation and error responses.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use aeroguard_detect::Vote;

/// The most readings in one request.
pub const MAX_READINGS: usize = 10_000;

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
    /// Why the member's diagnosis left it out of this vote (frozen, non-finite, alarming alone), if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<String>,
    /// For a yes vote: the reading's values that drove the member's score, as `[index, share]`, the largest
    /// share first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drivers: Vec<(usize, f64)>,
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

/// An error response: the status and a JSON body `{"error": reason}`.
#[derive(Debug)]
pub struct ApiError(pub StatusCode, pub String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, axum::Json(serde_json::json!({ "error": self.1 }))).into_response()
    }
}

/// Query of `/verdicts`.
#[derive(Debug, Deserialize)]
pub struct VerdictsQuery {
    pub series: String,
    pub limit: Option<usize>,
}

/// Query of `/history`.
#[derive(Debug, Deserialize)]
pub struct HistoryQuery {
    pub series: String,
    pub from: Option<i64>,
    pub to: Option<i64>,
    /// Points at most (1,000 unless given; 1 to 10,000).
    pub limit: Option<usize>,
}

/// The longest series name: its model is stored under `<series>.model`, an identifier of at most
/// [`aeroguard_core::MAX_ID_LEN`] characters.
pub const MAX_SERIES_LEN: usize = aeroguard_core::MAX_ID_LEN - ".model".len();

/// Checks a request before anything is stored or scored: the series name, sizes, finite values, times.
pub fn validate(body: &Ingest) -> Result<(), String> {
    // The series' model is stored as `<series>.model`, which must be an identifier too.
    let problem = aeroguard_core::identifier_problem(&body.series)
        .or((body.series.len() > MAX_SERIES_LEN).then_some("it is longer than 122 characters"));
    if let Some(problem) = problem {
        return Err(format!(
            "series {:?}: {problem} (use 1-{MAX_SERIES_LEN} letters, digits, '_', '.', ':' or '-')",
            body.series.chars().take(160).collect::<String>()
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
        if i > 0 && r.at <= body.readings[i - 1].at {
            return Err(format!(
                "readings[{i}].at: {} is not after readings[{}].at {} (readings go oldest first, one per time)",
                r.at,
                i - 1,
                body.readings[i - 1].at
            ));
        }
    }
    Ok(())
}

/// The vote's name as `/verdicts` and `/metrics` show it.
pub fn vote_name(v: &Vote) -> &'static str {
    match v {
        Vote::Yes => "yes",
        Vote::No => "no",
        Vote::Abstained(_) => "abstained",
        Vote::Failed(_) => "failed",
    }
}
