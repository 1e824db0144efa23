//! Fusion of redundant readings: every strategy of `aeroguard-core`, on lists or numpy arrays.

use std::time::Duration;

use aeroguard_core::fusion::{Degrading, Fusion, FusionConfig, Screen, StrategyKind};
use aeroguard_core::{Quality, Reading, SensorId, Timestamp};
use numpy::PyReadonlyArray1;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::ints::{Int, opt};

/// The fused value, with what was used and what was excluded and why.
#[pyclass(module = "aeroguard", frozen, get_all)]
#[derive(Debug, Clone)]
pub struct Estimate {
    /// The fused value.
    pub value: f64,
    /// `(low, high)` for interval strategies (Marzullo, Brooks-Iyengar, weighted mean), else `None`.
    pub interval: Option<(f64, f64)>,
    /// The strategy's name.
    pub strategy: String,
    /// Faulty readings tolerated.
    pub fault_tolerance: usize,
    /// Sensors whose readings were used.
    pub used: Vec<String>,
    /// `(sensor, reason)` for each excluded reading.
    pub excluded: Vec<(String, String)>,
    /// Why the estimate is degraded (the strategy's error, when `when_too_few` let a fallback answer), else
    /// `None`.
    pub degraded: Option<String>,
}

#[pymethods]
impl Estimate {
    fn __repr__(&self) -> String {
        format!(
            "Estimate(value={}, strategy={:?}, used={}, excluded={:?}, degraded={:?})",
            self.value,
            self.strategy,
            self.used.len(),
            self.excluded,
            self.degraded
        )
    }
}

/// A strategy by its name.
pub(crate) fn strategy_kind(name: &str, what: &str) -> PyResult<StrategyKind> {
    serde_json::from_value(serde_json::Value::String(name.to_string())).map_err(|_| {
        PyValueError::new_err(format!(
            "unknown {what} {name:?}: mean, weighted_mean, median, trimmed_mean, mid_value_select, marzullo, brooks_iyengar"
        ))
    })
}

/// A quality by its name: `good`, `uncertain` or `bad`.
pub(crate) fn quality(name: &str, i: usize) -> PyResult<Quality> {
    match name {
        "good" => Ok(Quality::Good),
        "uncertain" => Ok(Quality::Uncertain),
        "bad" => Ok(Quality::Bad),
        _ => Err(PyValueError::new_err(format!(
            "qualities[{i}]: {name:?} is not good, uncertain or bad"
        ))),
    }
}

/// Fuses `values` (one reading per sensor) with `strategy`, tolerating `f` faulty readings; with source
/// times (ms), qualities and a maximum age (ms) as of `now_ms`; `when_too_few` `raise`, or `median` / `mean`
/// to answer with that, marked degraded, when the strategy cannot.
#[pyfunction]
#[pyo3(signature = (values, *, strategy = "brooks_iyengar", f = None, half_width = None, sensors = None,
                    times_ms = None, qualities = None, max_age_ms = None, now_ms = None, when_too_few = "raise"))]
#[allow(clippy::too_many_arguments)]
pub fn fuse(
    py: Python<'_>,
    values: PyReadonlyArray1<'_, f64>,
    strategy: &str,
    f: Option<Int<usize>>,
    half_width: Option<PyReadonlyArray1<'_, f64>>,
    sensors: Option<Vec<String>>,
    times_ms: Option<PyReadonlyArray1<'_, i64>>,
    qualities: Option<Vec<String>>,
    max_age_ms: Option<Int<u64>>,
    now_ms: Option<i64>,
    when_too_few: &str,
) -> crate::errors::Result<Estimate> {
    let fusion = fusion_of(strategy, opt(f), opt(max_age_ms), when_too_few)?;
    let values = values.as_array().to_vec();
    let widths: Option<Vec<f64>> = half_width.map(|h| h.as_array().to_vec());
    if let Some(w) = &widths
        && w.len() != 1
        && w.len() != values.len()
    {
        return Err(crate::errors::value_error(format!(
            "half_width has {} values for {} readings: give one, or one per reading",
            w.len(),
            values.len()
        )));
    }
    let times: Option<Vec<i64>> = times_ms.map(|t| t.as_array().to_vec());
    for (name, len) in [
        ("sensors", sensors.as_ref().map(Vec::len)),
        ("times", times.as_ref().map(Vec::len)),
        ("qualities", qualities.as_ref().map(Vec::len)),
    ] {
        if let Some(len) = len
            && len != values.len()
        {
            return Err(crate::errors::value_error(format!(
                "{len} {name} for {} readings: give one per reading",
                values.len()
            )));
        }
    }
    let qualities = qualities
        .map(|q| {
            q.iter()
                .enumerate()
                .map(|(i, n)| quality(n, i))
                .collect::<PyResult<Vec<_>>>()
        })
        .transpose()?;
    let now = now_ms.map_or_else(Timestamp::now, Timestamp::from_millis);
    let mut readings = Vec::with_capacity(values.len());
    for (i, v) in values.iter().enumerate() {
        let id = match &sensors {
            Some(s) => s[i].clone(),
            None => format!("s{i}"),
        };
        let at = times.as_ref().map_or(now, |t| Timestamp::from_millis(t[i]));
        let mut r = Reading::new(SensorId::new(id)?, *v, at);
        if let Some(w) = &widths {
            r = r.with_half_width(if w.len() == 1 { w[0] } else { w[i] });
        }
        if let Some(q) = &qualities {
            r = r.with_quality(q[i]);
        }
        readings.push(r);
    }
    // Large inputs are fused without holding the GIL.
    let est = if readings.len() > 256 {
        py.detach(|| fusion.fuse(&readings, now))
    } else {
        fusion.fuse(&readings, now)
    }?;
    Ok(Estimate::from(est))
}

/// The fusion `strategy` names, tolerating `f` faulty readings (0 unless given; 1 for mid-value select),
/// readings older than `max_age_ms` excluded, degrading as `when_too_few` says (`raise`, `median`, `mean`).
pub(crate) fn fusion_of(
    strategy: &str,
    f: Option<usize>,
    max_age_ms: Option<u64>,
    when_too_few: &str,
) -> crate::errors::Result<Box<dyn Fusion>> {
    let kind = strategy_kind(strategy, "strategy")?;
    let fallback = match when_too_few {
        "raise" => None,
        other => Some(strategy_kind(other, "when_too_few (raise, median or mean)")?),
    };
    let mut screen = Screen::default();
    if let Some(age) = max_age_ms {
        screen = screen.with_max_age(Duration::from_millis(age));
    }
    let config = FusionConfig {
        strategy: kind,
        f: f.or(if kind == StrategyKind::MidValueSelect {
            None
        } else {
            Some(0)
        }),
        screen,
    };
    Ok(match fallback {
        Some(fallback) => Box::new(Degrading::new(&config, fallback)?),
        None => config.build()?,
    })
}

impl From<aeroguard_core::fusion::Estimate> for Estimate {
    fn from(est: aeroguard_core::fusion::Estimate) -> Self {
        Estimate {
            value: est.value,
            interval: est.interval.map(|i| (i.lo, i.hi)),
            strategy: serde_json::to_value(est.strategy)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            fault_tolerance: est.fault_tolerance,
            used: est.used.iter().map(|s| s.to_string()).collect(),
            excluded: est
                .excluded
                .iter()
                .map(|x| (x.sensor.to_string(), x.reason.to_string()))
                .collect(),
            degraded: est.degraded,
        }
    }
}
