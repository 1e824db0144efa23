//! The at-least-once queue.

use std::sync::Arc;

use parking_lot::Mutex;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::runtime::{block, maybe_seconds, runtime};
use aeroguard_consensus::Delivery as RsDelivery;

/// A queue with at-least-once delivery.
#[pyclass(module = "aeroguard")]
pub struct Queue {
    pub(crate) inner: Arc<dyn aeroguard_consensus::Queue>,
}

#[pymethods]
impl Queue {
    /// Appends an item.
    fn put(&self, py: Python<'_>, item: Vec<u8>) -> crate::errors::Result<()> {
        let q = self.inner.clone();
        Ok(block(py, async move { q.put(item).await })??)
    }

    /// Takes the oldest item, waiting up to `timeout` seconds (forever with None): `TimeoutError` if none.
    /// Ack the delivery, or it comes back.
    #[pyo3(signature = (timeout = None))]
    fn get(&self, py: Python<'_>, timeout: Option<f64>) -> crate::errors::Result<Delivery> {
        let q = self.inner.clone();
        let t = maybe_seconds("timeout", timeout)?;
        let d = block(py, async move { q.take(t).await })??;
        Ok(Delivery {
            inner: Mutex::new(Some(d)),
        })
    }

    fn __len__(&self, py: Python<'_>) -> crate::errors::Result<usize> {
        let q = self.inner.clone();
        Ok(block(py, async move { q.len().await })??)
    }
}

/// A taken item; `ack()` removes it for good.
#[pyclass(module = "aeroguard")]
pub struct Delivery {
    pub(crate) inner: Mutex<Option<RsDelivery>>,
}

#[pymethods]
impl Delivery {
    /// The item's bytes.
    #[getter]
    fn payload<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let g = self.inner.lock();
        let d = g.as_ref().ok_or_else(|| PyValueError::new_err("already acked"))?;
        Ok(PyBytes::new(py, d.payload()))
    }

    /// Removes the item.
    fn ack(&self, py: Python<'_>) -> crate::errors::Result<()> {
        let d = self.inner.lock().take();
        match d {
            Some(d) => Ok(block(py, async move { d.ack().await })??),
            None => Err(crate::errors::value_error("already acked")),
        }
    }
}

impl Drop for Delivery {
    fn drop(&mut self) {
        let d = self.inner.lock().take();
        if let Some(d) = d {
            // The runtime started with the delivery; were it somehow gone, dropping outside it is still safe.
            let _guard = runtime().ok().map(|rt| rt.enter());
            drop(d);
        }
    }
}
