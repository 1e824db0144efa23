//! The forecaster as Python holds it: `fit(y)` returns self, `predict(h)` and `predict_interval(h)` give numpy
//! arrays, `time_to_limit` says when a limit is crossed.

use aeroguard_prognostics::forecast::{self, Limit, Trend};
use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;

use crate::errors::Result;

/// Exponential smoothing (AutoETS's additive candidates), combined by Akaike weights.
#[pyclass(module = "aeroguard._aeroguard")]
#[derive(Debug, Clone)]
pub struct Forecaster {
    period: usize,
    coverage: f64,
    model: Option<forecast::Forecaster>,
}

impl Forecaster {
    fn fitted(&self) -> PyResult<&forecast::Ets> {
        self.combined()?
            .models()
            .first()
            .map(|(_, e)| e)
            .ok_or_else(|| crate::errors::not_fitted("the forecaster"))
    }

    fn combined(&self) -> PyResult<&forecast::Forecaster> {
        self.model
            .as_ref()
            .ok_or_else(|| crate::errors::not_fitted("the forecaster"))
    }
}

#[pymethods]
impl Forecaster {
    #[new]
    #[pyo3(signature = (period = 1, coverage = 0.9))]
    fn new(period: usize, coverage: f64) -> Result<Self> {
        if !(coverage > 0.0 && coverage < 1.0) {
            return Err(crate::errors::value_error(format!(
                "coverage must be strictly between 0 and 1, got {coverage}"
            )));
        }
        if period == 0 || period > forecast::MAX_PERIOD {
            return Err(crate::errors::value_error(format!(
                "period must be 1 (no season) to 1000, got {period}"
            )));
        }
        Ok(Forecaster {
            period,
            coverage,
            model: None,
        })
    }

    /// Fits on a series (without the GIL); returns self.
    fn fit<'py>(mut slf: PyRefMut<'py, Self>, y: PyReadonlyArray1<'py, f64>) -> Result<PyRefMut<'py, Self>> {
        let y = y.as_array();
        let values: Vec<f64> = y.iter().copied().collect();
        let period = slf.period;
        let model = slf.py().detach(|| forecast::Forecaster::fit(&values, period))?;
        slf.model = Some(model);
        Ok(slf)
    }

    /// Takes the series' next value (the parameters stay).
    fn update(&mut self, y: f64) -> Result<()> {
        let model = self
            .model
            .as_mut()
            .ok_or_else(|| crate::errors::not_fitted("the forecaster"))?;
        Ok(model.update(y)?)
    }

    /// The mean forecast for the next `horizon` steps.
    fn predict<'py>(&self, py: Python<'py>, horizon: usize) -> Result<Bound<'py, PyArray1<f64>>> {
        let f = self.combined()?.forecast(horizon, self.coverage)?;
        Ok(PyArray1::from_vec(py, f.mean))
    }

    /// The interval's low and high ends for the next `horizon` steps; `spread` (a standard deviation) widens it
    /// by how far the redundant sensors disagree.
    #[pyo3(signature = (horizon, *, spread = 0.0))]
    #[allow(clippy::type_complexity)]
    fn predict_interval<'py>(
        &self,
        py: Python<'py>,
        horizon: usize,
        spread: f64,
    ) -> Result<(Bound<'py, PyArray1<f64>>, Bound<'py, PyArray1<f64>>)> {
        let f = self.combined()?.forecast_with(horizon, self.coverage, spread)?;
        Ok((PyArray1::from_vec(py, f.low), PyArray1::from_vec(py, f.high)))
    }

    /// When the series crosses `limit` (above it when `rising`): `(steps, earliest, latest)` with `latest`
    /// `None` past the horizon, or `None` when the mean forecast never crosses within `horizon` steps.
    #[pyo3(signature = (limit, *, rising = true, horizon = 1000, spread = 0.0))]
    fn time_to_limit(
        &self,
        limit: f64,
        rising: bool,
        horizon: usize,
        spread: f64,
    ) -> Result<Option<(usize, usize, Option<usize>)>> {
        let limit = Limit { value: limit, rising };
        let c = self
            .combined()?
            .time_to_limit(limit, horizon, self.coverage, spread)?;
        Ok(c.map(|c| (c.steps, c.earliest, c.latest)))
    }

    /// The heaviest model's trend: `"none"`, `"additive"` or `"damped"`.
    #[getter]
    fn trend_(&self) -> PyResult<&'static str> {
        Ok(match self.fitted()?.trend() {
            Trend::None => "none",
            Trend::Additive => "additive",
            Trend::Damped => "damped",
        })
    }

    /// The heaviest model's season (1: none).
    #[getter]
    fn period_(&self) -> PyResult<usize> {
        Ok(self.fitted()?.period())
    }

    /// The heaviest model's `(alpha, beta, gamma, phi)`.
    #[getter]
    fn smoothing_(&self) -> PyResult<(f64, f64, f64, f64)> {
        let s = self.fitted()?.smoothing();
        Ok((s.alpha, s.beta, s.gamma, s.phi))
    }

    /// The heaviest model's one-step error standard deviation on the fitted data.
    #[getter]
    fn sigma_(&self) -> PyResult<f64> {
        Ok(self.fitted()?.sigma())
    }

    fn __repr__(&self) -> String {
        format!("Forecaster(period={}, coverage={})", self.period, self.coverage)
    }
}
