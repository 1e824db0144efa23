//! Store-and-forward from Python: an `Outbox` of JSON-like records forwarded to a Python callback in order, and
//! a `HistoryOutbox` of fenced appends forwarded to a history store. Both are one crash-safe file on disk,
//! bounded, in push order; delivery is at least once.

use std::sync::Arc;

use aeroguard_consensus::FencingToken;
use aeroguard_consensus::history::Writer;
use aeroguard_consensus::outbox::{self, Append, OutboxLimits, Outcome, Pass, WhenFull, forward_appends};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::history::{History, parse_points};
use crate::ints::Int;
use crate::runtime::{block, runtime};

/// The outbox's limits from `Outbox`'s and `HistoryOutbox`'s arguments.
fn limits(max_bytes: u64, max_entries: u64, when_full: &str) -> crate::errors::Result<OutboxLimits> {
    let when = match when_full {
        "drop_oldest" => WhenFull::DropOldest,
        "refuse_new" => WhenFull::RefuseNew,
        other => {
            return Err(crate::errors::value_error(format!(
                "when_full = {other:?}: \"drop_oldest\" or \"refuse_new\""
            )));
        }
    };
    Ok(OutboxLimits::bytes(max_bytes)
        .entries(max_entries)
        .when_full(when))
}

/// What one forwarding pass did.
#[pyclass(module = "aeroguard", frozen, get_all)]
pub struct ForwardPass {
    /// Entries delivered and removed.
    pub sent: u64,
    /// Entries refused for good and removed.
    pub refused: u64,
    /// Why the pass stopped early (the sink asked to retry), or None when the outbox was emptied.
    pub stopped: Option<String>,
}

#[pymethods]
impl ForwardPass {
    fn __repr__(&self) -> String {
        format!(
            "ForwardPass(sent={}, refused={}, stopped={:?})",
            self.sent, self.refused, self.stopped
        )
    }
}

fn pass_of(p: Pass) -> ForwardPass {
    ForwardPass {
        sent: p.sent,
        refused: p.refused,
        stopped: p.stopped,
    }
}

fn stats_dict<'py>(py: Python<'py>, s: outbox::OutboxStats) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (k, v) in [
        ("queued", s.queued),
        ("bytes", s.bytes),
        ("max_bytes", s.max_bytes),
        ("pushed", s.pushed),
        ("sent", s.sent),
        ("refused", s.refused),
        ("dropped", s.dropped),
        ("reopened", s.reopened),
    ] {
        d.set_item(k, v)?;
    }
    Ok(d)
}

/// A durable, bounded, ordered log of JSON-like records (dicts, lists, strings, numbers) waiting for delivery.
#[pyclass(module = "aeroguard")]
pub struct Outbox {
    inner: outbox::Outbox<serde_json::Value>,
}

#[pymethods]
impl Outbox {
    /// Opens (or creates) the outbox file at `path`; records left by an earlier run or a crash are kept. At most
    /// `max_bytes` and `max_entries`; when full, `"drop_oldest"` (counted in `stats()["dropped"]`) or
    /// `"refuse_new"` (the push raises `ConnectionLossError`, overloaded). Another process holding the file
    /// open is an error.
    #[new]
    #[pyo3(signature = (path, *, max_bytes = 256 << 20, max_entries = 1_000_000, when_full = "drop_oldest"))]
    fn new(
        path: std::path::PathBuf,
        max_bytes: u64,
        max_entries: u64,
        when_full: &str,
    ) -> crate::errors::Result<Self> {
        Ok(Outbox {
            inner: outbox::Outbox::open(path, limits(max_bytes, max_entries, when_full)?)?,
        })
    }

    /// Appends `record` (on disk when this returns); `precious=True` keeps it past ordinary records when the
    /// outbox is full (an alert firing). Returns its sequence number.
    #[pyo3(signature = (record, *, precious = false))]
    fn push(&self, record: &Bound<'_, PyAny>, precious: bool) -> crate::errors::Result<u64> {
        let value = json_of(record)?;
        Ok(if precious {
            self.inner.push_precious(&value)?
        } else {
            self.inner.push(&value)?
        })
    }

    /// One pass: calls `deliver(record)` for each record, oldest first. A record whose call returns is removed;
    /// one whose call raises `aeroguard.outbox.Refuse` is removed and counted refused; any other exception
    /// stops the pass and keeps that record and everything after it (the link is down: call again later).
    fn forward<'py>(
        &self,
        py: Python<'py>,
        deliver: Bound<'py, PyAny>,
    ) -> crate::errors::Result<ForwardPass> {
        let refuse = py.import("aeroguard.outbox")?.getattr("Refuse")?;
        let json = py.import("json")?;
        let _inside = runtime()?.enter();
        // Ctrl-C (or SystemExit) in the callback stops the pass, keeps the record, and is raised after it.
        let mut interrupted: Option<PyErr> = None;
        let pass = at_once(self.inner.forward(|value: &serde_json::Value| {
            let outcome = match json
                .call_method1("loads", (value.to_string(),))
                .and_then(|record| deliver.call1((record,)))
            {
                Ok(_) => Outcome::Sent,
                Err(e) if e.is_instance(py, &refuse) => Outcome::Refused(e.value(py).to_string()),
                Err(e) => {
                    let why = e.value(py).to_string();
                    if !e.is_instance_of::<pyo3::exceptions::PyException>(py) {
                        interrupted = Some(e);
                    }
                    Outcome::Retry(why)
                }
            };
            std::future::ready(outcome)
        }))?;
        match interrupted {
            Some(e) => Err(e.into()),
            None => Ok(pass_of(pass)),
        }
    }

    /// `{"queued", "bytes", "max_bytes", "pushed", "sent", "refused", "dropped", "reopened"}`.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        stats_dict(py, self.inner.stats())
    }

    fn __len__(&self) -> usize {
        usize::try_from(self.inner.stats().queued).unwrap_or(usize::MAX)
    }
}

/// The outbox's pass over a callback that answers at once: it awaits nothing else, so one poll completes it
/// (were that ever to change, this says so rather than spin).
fn at_once<T>(
    fut: impl std::future::Future<Output = aeroguard_consensus::Result<T>>,
) -> crate::errors::Result<T> {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match std::pin::pin!(fut).poll(&mut cx) {
        std::task::Poll::Ready(out) => Ok(out?),
        std::task::Poll::Pending => Err(crate::errors::value_error(
            "the outbox's pass waited on something other than the callback",
        )),
    }
}

/// A JSON-like Python value as JSON.
fn json_of(v: &Bound<'_, PyAny>) -> PyResult<serde_json::Value> {
    let text: String = v.py().import("json")?.call_method1("dumps", (v,))?.extract()?;
    serde_json::from_str(&text).map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))
}

/// A durable log of fenced history appends: a leader appends here first, and `forward(history)` delivers them
/// in order when the store answers. A write fenced by a newer term is dropped, not retried.
#[pyclass(module = "aeroguard")]
pub struct HistoryOutbox {
    inner: Arc<outbox::Outbox<Append>>,
}

#[pymethods]
impl HistoryOutbox {
    /// As `Outbox`.
    #[new]
    #[pyo3(signature = (path, *, max_bytes = 256 << 20, max_entries = 1_000_000, when_full = "drop_oldest"))]
    fn new(
        path: std::path::PathBuf,
        max_bytes: u64,
        max_entries: u64,
        when_full: &str,
    ) -> crate::errors::Result<Self> {
        Ok(HistoryOutbox {
            inner: Arc::new(outbox::Outbox::open(
                path,
                limits(max_bytes, max_entries, when_full)?,
            )?),
        })
    }

    /// Keeps an append (as `History.append` takes it) on disk for delivery.
    #[pyo3(signature = (series, token, points, *, owner))]
    fn append(
        &self,
        series: &str,
        token: Int<u64>,
        points: Vec<Bound<'_, PyAny>>,
        owner: &str,
    ) -> crate::errors::Result<u64> {
        let entry = Append {
            series: series.to_string(),
            writer: Writer::new(FencingToken(token.0), owner),
            points: parse_points(&points)?,
        };
        Ok(self.inner.push(&entry)?)
    }

    /// One pass delivering the appends to `history`, oldest first; stops at the first the store cannot take now.
    fn forward(&self, py: Python<'_>, history: PyRef<'_, History>) -> crate::errors::Result<ForwardPass> {
        let (outbox, store) = (self.inner.clone(), history.inner.clone());
        let pass = block(py, async move { forward_appends(&outbox, store.as_ref()).await })??;
        Ok(pass_of(pass))
    }

    /// `forward`, awaitable.
    fn forward_async<'py>(
        &self,
        py: Python<'py>,
        history: PyRef<'py, History>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (outbox, store) = (self.inner.clone(), history.inner.clone());
        crate::aio::awaitable(py, async move {
            Ok(pass_of(forward_appends(&outbox, store.as_ref()).await?))
        })
    }

    /// As `Outbox.stats`.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        stats_dict(py, self.inner.stats())
    }

    fn __len__(&self) -> usize {
        usize::try_from(self.inner.stats().queued).unwrap_or(usize::MAX)
    }
}
