//! Forecasts of one series, and when it will cross a limit: exponential smoothing with additive errors, every
//! candidate of statsforecast's AutoETS with additive parts (trend none, linear, damped; season none or
//! additive) fitted, and their forecasts combined by Akaike weights; intervals from the models' own error
//! variances, widened by how much the redundant sensors behind a fused value disagree.
//!
//! ```
//! use aeroguard_prognostics::forecast::{Forecaster, Limit};
//! // A pressure climbing 0.5 a step, with a little noise: when does it pass 80?
//! let y: Vec<f64> = (0..200).map(|t| 20.0 + 0.5 * t as f64 + ((t * 37) % 7) as f64 * 0.1).collect();
//! let model = Forecaster::fit(&y, 1)?;
//! let f = model.forecast(10, 0.9)?;
//! assert!((f.mean[9] - 125.0).abs() < 1.0, "{:?}", f.mean);
//! let crossing = model.time_to_limit(Limit::above(140.0), 100, 0.9, 0.0)?.expect("it crosses");
//! assert!((crossing.steps as i64 - 40).abs() <= 1, "{crossing:?}"); // at 0.5 a step from about 120
//! assert!(crossing.earliest <= crossing.steps);
//! # Ok::<(), aeroguard_prognostics::Error>(())
//! ```

mod ets;
mod fit;
mod limit;
mod loss;

use serde::{Deserialize, Serialize};

pub use ets::{Smoothing, Trend};
pub use limit::{Crossing, Limit};

use crate::{Error, Result};
use ets::State;

/// Most observations a fit looks at (the latest ones): older ones say little about the next steps and cost time.
pub const MAX_FIT: usize = 5_000;
/// The longest season accepted.
pub const MAX_PERIOD: usize = 1_000;
/// The longest horizon forecast.
pub const MAX_HORIZON: usize = 100_000;
/// Function evaluations per candidate's fit.
const EVALS: usize = 300;

/// One fitted exponential-smoothing model, whose state follows the series as it goes on.
#[derive(Debug, Clone, PartialEq)]
pub struct Ets {
    trend: Trend,
    period: usize,
    smoothing: Smoothing,
    /// The one-step error variance.
    sigma2: f64,
    state: State,
    aicc: f64,
}

impl Ets {
    /// Fits one model (a trend, a season of `period` steps, 1 for none) to `y` (at most its last
    /// [`MAX_FIT`] values).
    pub fn fit(y: &[f64], trend: Trend, period: usize) -> Result<Ets> {
        check_series(y, period)?;
        let y = &y[y.len().saturating_sub(MAX_FIT)..];
        if period > 1 && y.len() < 2 * period + 2 {
            let value = format!("{} values", y.len());
            return Err(Error::InvalidParameter {
                name: "series",
                value,
                reason: "a season needs two full periods",
            });
        }
        Ok(Ets::from_candidate(y, fit::fit(y, trend, period, EVALS)))
    }

    fn from_candidate(y: &[f64], c: fit::Candidate) -> Ets {
        let mut state = c.start.clone();
        for &v in y {
            state.update(&c.smoothing, v);
        }
        let sigma2 = c.sse / y.len() as f64;
        Ets {
            trend: c.trend,
            period: c.period,
            smoothing: c.smoothing,
            sigma2,
            state,
            aicc: c.aicc,
        }
    }

    fn update(&mut self, y: f64) {
        self.state.update(&self.smoothing, y);
    }

    /// The mean and the error variance `h` steps ahead.
    fn ahead(&self, h: usize) -> (f64, f64) {
        (
            self.state.ahead(&self.smoothing, h),
            self.sigma2 * ets::variance_factor(&self.smoothing, self.period, h),
        )
    }

    /// The trend.
    pub fn trend(&self) -> Trend {
        self.trend
    }

    /// The season's length (1: none).
    pub fn period(&self) -> usize {
        self.period
    }

    /// The smoothing parameters fitted.
    pub fn smoothing(&self) -> Smoothing {
        self.smoothing
    }

    /// The one-step error's standard deviation on the fitted data.
    pub fn sigma(&self) -> f64 {
        self.sigma2.sqrt()
    }

    /// Its AICc on the fitted data.
    pub fn aicc(&self) -> f64 {
        self.aicc
    }
}

/// The forecaster: every candidate (trend none, linear or damped; season none or `period`) fitted, and their
/// forecasts combined with Akaike weights (`exp(-ΔAICc / 2)`, normalised), which forecasts better on average
/// than the one best candidate (Kolassa, "Combining exponential smoothing forecasts using Akaike weights",
/// 2011). Its state follows the series as it goes on ([`Forecaster::update`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Forecaster {
    models: Vec<(f64, Ets)>,
}

/// A forecast: per step ahead, the mean and the interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Forecast {
    /// The mean, per step (index 0 is one step ahead).
    pub mean: Vec<f64>,
    /// The interval's low end, per step.
    pub low: Vec<f64>,
    /// The interval's high end, per step.
    pub high: Vec<f64>,
}

impl Forecaster {
    /// Fits the candidates to `y` (at most its last [`MAX_FIT`] values): `period` is the season's length in
    /// steps (1: no season). A season needs two full periods of data; a trend, twenty values.
    pub fn fit(y: &[f64], period: usize) -> Result<Forecaster> {
        check_series(y, period)?;
        let y = &y[y.len().saturating_sub(MAX_FIT)..];
        let mut seasons = vec![1];
        if period > 1 && y.len() >= 2 * period + 2 {
            seasons.push(period);
        }
        let trends: &[Trend] = if y.len() >= 20 {
            &[Trend::None, Trend::Additive, Trend::Damped]
        } else {
            &[Trend::None]
        };
        let mut models: Vec<(f64, Ets)> = seasons
            .iter()
            .flat_map(|&m| trends.iter().map(move |&t| (t, m)))
            .map(|(t, m)| (0.0, Ets::from_candidate(y, fit::fit(y, t, m, EVALS))))
            .filter(|(_, e)| e.aicc.is_finite())
            .collect();
        let least = models.iter().map(|(_, e)| e.aicc).fold(f64::INFINITY, f64::min);
        if !least.is_finite() {
            return Err(Error::Empty {
                what: "the candidate models (each too short for its parameters)",
            });
        }
        for (w, e) in &mut models {
            *w = (-(e.aicc - least) / 2.0).exp();
        }
        let total: f64 = models.iter().map(|(w, _)| w).sum();
        models.retain_mut(|(w, _)| {
            *w /= total;
            *w >= 1e-4
        });
        let kept: f64 = models.iter().map(|(w, _)| w).sum();
        models.iter_mut().for_each(|(w, _)| *w /= kept);
        models.sort_by(|a, b| b.0.total_cmp(&a.0));
        Ok(Forecaster { models })
    }

    /// Takes the next observation (the parameters stay; refit now and then to follow a changed process).
    pub fn update(&mut self, y: f64) -> Result<()> {
        if !y.is_finite() {
            let index = self.models.first().map_or(0, |(_, e)| e.state.t);
            return Err(Error::NonFinite {
                what: "observation",
                index,
                column: 0,
            });
        }
        self.models.iter_mut().for_each(|(_, e)| e.update(y));
        Ok(())
    }

    /// The forecast `horizon` steps ahead with intervals covering `coverage`.
    pub fn forecast(&self, horizon: usize, coverage: f64) -> Result<Forecast> {
        self.forecast_with(horizon, coverage, 0.0)
    }

    /// As [`Forecaster::forecast`], with `spread` (a standard deviation, in the series' units) added to every
    /// step's uncertainty: how far apart the redundant sensors behind a fused value are (a fused interval of
    /// width `w` read as uniform is `w / √12`).
    pub fn forecast_with(&self, horizon: usize, coverage: f64, spread: f64) -> Result<Forecast> {
        let z = z_for(coverage)?;
        check_horizon(horizon)?;
        if !(spread.is_finite() && spread >= 0.0) {
            let value = spread.to_string();
            return Err(Error::InvalidParameter {
                name: "spread",
                value,
                reason: "must be a finite number, 0 or more",
            });
        }
        let mut f = Forecast {
            mean: Vec::with_capacity(horizon),
            low: Vec::new(),
            high: Vec::new(),
        };
        for h in 1..=horizon {
            // The mixture's mean and variance: Σ w·μ, and Σ w·(σ² + μ²) - mean².
            let (mut mean, mut second) = (0.0, 0.0);
            for (w, e) in &self.models {
                let (mu, var) = e.ahead(h);
                mean += w * mu;
                second += w * (var + mu * mu);
            }
            let var = (second - mean * mean).max(0.0) + spread * spread;
            let half = z * var.sqrt();
            f.mean.push(mean);
            f.low.push(mean - half);
            f.high.push(mean + half);
        }
        Ok(f)
    }

    /// The models combined, with their weights, heaviest first.
    pub fn models(&self) -> &[(f64, Ets)] {
        &self.models
    }
}

fn check_series(y: &[f64], period: usize) -> Result<()> {
    if y.len() < 4 {
        return Err(Error::InvalidParameter {
            name: "series",
            value: format!("{} values", y.len()),
            reason: "a forecast needs at least 4",
        });
    }
    if let Some(i) = y.iter().position(|v| !v.is_finite()) {
        return Err(Error::NonFinite {
            what: "observation",
            index: i,
            column: 0,
        });
    }
    if period == 0 || period > MAX_PERIOD {
        let value = period.to_string();
        return Err(Error::InvalidParameter {
            name: "period",
            value,
            reason: "must be 1 (no season) to 1000",
        });
    }
    Ok(())
}

fn check_horizon(horizon: usize) -> Result<()> {
    if horizon == 0 || horizon > MAX_HORIZON {
        let value = horizon.to_string();
        return Err(Error::InvalidParameter {
            name: "horizon",
            value,
            reason: "must be 1 to 100000 steps",
        });
    }
    Ok(())
}

/// The two-sided normal quantile for `coverage` (Acklam's rational approximation, relative error under 1.2e-9).
pub(crate) fn z_for(coverage: f64) -> Result<f64> {
    if !(coverage > 0.0 && coverage < 1.0) {
        let value = coverage.to_string();
        return Err(Error::InvalidParameter {
            name: "coverage",
            value,
            reason: "must be strictly between 0 and 1",
        });
    }
    Ok(normal_quantile(0.5 + coverage / 2.0))
}

fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969683028665376e1,
        2.209460984245205e2,
        -2.759285104469687e2,
        1.38357751867269e2,
        -3.066479806614716e1,
        2.506628277459239,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e1,
        1.615858368580409e2,
        -1.556989798598866e2,
        6.680131188771972e1,
        -1.328068155288572e1,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-3,
        -3.223964580411365e-1,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    ];
    const D: [f64; 4] = [
        7.784695709041462e-3,
        3.224671290700398e-1,
        2.445134137142996,
        3.754408661907416,
    ];
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}
