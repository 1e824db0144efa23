//! asyncio twins of the blocking calls (`aeroguard.aio` wraps them): each returns an awaitable that runs on the
//! bindings' runtime (no thread per call, pyo3-async-runtimes); cancelling the awaitable drops the call's future
//! and the session goes on. Watches are async iterators.

use std::future::Future;
use std::sync::Arc;

use pyo3::exceptions::PyStopAsyncIteration;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use tokio::sync::mpsc;

mod calls;
mod client;

/// `fut` as a Python awaitable on the bindings' runtime (it must be called with an asyncio loop running).
pub(crate) fn awaitable<'py, T, F>(py: Python<'py>, fut: F) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = crate::errors::Result<T>> + Send + 'static,
    T: for<'a> IntoPyObject<'a> + Send + 'static,
{
    // The bridge runs on the bindings' own runtime; set once (a second set is refused, harmlessly).
    let _ = pyo3_async_runtimes::tokio::init_with_runtime(crate::runtime::runtime()?);
    pyo3_async_runtimes::tokio::future_into_py(py, async move { fut.await.map_err(PyErr::from) })
}

/// Bytes that reach Python as `bytes`, not a list of ints.
pub(crate) struct Bytes(pub(crate) Vec<u8>);

impl<'py> IntoPyObject<'py> for Bytes {
    type Target = PyBytes;
    type Output = Bound<'py, PyBytes>;
    type Error = std::convert::Infallible;

    fn into_pyobject(self, py: Python<'py>) -> Result<Self::Output, Self::Error> {
        Ok(PyBytes::new(py, &self.0))
    }
}

/// What a watch yields: a service's members, a config value with its version, or a session state with its
/// epoch.
pub(crate) enum Event {
    Members(Vec<String>),
    Config(u64, Vec<u8>),
    Session(String, u64),
}

impl<'py> IntoPyObject<'py> for Event {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> Result<Self::Output, Self::Error> {
        match self {
            Event::Members(nodes) => Ok(nodes.into_pyobject(py)?.into_any()),
            Event::Config(version, value) => Ok((version, Bytes(value)).into_pyobject(py)?.into_any()),
            Event::Session(state, epoch) => Ok((state, epoch).into_pyobject(py)?.into_any()),
        }
    }
}

/// The most events a watch holds for a reader that is slow to take them; past it the watch waits.
const WATCH_BUFFER: usize = 64;

/// A watch as an async iterator: `async for event in watch`. `stop()` (or dropping it) ends it.
#[pyclass(module = "aeroguard")]
pub struct AsyncWatch {
    events: Arc<tokio::sync::Mutex<mpsc::Receiver<crate::errors::Result<Event>>>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl AsyncWatch {
    /// Runs `watch` on the runtime: it opens the watch and sends each event (an error ends it).
    pub(crate) fn start<F, Fut>(watch: F) -> PyResult<AsyncWatch>
    where
        F: FnOnce(mpsc::Sender<crate::errors::Result<Event>>) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let (tx, rx) = mpsc::channel(WATCH_BUFFER);
        let task = crate::runtime::runtime()?.spawn(watch(tx));
        Ok(AsyncWatch {
            events: Arc::new(tokio::sync::Mutex::new(rx)),
            task: Some(task),
        })
    }
}

#[pymethods]
impl AsyncWatch {
    fn __aiter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __anext__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let events = self.events.clone();
        awaitable(py, async move {
            match events.lock().await.recv().await {
                Some(event) => event,
                None => Err(PyStopAsyncIteration::new_err("the watch ended").into()),
            }
        })
    }

    /// Ends the watch: the iteration stops.
    fn stop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

impl Drop for AsyncWatch {
    fn drop(&mut self) {
        self.stop();
    }
}
