//! When a forecast crosses a limit: the step the mean crosses, and the steps the interval's ends do.

use serde::{Deserialize, Serialize};

use super::{Forecaster, check_horizon, z_for};
use crate::{Error, Result};

/// A limit and the side it guards.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Limit {
    /// The value.
    pub value: f64,
    /// True: crossing means going above it; false: going below.
    pub rising: bool,
}

impl Limit {
    /// A high limit.
    pub fn above(value: f64) -> Limit {
        Limit { value, rising: true }
    }

    /// A low limit.
    pub fn below(value: f64) -> Limit {
        Limit { value, rising: false }
    }

    fn crossed(&self, v: f64) -> bool {
        if self.rising {
            v >= self.value
        } else {
            v <= self.value
        }
    }
}

/// When a forecast reaches a limit, in steps from now (1 is the next).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Crossing {
    /// The first step whose mean forecast is past the limit.
    pub steps: usize,
    /// The first step whose interval's near end is past it (the soonest it is plausible).
    pub earliest: usize,
    /// The first step whose interval's far end is past it (`None`: not within the horizon).
    pub latest: Option<usize>,
}

impl Forecaster {
    /// When the series crosses `limit`, looking at most `horizon` steps ahead, with intervals covering
    /// `coverage` and the sensors' `spread` (see [`Forecaster::forecast_with`]). `None` when the mean forecast stays
    /// on the safe side throughout.
    pub fn time_to_limit(
        &self,
        limit: Limit,
        horizon: usize,
        coverage: f64,
        spread: f64,
    ) -> Result<Option<Crossing>> {
        if !limit.value.is_finite() {
            let value = limit.value.to_string();
            return Err(Error::InvalidParameter {
                name: "limit",
                value,
                reason: "must be a finite number",
            });
        }
        check_horizon(horizon)?;
        z_for(coverage)?;
        let f = self.forecast_with(horizon, coverage, spread)?;
        let (near, far) = if limit.rising {
            (&f.high, &f.low)
        } else {
            (&f.low, &f.high)
        };
        let first = |s: &[f64]| s.iter().position(|&v| limit.crossed(v)).map(|i| i + 1);
        Ok(first(&f.mean).map(|steps| Crossing {
            steps,
            earliest: first(near).unwrap_or(steps).min(steps),
            latest: first(far),
        }))
    }
}
