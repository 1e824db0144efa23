//! Conformal intervals: the signed errors of predictions made on units the predicting model never saw, binned by
//! the predicted value (errors near the cap are not those near failure), give each bin the quantiles that make
//! its interval cover `coverage` of new cycles.

use crate::{Error, Result};

/// Per bin of predicted value, the error quantiles that bound `coverage` of the outcomes.
///
/// ```
/// use aeroguard_prognostics::rul::Conformal;
/// // Predictions 0..100, outcomes off by -5..=5 evenly.
/// let pred: Vec<f64> = (0..1100).map(|i| (i % 100) as f64).collect();
/// let truth: Vec<f64> = pred.iter().enumerate().map(|(i, p)| p + (i / 100) as f64 - 5.0).collect();
/// let c = Conformal::fit(&pred, &truth, 0.8, 2)?;
/// let (lo, hi) = c.interval(50.0);
/// assert!(lo <= 46.0 && hi >= 54.0, "{lo} {hi}");
/// # Ok::<(), aeroguard_prognostics::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Conformal {
    /// Upper edges of the bins but the last (ascending).
    edges: Vec<f64>,
    /// Per bin, the low and high error quantiles.
    errors: Vec<(f64, f64)>,
    coverage: f64,
}

impl Conformal {
    /// Calibrates on out-of-sample predictions `pred` and their outcomes `truth`, with `bins` bins of equal count.
    pub fn fit(pred: &[f64], truth: &[f64], coverage: f64, bins: usize) -> Result<Conformal> {
        if !(coverage > 0.0 && coverage < 1.0) {
            return Err(Error::InvalidParameter {
                name: "coverage",
                value: coverage.to_string(),
                reason: "must be strictly between 0 and 1",
            });
        }
        if pred.len() != truth.len() {
            return Err(Error::Shape {
                what: "the outcomes",
                expected: pred.len(),
                got: truth.len(),
            });
        }
        let bins = bins.max(1);
        // Each bin needs enough errors for its extreme quantiles to mean something.
        let needed = bins * (2.0 / (1.0 - coverage)).ceil() as usize;
        if pred.len() < needed {
            return Err(Error::InvalidParameter {
                name: "calibration cycles",
                value: pred.len().to_string(),
                reason: "too few for the coverage and bins asked",
            });
        }
        let mut order: Vec<usize> = (0..pred.len()).collect();
        order.sort_by(|&a, &b| pred[a].total_cmp(&pred[b]));
        let per = pred.len() / bins;
        let mut edges = Vec::with_capacity(bins - 1);
        let mut errors = Vec::with_capacity(bins);
        for b in 0..bins {
            let end = if b + 1 == bins { order.len() } else { (b + 1) * per };
            let chunk = &order[b * per..end];
            if b + 1 < bins {
                edges.push(pred[order[end]]);
            }
            let mut e: Vec<f64> = chunk.iter().map(|&i| truth[i] - pred[i]).collect();
            e.sort_by(f64::total_cmp);
            let tail = (1.0 - coverage) / 2.0;
            errors.push((quantile_low(&e, tail), quantile_high(&e, tail)));
        }
        Ok(Conformal {
            edges,
            errors,
            coverage,
        })
    }

    /// The interval around a prediction.
    pub fn interval(&self, pred: f64) -> (f64, f64) {
        let b = self.edges.partition_point(|&e| e <= pred);
        let (lo, hi) = self.errors[b];
        (pred + lo, pred + hi)
    }

    /// The coverage it was calibrated for.
    pub fn coverage(&self) -> f64 {
        self.coverage
    }
}

/// The conservative low quantile: the ⌊(n + 1)·tail⌋-th smallest error (the smallest when too few).
fn quantile_low(sorted: &[f64], tail: f64) -> f64 {
    let k = ((sorted.len() + 1) as f64 * tail).floor() as usize;
    sorted[k.saturating_sub(1).min(sorted.len() - 1)]
}

/// The conservative high quantile: the ⌈(n + 1)·(1 - tail)⌉-th smallest error (the largest when too few).
fn quantile_high(sorted: &[f64], tail: f64) -> f64 {
    let k = ((sorted.len() + 1) as f64 * (1.0 - tail)).ceil() as usize;
    sorted[k.clamp(1, sorted.len()) - 1]
}
