//! Exponential smoothing with additive errors (ETS: the state-space form of Hyndman et al., "Forecasting with
//! Exponential Smoothing", 2008): a level, an optional trend (damped or not), an optional season, each updated
//! by the one-step error.

use serde::{Deserialize, Serialize};

/// The trend of an exponential-smoothing model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Trend {
    /// No trend: the forecast is flat (plus the season).
    None,
    /// A linear trend.
    Additive,
    /// A trend whose slope fades by `phi` a step.
    Damped,
}

/// The smoothing parameters (ranges: `0 < alpha < 1`, `0 <= beta < alpha`, `0 <= gamma < 1 - alpha`,
/// `0.8 <= phi <= 0.98` when damped, else 1).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Smoothing {
    /// The level's.
    pub alpha: f64,
    /// The trend's (0 without one).
    pub beta: f64,
    /// The season's (0 without one).
    pub gamma: f64,
    /// The damping (1 when not damped).
    pub phi: f64,
}

/// The model's state after the last observation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct State {
    pub(crate) level: f64,
    pub(crate) slope: f64,
    /// One value per position in the season (empty without one); `season[t % m]` is the last seen for `t`'s.
    pub(crate) season: Vec<f64>,
    /// Observations taken.
    pub(crate) t: usize,
}

impl State {
    /// The starting state from the first observations: the level the first season's (or first ten
    /// observations') mean, the slope from the first two such spans, the season the mean deviation of each of
    /// its positions from its period's mean over the first (up to four) full periods.
    pub(crate) fn initial(y: &[f64], trend: Trend, period: usize) -> State {
        let span = if period > 1 { period } else { y.len().min(10) };
        let mean = |s: &[f64]| s.iter().sum::<f64>() / s.len() as f64;
        let first = mean(&y[..span]);
        let slope = match trend {
            Trend::None => 0.0,
            _ if y.len() >= 2 * span => (mean(&y[span..2 * span]) - first) / span as f64,
            _ => 0.0,
        };
        let season = if period > 1 {
            let periods = (y.len() / period).clamp(1, 4);
            let mut season = vec![0.0; period];
            for p in 0..periods {
                let chunk = &y[p * period..(p + 1) * period];
                let centre = mean(chunk);
                for (s, v) in season.iter_mut().zip(chunk) {
                    *s += (v - centre) / periods as f64;
                }
            }
            season
        } else {
            Vec::new()
        };
        // The level is that of just before the first observation.
        State {
            level: first - slope * (span as f64 - 1.0) / 2.0 - slope,
            slope,
            season,
            t: 0,
        }
    }

    /// The one-step forecast.
    pub(crate) fn next(&self, s: &Smoothing) -> f64 {
        self.level + s.phi * self.slope + self.seasonal()
    }

    fn seasonal(&self) -> f64 {
        if self.season.is_empty() {
            0.0
        } else {
            self.season[self.t % self.season.len()]
        }
    }

    /// Takes one observation; returns the one-step error.
    pub(crate) fn update(&mut self, s: &Smoothing, y: f64) -> f64 {
        let e = y - self.next(s);
        let damped = s.phi * self.slope;
        self.level += damped + s.alpha * e;
        self.slope = damped + s.beta * e;
        if !self.season.is_empty() {
            let m = self.season.len();
            self.season[self.t % m] += s.gamma * e;
        }
        self.t += 1;
        e
    }

    /// The mean forecast `h` steps ahead (h ≥ 1).
    pub(crate) fn ahead(&self, s: &Smoothing, h: usize) -> f64 {
        let season = if self.season.is_empty() {
            0.0
        } else {
            self.season[(self.t + h - 1) % self.season.len()]
        };
        self.level + damped_sum(s.phi, h) * self.slope + season
    }
}

/// `phi + phi² + … + phi^h` (h when phi is 1).
pub(crate) fn damped_sum(phi: f64, h: usize) -> f64 {
    if (phi - 1.0).abs() < 1e-12 {
        h as f64
    } else {
        phi * (1.0 - phi.powi(h as i32)) / (1.0 - phi)
    }
}

/// The variance of the `h`-step forecast error as a multiple of the one-step variance:
/// `1 + Σ_{j<h} c_j²`, `c_j = alpha + beta·(phi + … + phi^j) + gamma·[m divides j]`.
pub(crate) fn variance_factor(s: &Smoothing, period: usize, h: usize) -> f64 {
    (1..h)
        .map(|j| {
            let seasonal = if period > 1 && j % period == 0 {
                s.gamma
            } else {
                0.0
            };
            (s.alpha + s.beta * damped_sum(s.phi, j) + seasonal).powi(2)
        })
        .sum::<f64>()
        + 1.0
}
