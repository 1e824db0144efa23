//! The Numenta Anomaly Benchmark's scoring, by its published rules (Lavin and Ahmad, "Evaluating Real-time
//! Anomaly Detection Algorithms - the Numenta Anomaly Benchmark", 2015; the rules of NAB's `sweeper.py`).
//!
//! - Each labelled anomaly has a **window** of rows (NAB's `combined_windows.json`). The first 15 % of a series
//!   (at most 750 rows) is **probation**: a detector may learn there, and nothing there is scored.
//! - A detection is a row whose anomaly score is at or above the threshold. Inside a window, it is worth
//!   `A_tp · σ(p) / σ(-1)`, where `p` in `[-1, 0)` is its position in the window (`-1` at the first row) and
//!   `σ(p) = 2 / (1 + e^{5p}) - 1`; only a window's best (earliest) detection counts. Outside windows, each
//!   detection costs `A_fp · σ(d)` (negative), `d` being its distance past the last window in window widths
//!   (`σ = -1` from 3 widths on, and before any window). A window without a detection costs `-A_fn`.
//! - One threshold per detector and profile for the whole corpus: the one that scores best.
//! - The total is **normalised**: 0 is the null detector (no detection: `-A_fn` per window), 100 the perfect one
//!   (a detection on the first scorable row of every window).
//!
//! ```
//! use aeroguard_eval::nab::{NabSeries, PROFILES, score_corpus};
//! // 2,000 rows, one window at rows 1,000-1,099 (probation is rows 0-299).
//! let series = NabSeries::from_rows("toy", (0..2000).map(|i| i as f64).collect(), vec![(1000, 1099)])?;
//! let mut perfect = vec![0.0; 2000];
//! perfect[1000] = 1.0;
//! let r = score_corpus(&[series.clone()], &[perfect], &PROFILES[0])?;
//! assert!((r.score - 100.0).abs() < 1e-9);
//! let r = score_corpus(&[series], &[vec![0.0; 2000]], &PROFILES[0])?;
//! assert_eq!(r.score, 0.0, "a detector that never fires scores as the null one");
//! # Ok::<(), aeroguard_eval::Error>(())
//! ```

mod corpus;
mod score;

pub use corpus::{load_category, probation};
pub use score::{NabResult, score_corpus};

/// A NAB cost profile (`config/profiles.json`): the weight of a hit, of a false positive and of a miss.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NabProfile {
    /// The profile's name in NAB's results.
    pub name: &'static str,
    /// `A_tp`.
    pub tp: f64,
    /// `A_fp`.
    pub fp: f64,
    /// `A_fn`.
    pub fn_: f64,
}

/// NAB's three profiles: standard, reward low false positives, reward low false negatives.
pub const PROFILES: [NabProfile; 3] = [
    NabProfile {
        name: "standard",
        tp: 1.0,
        fp: 0.11,
        fn_: 1.0,
    },
    NabProfile {
        name: "reward_low_FP_rate",
        tp: 1.0,
        fp: 0.22,
        fn_: 1.0,
    },
    NabProfile {
        name: "reward_low_FN_rate",
        tp: 1.0,
        fp: 0.11,
        fn_: 2.0,
    },
];

/// NAB's scaled sigmoid of a relative position: about 0.987 at -1 (a window's first row), 0 at its right edge,
/// negative past it, and -1 from 3 window widths on.
///
/// ```
/// use aeroguard_eval::nab::scaled_sigmoid;
/// assert!((scaled_sigmoid(-1.0) - 0.98661).abs() < 1e-5);
/// assert!((scaled_sigmoid(-0.5) - 0.84828).abs() < 1e-5);
/// assert_eq!(scaled_sigmoid(0.0), 0.0);
/// assert_eq!(scaled_sigmoid(3.0), -1.0);
/// ```
pub fn scaled_sigmoid(position: f64) -> f64 {
    if position >= 3.0 {
        -1.0
    } else {
        2.0 / (1.0 + (5.0 * position).exp()) - 1.0
    }
}

/// One labelled NAB series: its values and its anomaly windows as inclusive row ranges.
#[derive(Debug, Clone, PartialEq)]
pub struct NabSeries {
    /// The file, relative to the corpus's `data/` folder (`realKnownCause/nyc_taxi.csv`).
    pub name: String,
    /// The values, one per row.
    pub values: Vec<f64>,
    /// The anomaly windows, as inclusive row ranges in order.
    pub windows: Vec<(usize, usize)>,
}

impl NabSeries {
    /// A series from its rows and windows; windows must lie in the rows, in order, without overlap.
    pub fn from_rows(name: &str, values: Vec<f64>, windows: Vec<(usize, usize)>) -> crate::Result<Self> {
        let mut after = 0;
        for (i, &(start, end)) in windows.iter().enumerate() {
            if start > end || end >= values.len() || (i > 0 && start < after) {
                return Err(crate::Error::Data {
                    path: name.to_string(),
                    line: 0,
                    reason: format!(
                        "window {i} (rows {start}-{end}) is not within the {} rows in order",
                        values.len()
                    ),
                    cause: None,
                });
            }
            after = end + 1;
        }
        Ok(NabSeries {
            name: name.to_string(),
            values,
            windows,
        })
    }
}

#[cfg(test)]
mod tests;
