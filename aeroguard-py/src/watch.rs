//! Registrations and watches.

use parking_lot::Mutex;
use pyo3::prelude::*;

use crate::runtime::runtime;

/// A registration; `close()` (or dropping it) deregisters.
#[pyclass(module = "aeroguard")]
pub struct Registration {
    pub(crate) inner: Mutex<Option<aeroguard_consensus::Registration>>,
}

#[pymethods]
impl Registration {
    /// Deregisters now.
    fn close(&self) {
        let r = self.inner.lock().take();
        if let Some(r) = r {
            let _guard = runtime().ok().map(|rt| rt.enter());
            drop(r);
        }
    }
}

/// A running watch; `stop()` ends it.
#[pyclass(module = "aeroguard")]
pub struct Watch {
    pub(crate) task: Option<tokio::task::JoinHandle<()>>,
}

#[pymethods]
impl Watch {
    /// Stops calling back.
    fn stop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}
