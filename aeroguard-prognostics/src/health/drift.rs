//! A sensor's drift: a hinge through its recent gaps (reading minus fused value), flat until the drift began
//! and straight after it, fitted by least squares with the bend where it fits best (a line through a window
//! that starts before the drift would take it for half as fast); and when the hinge's forecast, with its
//! prediction interval, leaves the tolerance band.

use serde::{Deserialize, Serialize};

use crate::forecast::Crossing;

/// The hinge through the gaps `r[0..n]` (at rounds 0..n), with what its forecast needs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(crate) struct Line {
    n: usize,
    /// The round the drift began (0: the whole window drifts).
    bend: usize,
    /// The gap the hinge gives at the last round.
    pub(crate) now: f64,
    /// Change per round since the bend.
    pub(crate) slope: f64,
    /// The slope's standard error.
    pub(crate) slope_se: f64,
    /// The gaps' standard deviation about the hinge.
    sigma: f64,
    /// Mean and Σ (x - x̄)² of the hinge's regressor `max(0, t - bend)`.
    x_mean: f64,
    sxx: f64,
    /// The squared errors about the hinge.
    pub(crate) sse: f64,
}

impl Line {
    /// The hinge through `r` (at least 6 values), the bend leaving at least 5 rounds after it (fewer, and
    /// the noise of the last few rounds passes for a drift).
    pub(crate) fn fit(r: &[f64]) -> Option<Line> {
        Line::fit_from(r, r.len().checked_sub(5)?)
    }

    /// A straight line through `r`: the hinge with its bend at the start.
    pub(crate) fn straight(r: &[f64]) -> Option<Line> {
        Line::fit_from(r, 0)
    }

    /// The best hinge with its bend at most at `last_bend`.
    fn fit_from(r: &[f64], last_bend: usize) -> Option<Line> {
        let n = r.len();
        if n < 4 || last_bend > n - 3 {
            return None;
        }
        let r_mean = r.iter().sum::<f64>() / n as f64;
        let mut best: Option<(f64, Line)> = None;
        for bend in 0..=last_bend {
            let x = |t: usize| t.saturating_sub(bend) as f64;
            let x_mean = (0..n).map(x).sum::<f64>() / n as f64;
            let sxx: f64 = (0..n).map(|t| (x(t) - x_mean).powi(2)).sum();
            let sxy: f64 = r
                .iter()
                .enumerate()
                .map(|(t, v)| (x(t) - x_mean) * (v - r_mean))
                .sum();
            let slope = sxy / sxx;
            let intercept = r_mean - slope * x_mean;
            let sse: f64 = r
                .iter()
                .enumerate()
                .map(|(t, v)| (v - intercept - slope * x(t)).powi(2))
                .sum();
            // One more parameter than a line: the bend.
            let sigma = (sse / (n as f64 - 3.0).max(1.0)).sqrt();
            let line = Line {
                n,
                bend,
                now: intercept + slope * x(n - 1),
                slope,
                slope_se: sigma / sxx.sqrt(),
                sigma,
                x_mean,
                sxx,
                sse,
            };
            if best.as_ref().is_none_or(|(e, _)| sse < *e) {
                best = Some((sse, line));
            }
        }
        best.map(|(_, l)| l)
    }

    /// The squared errors of the best step through `r`: two flat levels, at least 3 rounds each. A gap that
    /// jumped (a sensor that came unstuck, or stuck) fits a step as well as a hinge; a drift does not.
    pub(crate) fn step_sse(r: &[f64]) -> f64 {
        let sse = |s: &[f64]| {
            let m = s.iter().sum::<f64>() / s.len() as f64;
            s.iter().map(|v| (v - m).powi(2)).sum::<f64>()
        };
        (3..r.len().saturating_sub(2))
            .map(|k| sse(&r[..k]) + sse(&r[k..]))
            .fold(f64::INFINITY, f64::min)
    }

    /// The forecast `h` rounds after the last, and its prediction half-width at `z`.
    fn ahead(&self, h: usize, z: f64) -> (f64, f64) {
        let x = (self.n - 1 - self.bend + h) as f64;
        let var = self.sigma.powi(2) * (1.0 + 1.0 / self.n as f64 + (x - self.x_mean).powi(2) / self.sxx);
        (self.now + self.slope * h as f64, z * var.sqrt())
    }

    /// When the line leaves `[-tolerance, tolerance]` on the side it heads for, within `horizon` rounds.
    pub(crate) fn leaves(&self, tolerance: f64, horizon: usize, z: f64) -> Option<Crossing> {
        let side = if self.slope >= 0.0 { 1.0 } else { -1.0 };
        let past = |v: f64| side * v >= tolerance;
        let mut crossing: Option<Crossing> = None;
        let mut earliest = None;
        for h in 1..=horizon {
            let (mean, half) = self.ahead(h, z);
            if earliest.is_none() && past(mean + side * half) {
                earliest = Some(h);
            }
            if let Some(c) = crossing.as_mut() {
                if c.latest.is_none() && past(mean - side * half) {
                    c.latest = Some(h);
                    break;
                }
            } else if past(mean) {
                crossing = Some(Crossing {
                    steps: h,
                    earliest: earliest.unwrap_or(h),
                    latest: None,
                });
                if past(mean - side * half) {
                    crossing = crossing.map(|c| Crossing { latest: Some(h), ..c });
                    break;
                }
            }
        }
        crossing
    }
}
