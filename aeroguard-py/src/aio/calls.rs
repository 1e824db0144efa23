//! The awaitable twins of the election, leadership, queue, history, round and authority calls.

use pyo3::prelude::*;

use super::awaitable;
use crate::authority::ElectionAuthority;
use crate::election::{Election, Leadership, campaign};
use crate::queue::{Delivery, Queue};
use crate::round::{RoundFollower, RoundLeader, held, next_round, outcome};
use crate::runtime::maybe_seconds;
use aeroguard_consensus::redis::RedisElectionAuthority;

#[pymethods]
impl Election {
    /// `campaign`, awaitable.
    #[pyo3(signature = (timeout = None))]
    fn campaign_async<'py>(&self, py: Python<'py>, timeout: Option<f64>) -> PyResult<Bound<'py, PyAny>> {
        let e = self
            .client
            .election(&self.name)
            .map_err(crate::errors::Error::from)?;
        let limit = maybe_seconds("timeout", timeout)?;
        awaitable(py, async move { Ok(Leadership::new(campaign(e, limit).await?)) })
    }

    /// `contenders`, awaitable.
    fn contenders_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let e = self
            .client
            .election(&self.name)
            .map_err(crate::errors::Error::from)?;
        awaitable(py, async move {
            Ok(e.contenders()
                .await?
                .into_iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>())
        })
    }

    /// `leader`, awaitable.
    fn leader_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let e = self
            .client
            .election(&self.name)
            .map_err(crate::errors::Error::from)?;
        awaitable(py, async move { Ok(e.leader().await?.map(|n| n.to_string())) })
    }

    /// `grant`, awaitable.
    fn grant_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let e = self
            .client
            .election(&self.name)
            .map_err(crate::errors::Error::from)?;
        awaitable(py, async move {
            Ok(e.grant().await?.map(|g| (g.node.to_string(), g.token.0)))
        })
    }
}

#[pymethods]
impl Leadership {
    /// `resign`, awaitable.
    fn resign_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let l = self.take()?;
        awaitable(py, async move {
            if let Some(l) = l {
                l.resign().await?;
            }
            Ok(())
        })
    }
}

#[pymethods]
impl Queue {
    /// `put`, awaitable.
    fn put_async<'py>(&self, py: Python<'py>, item: Vec<u8>) -> PyResult<Bound<'py, PyAny>> {
        let q = self.inner.clone();
        awaitable(py, async move { Ok(q.put(item).await?) })
    }

    /// `get`, awaitable: cancelling it (`asyncio.wait_for`) gives up the wait, and takes nothing.
    #[pyo3(signature = (timeout = None))]
    fn get_async<'py>(&self, py: Python<'py>, timeout: Option<f64>) -> PyResult<Bound<'py, PyAny>> {
        let (q, t) = (self.inner.clone(), maybe_seconds("timeout", timeout)?);
        awaitable(py, async move {
            let d = q.take(t).await?;
            Ok(Delivery {
                inner: parking_lot::Mutex::new(Some(d)),
            })
        })
    }

    /// `len()`, awaitable.
    fn len_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let q = self.inner.clone();
        awaitable(py, async move { Ok(q.len().await?) })
    }
}

#[pymethods]
impl Delivery {
    /// `ack`, awaitable.
    fn ack_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let d = self.inner.lock().take();
        let d = d.ok_or_else(|| crate::errors::value_error("already acked"))?;
        awaitable(py, async move { Ok(d.ack().await?) })
    }
}

#[pymethods]
impl RoundLeader {
    /// `run`, awaitable.
    fn run_async<'py>(
        slf: Py<Self>,
        py: Python<'py>,
        leadership: &Leadership,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (inner, lead) = (slf.borrow(py).inner.clone(), held(leadership)?);
        awaitable(py, async move {
            let r = inner.run(&lead).await?;
            Ok(Python::attach(|py| outcome(r, &slf.borrow(py).unattested)))
        })
    }
}

#[pymethods]
impl RoundFollower {
    /// `next_round`, awaitable.
    #[pyo3(signature = (timeout = None))]
    fn next_round_async<'py>(
        slf: Py<Self>,
        py: Python<'py>,
        timeout: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (inner, limit) = (slf.borrow(py).inner.clone(), maybe_seconds("timeout", timeout)?);
        awaitable(py, async move {
            let a = next_round(&inner, limit).await?;
            let out = (a.round, a.token.0, a.leader.to_string());
            Python::attach(|py| *slf.borrow(py).last.lock() = Some(a));
            Ok(out)
        })
    }

    /// `submit`, awaitable.
    fn submit_async<'py>(&self, py: Python<'py>, value: &str) -> PyResult<Bound<'py, PyAny>> {
        let (a, value) = self.answer(value)?;
        let inner = self.inner.clone();
        awaitable(
            py,
            async move { Ok(inner.lock().await.submit(&a, &value).await?) },
        )
    }
}

#[pymethods]
impl ElectionAuthority {
    /// `start`, awaitable.
    fn start_async<'py>(slf: Py<Self>, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let pending = slf.borrow(py).pending.lock().clone();
        awaitable(py, async move {
            if let Some((instance, options, members)) = pending {
                let a = RedisElectionAuthority::start(instance, options, members).await?;
                Python::attach(|py| slf.borrow(py).started(a));
            }
            Ok(())
        })
    }

    /// `close`, awaitable.
    fn close_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let a = self.inner.lock().take();
        awaitable(py, async move {
            if let Some(a) = a {
                a.close().await;
            }
            Ok(())
        })
    }
}
