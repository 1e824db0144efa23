//! The fenced history store from Python: append with the leader's token, read ranges back.

use std::sync::Arc;

use aeroguard_consensus::FencingToken;
use aeroguard_consensus::history::{HistoryStore, MemoryHistory, Point, Writer};
use aeroguard_core::Timestamp;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::ints::Int;
use crate::runtime::{block, runtime};

/// A point as Python sees it: `(at_ms, value, alarm)`, alarm None when the point was not scored.
type PyPoint = (i64, f64, Option<bool>);

/// The most points one `append` takes.
const MAX_POINTS: usize = 1_000_000;

/// A fenced time-series store: `History.memory()`, or `Client("redis", ...).history()`.
#[pyclass(module = "aeroguard")]
pub struct History {
    pub(crate) inner: Arc<dyn HistoryStore>,
}

impl History {
    pub(crate) fn new(inner: Arc<dyn HistoryStore>) -> Self {
        History { inner }
    }
}

/// Points `(at_ms, value)` or `(at_ms, value, alarm)` from Python, at most [`MAX_POINTS`].
pub(crate) fn parse_points(points: &[Bound<'_, PyAny>]) -> crate::errors::Result<Vec<Point>> {
    if points.len() > MAX_POINTS {
        return Err(crate::errors::value_error(format!(
            "points: {} in one call, at most {MAX_POINTS}",
            points.len()
        )));
    }
    let mut out = Vec::with_capacity(points.len());
    for (i, p) in points.iter().enumerate() {
        let (at, value, alarm): PyPoint = match p.extract::<(i64, f64)>() {
            Ok((at, value)) => (at, value, None),
            Err(_) => p.extract().map_err(|_| {
                PyValueError::new_err(format!(
                    "points[{i}]: expected (at_ms, value) or (at_ms, value, alarm)"
                ))
            })?,
        };
        let mut point = Point::new(Timestamp::from_millis(at), value);
        point.alarm = alarm;
        out.push(point);
    }
    Ok(out)
}

#[pymethods]
impl History {
    /// A store in this process's memory.
    #[staticmethod]
    fn memory() -> PyResult<History> {
        let _inside = runtime()?.enter();
        Ok(History::new(Arc::new(MemoryHistory::new())))
    }

    /// Appends points `(at_ms, value)` or `(at_ms, value, alarm)` to `series`, fenced by `token` held by
    /// `owner` (the leader's node id): a token lower than one the series has seen, or the same token from
    /// another owner, raises `FencedError` and stores nothing.
    #[pyo3(signature = (series, token, points, *, owner))]
    fn append(
        &self,
        py: Python<'_>,
        series: &str,
        token: Int<u64>,
        points: Vec<Bound<'_, PyAny>>,
        owner: &str,
    ) -> crate::errors::Result<()> {
        let out = parse_points(&points)?;
        let (h, series) = (self.inner.clone(), series.to_string());
        let writer = Writer::new(FencingToken(token.0), owner);
        Ok(block(py, async move { h.append(&series, &writer, &out).await })??)
    }

    /// The points of `series` with `from_ms <= at <= to_ms`, oldest first.
    #[pyo3(signature = (series, from_ms = 0, to_ms = i64::MAX / 2))]
    fn range(
        &self,
        py: Python<'_>,
        series: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> crate::errors::Result<Vec<PyPoint>> {
        let (h, series) = (self.inner.clone(), series.to_string());
        let points = block(py, async move {
            h.range(
                &series,
                Timestamp::from_millis(from_ms),
                Timestamp::from_millis(to_ms),
            )
            .await
        })??;
        Ok(points
            .into_iter()
            .map(|p| (p.at.as_millis(), p.value, p.alarm))
            .collect())
    }

    /// The highest token the series has accepted, or None.
    fn fence(&self, py: Python<'_>, series: &str) -> crate::errors::Result<Option<u64>> {
        let (h, series) = (self.inner.clone(), series.to_string());
        let f = block(py, async move { h.fence(&series).await })??;
        Ok(f.map(|t| t.0))
    }
}
