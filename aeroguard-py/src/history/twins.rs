//! The awaitable twins of the history calls (`aeroguard.aio.History` wraps them).

use pyo3::prelude::*;

use super::History;
use crate::aio::awaitable;
use crate::ints::Int;

#[pymethods]
impl History {
    /// `append`, awaitable.
    #[pyo3(signature = (series, token, points, *, owner))]
    fn append_async<'py>(
        &self,
        py: Python<'py>,
        series: &str,
        token: Int<u64>,
        points: Vec<Bound<'py, PyAny>>,
        owner: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        awaitable(py, self.appending(series, token.0, &points, owner)?)
    }

    /// `range`, awaitable.
    #[pyo3(signature = (series, from_ms = 0, to_ms = i64::MAX / 2, *, detail = false))]
    fn range_async<'py>(
        &self,
        py: Python<'py>,
        series: &str,
        from_ms: i64,
        to_ms: i64,
        detail: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        awaitable(py, self.ranging(series, from_ms, to_ms, detail))
    }

    /// `latest`, awaitable.
    #[pyo3(signature = (series, n = 100, *, detail = false))]
    fn latest_async<'py>(
        &self,
        py: Python<'py>,
        series: &str,
        n: usize,
        detail: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        awaitable(py, self.newest(series, n, detail))
    }

    /// `buckets`, awaitable.
    #[pyo3(signature = (series, from_ms = 0, to_ms = i64::MAX / 2))]
    fn buckets_async<'py>(
        &self,
        py: Python<'py>,
        series: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> PyResult<Bound<'py, PyAny>> {
        awaitable(py, self.bucketing(series, from_ms, to_ms))
    }

    /// `compact`, awaitable.
    #[pyo3(signature = (series, token, *, owner, keep, raw = None, bucket = 60.0, now_ms = None))]
    #[allow(clippy::too_many_arguments)]
    fn compact_async<'py>(
        &self,
        py: Python<'py>,
        series: &str,
        token: Int<u64>,
        owner: &str,
        keep: f64,
        raw: Option<f64>,
        bucket: f64,
        now_ms: Option<i64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        awaitable(
            py,
            self.compacting(series, token.0, owner, keep, raw, bucket, now_ms)?,
        )
    }

    /// `fence`, awaitable.
    fn fence_async<'py>(&self, py: Python<'py>, series: &str) -> PyResult<Bound<'py, PyAny>> {
        awaitable(py, self.fencing(series))
    }
}
