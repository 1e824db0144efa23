//! Fusion of redundant readings: every strategy of `aeroguard-core`, on lists or numpy arrays.

use aeroguard_core::fusion::{FusionConfig, StrategyKind};
use aeroguard_core::{Reading, SensorId, Timestamp};
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
}

#[pymethods]
impl Estimate {
    fn __repr__(&self) -> String {
        format!(
            "Estimate(value={}, strategy={:?}, used={}, excluded={:?})",
            self.value,
            self.strategy,
            self.used.len(),
            self.excluded
        )
    }
}

/// Fuses `values` (one reading per sensor) with `strategy`, tolerating `f` faulty readings.
#[pyfunction]
#[pyo3(signature = (values, *, strategy = "brooks_iyengar", f = None, half_width = None, sensors = None))]
pub fn fuse(
    py: Python<'_>,
    values: PyReadonlyArray1<'_, f64>,
    strategy: &str,
    f: Option<Int<usize>>,
    half_width: Option<PyReadonlyArray1<'_, f64>>,
    sensors: Option<Vec<String>>,
) -> crate::errors::Result<Estimate> {
    let f = opt(f);
    let kind: StrategyKind = serde_json::from_value(serde_json::Value::String(strategy.to_string())).map_err(|_| {
        PyValueError::new_err(format!(
            "unknown strategy {strategy:?}: mean, weighted_mean, median, trimmed_mean, mid_value_select, marzullo, brooks_iyengar"
        ))
    })?;
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
    if let Some(s) = &sensors
        && s.len() != values.len()
    {
        return Err(crate::errors::value_error(format!(
            "{} sensors for {} readings",
            s.len(),
            values.len()
        )));
    }
    let config = FusionConfig {
        strategy: kind,
        f: f.or(if kind == StrategyKind::MidValueSelect {
            None
        } else {
            Some(0)
        }),
        screen: Default::default(),
    };
    let fusion = config.build()?;
    let now = Timestamp::now();
    let mut readings = Vec::with_capacity(values.len());
    for (i, v) in values.iter().enumerate() {
        let id = match &sensors {
            Some(s) => s[i].clone(),
            None => format!("s{i}"),
        };
        let mut r = Reading::new(SensorId::new(id)?, *v, now);
        if let Some(w) = &widths {
            r = r.with_half_width(if w.len() == 1 { w[0] } else { w[i] });
        }
        readings.push(r);
    }
    // Large inputs are fused without holding the GIL.
    let est = if readings.len() > 256 {
        py.detach(|| fusion.fuse(&readings, now))
    } else {
        fusion.fuse(&readings, now)
    }?;
    Ok(Estimate {
        value: est.value,
        interval: est.interval.map(|i| (i.lo, i.hi)),
        strategy: strategy.to_string(),
        fault_tolerance: est.fault_tolerance,
        used: est.used.iter().map(|s| s.to_string()).collect(),
        excluded: est
            .excluded
            .iter()
            .map(|x| (x.sensor.to_string(), x.reason.to_string()))
            .collect(),
    })
}
