//! Scoring a detector's anomaly scores over a NAB corpus, with the threshold that scores best.

use std::collections::HashMap;

use super::{NabProfile, NabSeries, probation, scaled_sigmoid};
use crate::{Error, Result};

/// A detector's NAB result under one profile.
#[derive(Debug, Clone, PartialEq)]
pub struct NabResult {
    /// The profile's name.
    pub profile: &'static str,
    /// The threshold chosen (detections are rows scoring at or above it); infinite when no detection scores best.
    pub threshold: f64,
    /// The raw score at that threshold.
    pub raw: f64,
    /// The null detector's raw score (`-A_fn` per window).
    pub null: f64,
    /// The perfect detector's raw score.
    pub perfect: f64,
    /// `100 · (raw - null) / (perfect - null)`.
    pub score: f64,
    /// Windows detected, detections outside windows, and windows missed, at that threshold.
    pub tp: usize,
    /// Detections outside windows.
    pub fp: usize,
    /// Windows missed.
    pub fn_: usize,
}

/// Where a scorable row lies, and what a detection there is worth.
#[derive(Debug, Clone, Copy)]
struct Row {
    score: f64,
    /// The window (numbered over the corpus) the row is in, if any.
    window: Option<usize>,
    worth: f64,
}

/// What a detection on each scorable row of `series` is worth (NAB's sweep scores), appended to `out` with
/// the windows numbered from `first_window`; returns how many windows are scored. Rows in probation are left
/// out, and with them the windows that lie wholly in it.
fn rows(
    series: &NabSeries,
    scores: &[f64],
    first_window: usize,
    profile: &NabProfile,
    out: &mut Vec<Row>,
) -> usize {
    let skip = probation(series.values.len());
    let max_tp = scaled_sigmoid(-1.0);
    let mut windows = series.windows.iter().peekable();
    let mut counted = 0;
    // The window the sweep is in: its number (None when it lies in probation), right edge and width.
    let mut current: Option<(Option<usize>, usize, f64)> = None;
    // The right edge and width of the last window passed.
    let mut previous: Option<(usize, f64)> = None;
    for (i, &score) in scores.iter().enumerate() {
        if let Some(&&(start, end)) = windows.peek()
            && start == i
        {
            windows.next();
            let number = (end >= skip).then(|| {
                counted += 1;
                first_window + counted - 1
            });
            current = Some((number, end, (end - start + 1) as f64));
        }
        let (window, worth) = match current {
            Some((number, end, width)) => {
                let position = -((end - i + 1) as f64) / width;
                (number, scaled_sigmoid(position) * profile.tp / max_tp)
            }
            None => {
                let position = match previous {
                    // A one-row window has no width to measure by (NAB divides by zero there): as far as it gets.
                    Some((right, width)) if width > 1.0 => (i - right) as f64 / (width - 1.0),
                    _ => 3.0,
                };
                (None, scaled_sigmoid(position) * profile.fp)
            }
        };
        if i >= skip {
            out.push(Row { score, window, worth });
        }
        if let Some((_, end, width)) = current
            && end == i
        {
            previous = Some((i, width));
            current = None;
        }
    }
    counted
}

/// Scores `scores` (one anomaly score per row of each series) over `series` under `profile`, at the threshold
/// that scores best over the whole corpus.
///
/// Errors: a series whose scores are not one per row, or a score that is NaN.
pub fn score_corpus(series: &[NabSeries], scores: &[Vec<f64>], profile: &NabProfile) -> Result<NabResult> {
    if series.len() != scores.len() {
        return Err(Error::Shape {
            what: "score series",
            expected: series.len(),
            got: scores.len(),
        });
    }
    let mut all = Vec::new();
    let mut windows = 0;
    for (s, sc) in series.iter().zip(scores) {
        if sc.len() != s.values.len() {
            return Err(Error::Shape {
                what: "scores of one series",
                expected: s.values.len(),
                got: sc.len(),
            });
        }
        if let Some(i) = sc.iter().position(|v| v.is_nan()) {
            return Err(Error::Data {
                path: s.name.clone(),
                line: i as u64 + 2,
                reason: "the anomaly score is NaN".into(),
                cause: None,
            });
        }
        windows += rows(s, sc, windows, profile, &mut all);
    }
    let null = -profile.fn_ * windows as f64;
    // The perfect detector: each window's best row (its first scorable one).
    let mut best_worth: HashMap<usize, f64> = HashMap::new();
    for r in &all {
        if let Some(w) = r.window {
            let e = best_worth.entry(w).or_insert(f64::NEG_INFINITY);
            *e = e.max(r.worth);
        }
    }
    let perfect: f64 = best_worth.values().sum::<f64>() - profile.fn_ * (windows - best_worth.len()) as f64;
    // Sweep the threshold down through every distinct score.
    all.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut window_part = vec![-profile.fn_; windows];
    let mut detected = vec![false; windows];
    let mut fp_part = 0.0;
    let (mut tp, mut fp) = (0usize, 0usize);
    let mut best = (null, f64::INFINITY, 0usize, 0usize);
    let mut i = 0;
    while i < all.len() {
        let threshold = all[i].score;
        while i < all.len() && all[i].score == threshold {
            let r = all[i];
            match r.window {
                Some(w) => {
                    if !detected[w] {
                        detected[w] = true;
                        tp += 1;
                    }
                    window_part[w] = window_part[w].max(r.worth);
                }
                None => {
                    fp_part += r.worth;
                    fp += 1;
                }
            }
            i += 1;
        }
        let total = window_part.iter().sum::<f64>() + fp_part;
        if total > best.0 {
            best = (total, threshold, tp, fp);
        }
    }
    let (raw, threshold, tp, fp) = best;
    let span = perfect - null;
    Ok(NabResult {
        profile: profile.name,
        threshold,
        raw,
        null,
        perfect,
        score: if span > 0.0 {
            100.0 * (raw - null) / span
        } else {
            0.0
        },
        tp,
        fp,
        fn_: windows - tp,
    })
}
