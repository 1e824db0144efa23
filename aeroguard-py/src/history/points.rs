//! Points between Python and the store: `(at_ms, value)`, `(at_ms, value, alarm)` or `(at_ms, value, alarm,
//! detail)` in, with `detail` any JSON-like value (a vote record); the same tuples out.

use aeroguard_consensus::history::{Bucket, Point};
use aeroguard_core::Timestamp;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// The most points one `append` takes.
const MAX_POINTS: usize = 1_000_000;

/// The largest detail of one point, as JSON.
pub(crate) const MAX_DETAIL_BYTES: usize = 64 * 1024;

/// The most detail bytes one call carries in all (a million points of 64 KiB each would be 64 GB).
const MAX_CALL_DETAIL_BYTES: usize = 16 << 20;

/// Points from Python, at most [`MAX_POINTS`], each detail at most [`MAX_DETAIL_BYTES`] as JSON and all of them
/// at most [`MAX_CALL_DETAIL_BYTES`].
pub(crate) fn parse_points(points: &[Bound<'_, PyAny>]) -> crate::errors::Result<Vec<Point>> {
    if points.len() > MAX_POINTS {
        return Err(crate::errors::value_error(format!(
            "points: {} in one call, at most {MAX_POINTS}",
            points.len()
        )));
    }
    let mut out = Vec::with_capacity(points.len());
    let mut detail_bytes = 0usize;
    for (i, p) in points.iter().enumerate() {
        let shape = || {
            PyValueError::new_err(format!(
                "points[{i}]: expected (at_ms, value), (at_ms, value, alarm) or (at_ms, value, alarm, detail)"
            ))
        };
        let items: Vec<Bound<'_, PyAny>> = p.extract().map_err(|_| shape())?;
        if !(2..=4).contains(&items.len()) {
            return Err(shape().into());
        }
        let at: i64 = items[0].extract().map_err(|_| shape())?;
        let value: f64 = items[1].extract().map_err(|_| shape())?;
        let mut point = Point::new(Timestamp::from_millis(at), value);
        if let Some(alarm) = items.get(2) {
            point.alarm = alarm.extract().map_err(|_| shape())?;
        }
        if let Some(detail) = items.get(3).filter(|d| !d.is_none()) {
            let (value, bytes) = to_json(detail)
                .map_err(|e| PyValueError::new_err(format!("points[{i}].detail: {}", e.value(p.py()))))?;
            detail_bytes += bytes;
            if detail_bytes > MAX_CALL_DETAIL_BYTES {
                return Err(crate::errors::value_error(format!(
                    "points[{i}].detail: the details of one call pass {MAX_CALL_DETAIL_BYTES} bytes; \
                     append them in smaller calls"
                )));
            }
            point.detail = Some(value);
        }
        out.push(point);
    }
    Ok(out)
}

/// A JSON-like Python value (through `json.dumps`), at most [`MAX_DETAIL_BYTES`], with its size as JSON.
fn to_json(v: &Bound<'_, PyAny>) -> PyResult<(serde_json::Value, usize)> {
    let text: String = v.py().import("json")?.call_method1("dumps", (v,))?.extract()?;
    if text.len() > MAX_DETAIL_BYTES {
        return Err(PyValueError::new_err(format!(
            "{} bytes as JSON, at most {MAX_DETAIL_BYTES}",
            text.len()
        )));
    }
    let value = serde_json::from_str(&text).map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok((value, text.len()))
}

/// A point as Python gets it: `(at_ms, value, alarm)`, or with its detail when asked for.
pub(crate) struct OutPoint {
    point: Point,
    detail: bool,
}

/// `points` as Python gets them.
pub(crate) fn out(points: Vec<Point>, detail: bool) -> Vec<OutPoint> {
    points
        .into_iter()
        .map(|point| OutPoint { point, detail })
        .collect()
}

impl<'py> IntoPyObject<'py> for OutPoint {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> Result<Self::Output, Self::Error> {
        let p = self.point;
        let head = (p.at.as_millis(), p.value, p.alarm);
        if !self.detail {
            return Ok(head.into_pyobject(py)?.into_any());
        }
        let detail = match &p.detail {
            Some(d) => py.import("json")?.call_method1("loads", (d.to_string(),))?,
            None => py.None().into_bound(py),
        };
        Ok((head.0, head.1, head.2, detail).into_pyobject(py)?.into_any())
    }
}

/// A bucket as Python gets it: `(start_ms, width_ms, min, max, mean, count)`.
pub(crate) type PyBucket = (i64, u64, f64, f64, f64, u64);

pub(crate) fn bucket(b: Bucket) -> PyBucket {
    (b.start.as_millis(), b.width_ms, b.min, b.max, b.mean, b.count)
}
