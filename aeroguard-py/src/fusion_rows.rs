//! Fusion of many rows at once: a SCADA batch (rows × tags) with each tag's source time and quality, fused row
//! by row off the GIL.

use aeroguard_core::{Quality, Reading, SensorId, Timestamp};
use numpy::{PyArray1, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::prelude::*;

use crate::fusion::{Estimate, fusion_of};
use crate::ints::{Int, opt};

/// What `fuse_rows` gives, per row: the fused value, its interval (NaN bounds where the strategy gives none),
/// the strategy that answered, why the value is degraded (or `None`), and the tags excluded with the reason.
#[pyclass(module = "aeroguard", frozen)]
#[derive(Debug)]
pub struct FusedRows {
    rows: Vec<Estimate>,
}

#[pymethods]
impl FusedRows {
    /// The fused value of each row.
    #[getter]
    fn values<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        PyArray1::from_iter(py, self.rows.iter().map(|e| e.value))
    }

    /// Each row's interval's low bound (NaN where the strategy gives no interval).
    #[getter]
    fn low<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        PyArray1::from_iter(py, self.rows.iter().map(|e| e.interval.map_or(f64::NAN, |i| i.0)))
    }

    /// Each row's interval's high bound (NaN where the strategy gives no interval).
    #[getter]
    fn high<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        PyArray1::from_iter(py, self.rows.iter().map(|e| e.interval.map_or(f64::NAN, |i| i.1)))
    }

    /// Why each row's value is degraded, or `None`.
    #[getter]
    fn degraded(&self) -> Vec<Option<String>> {
        self.rows.iter().map(|e| e.degraded.clone()).collect()
    }

    /// Each row's excluded tags, `(sensor, reason)`.
    #[getter]
    fn excluded(&self) -> Vec<Vec<(String, String)>> {
        self.rows.iter().map(|e| e.excluded.clone()).collect()
    }

    /// Row `key`'s whole estimate (negative counts from the end).
    fn __getitem__(&self, key: isize) -> PyResult<Estimate> {
        let i = key;
        let n = self.rows.len() as isize;
        let at = if i < 0 { i + n } else { i };
        usize::try_from(at)
            .ok()
            .and_then(|at| self.rows.get(at).cloned())
            .ok_or_else(|| pyo3::exceptions::PyIndexError::new_err(format!("row {i} of {n}")))
    }

    fn __len__(&self) -> usize {
        self.rows.len()
    }

    fn __repr__(&self) -> String {
        let degraded = self.rows.iter().filter(|e| e.degraded.is_some()).count();
        format!("FusedRows(rows={}, degraded={degraded})", self.rows.len())
    }
}

/// One quality code: 0 good, 1 uncertain, 2 bad.
fn quality(code: u8, row: usize, col: usize) -> PyResult<Quality> {
    match code {
        0 => Ok(Quality::Good),
        1 => Ok(Quality::Uncertain),
        2 => Ok(Quality::Bad),
        _ => Err(pyo3::exceptions::PyValueError::new_err(format!(
            "qualities[{row}, {col}]: code {code} is not 0 (good), 1 (uncertain) or 2 (bad)"
        ))),
    }
}

/// Fuses each row of `values` (rows × sensors) as `fuse` fuses one reading per sensor: with each tag's time in
/// ms (`times_ms`, rows × sensors), quality code (`qualities`: 0 good, 1 uncertain, 2 bad) and a maximum age
/// as of each row's `now_ms` (default: the row's newest tag time).
#[pyfunction]
#[pyo3(signature = (values, *, strategy = "brooks_iyengar", f = None, half_width = None, sensors = None,
                    times_ms = None, qualities = None, max_age_ms = None, now_ms = None, when_too_few = "raise"))]
#[allow(clippy::too_many_arguments)]
pub fn fuse_rows(
    py: Python<'_>,
    values: PyReadonlyArray2<'_, f64>,
    strategy: &str,
    f: Option<Int<usize>>,
    half_width: Option<PyReadonlyArray1<'_, f64>>,
    sensors: Option<Vec<String>>,
    times_ms: Option<PyReadonlyArray2<'_, i64>>,
    qualities: Option<PyReadonlyArray2<'_, u8>>,
    max_age_ms: Option<Int<u64>>,
    now_ms: Option<PyReadonlyArray1<'_, i64>>,
    when_too_few: &str,
) -> crate::errors::Result<FusedRows> {
    let fusion = fusion_of(strategy, opt(f), opt(max_age_ms), when_too_few)?;
    let values = values.as_array();
    let (rows, width) = values.dim();
    let shape_error = |what: &str, got: String| {
        crate::errors::value_error(format!("{what} has shape {got}, the values ({rows}, {width})"))
    };
    let times = times_ms.map(|t| t.as_array().to_owned());
    if let Some(t) = &times
        && t.dim() != (rows, width)
    {
        return Err(shape_error("times", format!("{:?}", t.dim())));
    }
    let codes = qualities.map(|q| q.as_array().to_owned());
    if let Some(q) = &codes
        && q.dim() != (rows, width)
    {
        return Err(shape_error("qualities", format!("{:?}", q.dim())));
    }
    let now = now_ms.map(|n| n.as_array().to_vec());
    if let Some(n) = &now
        && n.len() != rows
    {
        return Err(shape_error("now", format!("({},)", n.len())));
    }
    let widths: Option<Vec<f64>> = half_width.map(|h| h.as_array().to_vec());
    if let Some(w) = &widths
        && w.len() != 1
        && w.len() != width
    {
        return Err(shape_error("half_width", format!("({},)", w.len())));
    }
    if let Some(s) = &sensors
        && s.len() != width
    {
        return Err(shape_error("sensors", format!("({},)", s.len())));
    }
    let ids = (0..width)
        .map(|j| SensorId::new(sensors.as_ref().map_or_else(|| format!("s{j}"), |s| s[j].clone())))
        .collect::<Result<Vec<_>, _>>()?;
    // Each row's readings, checked with the GIL held (the errors are Python's); fused without it.
    let mut batches = Vec::with_capacity(rows);
    for r in 0..rows {
        let newest = times
            .as_ref()
            .and_then(|t| t.row(r).iter().copied().max())
            .map(Timestamp::from_millis);
        let at_row = now
            .as_ref()
            .map(|n| Timestamp::from_millis(n[r]))
            .or(newest)
            .unwrap_or_else(Timestamp::now);
        let mut readings = Vec::with_capacity(width);
        for (j, id) in ids.iter().enumerate() {
            let at = times
                .as_ref()
                .map_or(at_row, |t| Timestamp::from_millis(t[[r, j]]));
            let mut reading = Reading::new(id.clone(), values[[r, j]], at);
            if let Some(w) = &widths {
                reading = reading.with_half_width(if w.len() == 1 { w[0] } else { w[j] });
            }
            if let Some(q) = &codes {
                reading = reading.with_quality(quality(q[[r, j]], r, j)?);
            }
            readings.push(reading);
        }
        batches.push((readings, at_row));
    }
    let fused = py.detach(|| {
        batches
            .iter()
            .enumerate()
            .map(|(r, (readings, at))| fusion.fuse(readings, *at).map_err(|e| (r, e)))
            .collect::<Result<Vec<_>, _>>()
    });
    match fused {
        Ok(estimates) => Ok(FusedRows {
            rows: estimates.into_iter().map(Estimate::from).collect(),
        }),
        Err((r, e)) => Err(crate::errors::Error::Py(crate::errors::core_at(
            e,
            &format!("row {r}"),
        ))),
    }
}
