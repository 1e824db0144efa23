//! Elections with fencing tokens, and Kazoo's `run`.

use std::sync::Arc;

use parking_lot::Mutex;
use pyo3::prelude::*;

use crate::errors;
use crate::runtime::{block, maybe_seconds};
use aeroguard_consensus::{Coordinator, Leadership as RsLeadership};

/// An election; see `Client.election`.
#[pyclass(module = "aeroguard")]
pub struct Election {
    pub(crate) client: Arc<dyn Coordinator>,
    pub(crate) name: String,
}

#[pymethods]
impl Election {
    /// Campaigns until elected (or `timeout` seconds pass: `TimeoutError`); Ctrl-C interrupts.
    #[pyo3(signature = (timeout = None))]
    fn campaign(&self, py: Python<'_>, timeout: Option<f64>) -> crate::errors::Result<Leadership> {
        let e = self.client.election(&self.name)?;
        let limit = maybe_seconds("timeout", timeout)?;
        let won = block(py, campaign(e, limit))??;
        Ok(Leadership::new(won))
    }

    /// Kazoo's `run`: campaigns, calls `func(*args)` as leader, resigns, returns what `func` returned.
    #[pyo3(signature = (func, *args))]
    fn run(
        &self,
        py: Python<'_>,
        func: Py<PyAny>,
        args: Bound<'_, pyo3::types::PyTuple>,
    ) -> PyResult<Py<PyAny>> {
        let lead = self.campaign(py, None)?;
        let out = func.call1(py, args);
        lead.resign(py)?;
        out
    }

    /// Every candidate, the leader first.
    fn contenders(&self, py: Python<'_>) -> crate::errors::Result<Vec<String>> {
        let e = self.client.election(&self.name)?;
        let all = block(py, async move { e.contenders().await })??;
        Ok(all.into_iter().map(|n| n.to_string()).collect())
    }

    /// The current leader, if any.
    fn leader(&self, py: Python<'_>) -> crate::errors::Result<Option<String>> {
        let e = self.client.election(&self.name)?;
        let l = block(py, async move { e.leader().await })??;
        Ok(l.map(|n| n.to_string()))
    }

    /// The current grant as the backend records it, `(leader, token)`, or `None`: what a writer outside the
    /// cluster checks a posted token against (any other token is stale or forged).
    fn grant(&self, py: Python<'_>) -> crate::errors::Result<Option<(String, u64)>> {
        let e = self.client.election(&self.name)?;
        let g = block(py, async move { e.grant().await })??;
        Ok(g.map(|g| (g.node.to_string(), g.token.0)))
    }
}

/// Campaigns in `e` until elected, or until `limit` passes (a timeout error).
pub(crate) async fn campaign(
    e: Arc<dyn aeroguard_consensus::Election>,
    limit: Option<std::time::Duration>,
) -> aeroguard_consensus::Result<RsLeadership> {
    match limit {
        Some(t) => {
            tokio::time::timeout(t, e.campaign())
                .await
                .map_err(|_| aeroguard_consensus::Error::Timeout {
                    operation: "campaign",
                    after: t,
                })?
        }
        None => e.campaign().await,
    }
}

/// A term of leadership with its fencing token.
#[pyclass(module = "aeroguard")]
pub struct Leadership {
    /// Shared with a round running under it; resigning takes it back.
    pub(crate) inner: Mutex<Option<Arc<RsLeadership>>>,
}

impl Leadership {
    pub(crate) fn new(won: RsLeadership) -> Leadership {
        Leadership {
            inner: Mutex::new(Some(Arc::new(won))),
        }
    }

    /// The term, taken for good: `None` once resigned; an error while a round still runs under it.
    pub(crate) fn take(&self) -> crate::errors::Result<Option<RsLeadership>> {
        let Some(shared) = self.inner.lock().take() else {
            return Ok(None);
        };
        match Arc::try_unwrap(shared) {
            Ok(l) => Ok(Some(l)),
            Err(shared) => {
                *self.inner.lock() = Some(shared);
                Err(crate::errors::value_error(
                    "a round is running under this leadership: resign once it returns",
                ))
            }
        }
    }
}

#[pymethods]
impl Leadership {
    /// The fencing token: pass it with every write made as leader.
    #[getter]
    fn token(&self) -> PyResult<u64> {
        let g = self.inner.lock();
        g.as_ref()
            .map(|l| l.token().0)
            .ok_or_else(|| errors::LeadershipLostError::new_err("resigned"))
    }

    /// Whether the leadership can still be trusted.
    fn is_trusted(&self) -> bool {
        self.inner.lock().as_ref().is_some_and(|l| l.is_trusted())
    }

    /// The token, or `LeadershipLostError` if the leadership is no longer trusted.
    fn ensure(&self) -> crate::errors::Result<u64> {
        let g = self.inner.lock();
        match g.as_ref() {
            Some(l) => Ok(l.ensure()?.0),
            None => Err(errors::LeadershipLostError::new_err("resigned").into()),
        }
    }

    /// Steps down now.
    fn resign(&self, py: Python<'_>) -> crate::errors::Result<()> {
        match self.take()? {
            Some(l) => Ok(block(py, async move { l.resign().await })??),
            None => Ok(()),
        }
    }
}
