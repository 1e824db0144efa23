//! The fenced history store from Python: append with the leader's token (a point may carry a vote record as
//! its detail), read ranges, the newest points and the downsampled buckets back, compact by a retention. Each
//! call has an awaitable twin (`twins`).

use std::future::Future;
use std::sync::Arc;

use aeroguard_consensus::FencingToken;
use aeroguard_consensus::history::{HistoryStore, MemoryHistory, Retention, Writer};
use aeroguard_core::Timestamp;
use pyo3::prelude::*;

use crate::ints::Int;
use crate::runtime::{block, maybe_seconds, runtime, seconds};

mod points;
mod twins;

pub(crate) use points::parse_points;
use points::{OutPoint, PyBucket, bucket, out};

/// What a compaction did: `{"dropped": n, "folded": n, "steps": n}`.
type Compaction = std::collections::BTreeMap<&'static str, u64>;

/// A fenced time-series store: `History.memory()`, or `Client("redis", ...).history()`.
#[pyclass(module = "aeroguard")]
pub struct History {
    pub(crate) inner: Arc<dyn HistoryStore>,
}

type Fut<T> = std::pin::Pin<Box<dyn Future<Output = crate::errors::Result<T>> + Send>>;

impl History {
    pub(crate) fn new(inner: Arc<dyn HistoryStore>) -> Self {
        History { inner }
    }

    fn appending(
        &self,
        series: &str,
        token: u64,
        points: &[Bound<'_, PyAny>],
        owner: &str,
    ) -> PyResult<Fut<()>> {
        let out = parse_points(points)?;
        let (h, series) = (self.inner.clone(), series.to_string());
        let writer = Writer::new(FencingToken(token), owner);
        Ok(Box::pin(
            async move { Ok(h.append(&series, &writer, &out).await?) },
        ))
    }

    fn ranging(&self, series: &str, from_ms: i64, to_ms: i64, detail: bool) -> Fut<Vec<OutPoint>> {
        let (h, series) = (self.inner.clone(), series.to_string());
        let (from, to) = (Timestamp::from_millis(from_ms), Timestamp::from_millis(to_ms));
        Box::pin(async move { Ok(out(h.range(&series, from, to).await?, detail)) })
    }

    fn newest(&self, series: &str, n: usize, detail: bool) -> Fut<Vec<OutPoint>> {
        let (h, series) = (self.inner.clone(), series.to_string());
        Box::pin(async move { Ok(out(h.latest(&series, n).await?, detail)) })
    }

    fn bucketing(&self, series: &str, from_ms: i64, to_ms: i64) -> Fut<Vec<PyBucket>> {
        let (h, series) = (self.inner.clone(), series.to_string());
        let (from, to) = (Timestamp::from_millis(from_ms), Timestamp::from_millis(to_ms));
        Box::pin(async move {
            Ok(h.buckets(&series, from, to)
                .await?
                .into_iter()
                .map(bucket)
                .collect())
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn compacting(
        &self,
        series: &str,
        token: u64,
        owner: &str,
        keep: f64,
        raw: Option<f64>,
        bucket: f64,
        now_ms: Option<i64>,
    ) -> PyResult<Fut<Compaction>> {
        let mut retention = Retention::keep(seconds("keep", keep)?);
        if let Some(raw) = maybe_seconds("raw", raw)? {
            retention = retention.downsample_after(raw, seconds("bucket", bucket)?);
        }
        retention.validate().map_err(crate::errors::Error::from)?;
        let now = now_ms.map_or_else(Timestamp::now, Timestamp::from_millis);
        let (h, series) = (self.inner.clone(), series.to_string());
        let writer = Writer::new(FencingToken(token), owner);
        Ok(Box::pin(async move {
            let c = h.compact(&series, &writer, now, &retention).await?;
            Ok(Compaction::from([
                ("dropped", c.dropped),
                ("folded", c.folded),
                ("steps", u64::from(c.steps)),
            ]))
        }))
    }

    fn fencing(&self, series: &str) -> Fut<Option<u64>> {
        let (h, series) = (self.inner.clone(), series.to_string());
        Box::pin(async move { Ok(h.fence(&series).await?.map(|t| t.0)) })
    }
}

#[pymethods]
impl History {
    /// A store in this process's memory.
    #[staticmethod]
    fn memory() -> PyResult<History> {
        let _inside = runtime()?.enter();
        Ok(History::new(Arc::new(MemoryHistory::new())))
    }

    /// Appends points `(at_ms, value)`, `(at_ms, value, alarm)` or `(at_ms, value, alarm, detail)` (`detail`
    /// JSON-like, at most 64 KiB: a `Verdict.record()`, say) to `series`, fenced by `token` held by `owner`
    /// (the leader's node id): a token lower than one the series has seen, or the same token from another
    /// owner, raises `FencedError` and stores nothing.
    #[pyo3(signature = (series, token, points, *, owner))]
    fn append(
        &self,
        py: Python<'_>,
        series: &str,
        token: Int<u64>,
        points: Vec<Bound<'_, PyAny>>,
        owner: &str,
    ) -> crate::errors::Result<()> {
        block(py, self.appending(series, token.0, &points, owner)?)?
    }

    /// The points of `series` with `from_ms <= at <= to_ms`, oldest first, as `(at_ms, value, alarm)`; with
    /// `detail=True`, `(at_ms, value, alarm, detail)`.
    #[pyo3(signature = (series, from_ms = 0, to_ms = i64::MAX / 2, *, detail = false))]
    fn range(
        &self,
        py: Python<'_>,
        series: &str,
        from_ms: i64,
        to_ms: i64,
        detail: bool,
    ) -> crate::errors::Result<Vec<OutPoint>> {
        block(py, self.ranging(series, from_ms, to_ms, detail))?
    }

    /// The newest `n` points (at most 10,000), oldest first, read without the rest of the series (as `range`).
    #[pyo3(signature = (series, n = 100, *, detail = false))]
    fn latest(
        &self,
        py: Python<'_>,
        series: &str,
        n: usize,
        detail: bool,
    ) -> crate::errors::Result<Vec<OutPoint>> {
        block(py, self.newest(series, n, detail))?
    }

    /// The downsampled buckets starting in `[from_ms, to_ms]`, oldest first, as `(start_ms, width_ms, min,
    /// max, mean, count)`: what `compact` folded.
    #[pyo3(signature = (series, from_ms = 0, to_ms = i64::MAX / 2))]
    fn buckets(
        &self,
        py: Python<'_>,
        series: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> crate::errors::Result<Vec<PyBucket>> {
        block(py, self.bucketing(series, from_ms, to_ms))?
    }

    /// Applies a retention at `now_ms` (default: now), fenced as `append`: drops points older than `keep`
    /// seconds, and with `raw`, folds points older than `raw` seconds into buckets of `bucket` seconds.
    /// Returns `{"dropped": n, "folded": n, "steps": n}`.
    #[pyo3(signature = (series, token, *, owner, keep, raw = None, bucket = 60.0, now_ms = None))]
    #[allow(clippy::too_many_arguments)]
    fn compact(
        &self,
        py: Python<'_>,
        series: &str,
        token: Int<u64>,
        owner: &str,
        keep: f64,
        raw: Option<f64>,
        bucket: f64,
        now_ms: Option<i64>,
    ) -> crate::errors::Result<Compaction> {
        block(
            py,
            self.compacting(series, token.0, owner, keep, raw, bucket, now_ms)?,
        )?
    }

    /// The highest token the series has accepted, or None.
    fn fence(&self, py: Python<'_>, series: &str) -> crate::errors::Result<Option<u64>> {
        block(py, self.fencing(series))?
    }
}

#[pymethods]
impl crate::client::Client {
    /// The fenced history store of this Redis client (`History.memory()` for one in this process).
    fn history(&self) -> PyResult<History> {
        let coord = self.coord()?;
        match self.redis() {
            Some(c) => Ok(History::new(Arc::new(c.history()))),
            None => Err(pyo3::exceptions::PyValueError::new_err(format!(
                "a {} client has no history store: use a Redis client, or History.memory()",
                coord.backend()
            ))),
        }
    }
}
