//! The runtime the bindings own: blocking calls run on it with the GIL released and honour Ctrl-C; callbacks
//! run on threads of their own, so a callback may call the client and a slow callback never holds up the
//! session's heartbeat.

use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;

use aeroguard_consensus::memory::MemoryCluster;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;

/// The runtime, started on first use; a failure to start it (no threads left) is a `RuntimeError`.
pub fn runtime() -> PyResult<&'static tokio::runtime::Runtime> {
    static RT: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("aeroguard")
            .enable_all()
            .build()
            .map_err(|e| e.to_string())
    })
    .as_ref()
    .map_err(|e| PyRuntimeError::new_err(format!("cannot start the AeroGuard runtime: {e}")))
}

/// Seconds from Python as a duration: a negative, NaN or enormous value is a `ValueError`, not a panic.
pub fn seconds(what: &str, v: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(v)
        .map_err(|_| PyValueError::new_err(format!("{what} = {v}: not a usable number of seconds")))
}

pub fn maybe_seconds(what: &str, v: Option<f64>) -> PyResult<Option<Duration>> {
    v.map(|v| seconds(what, v)).transpose()
}

/// The memory cluster every `Client("memory")` of this process shares.
pub fn memory() -> PyResult<&'static MemoryCluster> {
    static CLUSTER: OnceLock<MemoryCluster> = OnceLock::new();
    let rt = runtime()?;
    Ok(CLUSTER.get_or_init(|| {
        let _inside = rt.enter();
        MemoryCluster::new()
    }))
}

/// Runs `fut` on the runtime without the GIL, checking for Ctrl-C every 50 ms. Callbacks run on threads of
/// their own (see [`Callbacks`]), never on the runtime's, so a client call inside a callback blocks here like
/// any other; a call from a runtime thread (which would deadlock it) is a `RuntimeError`, not a panic.
pub fn block<T: Send, F: Future<Output = T> + Send>(py: Python<'_>, fut: F) -> PyResult<T> {
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(PyRuntimeError::new_err(
            "a blocking AeroGuard call was made on the runtime's own thread",
        ));
    }
    let mut fut = Box::pin(fut);
    let rt = runtime()?;
    loop {
        let step = py.detach(|| {
            rt.block_on(async { tokio::time::timeout(Duration::from_millis(50), &mut fut).await })
        });
        match step {
            Ok(v) => return Ok(v),
            Err(_) => py.check_signals()?,
        }
    }
}

/// A thread that calls Python back with each event the runtime sends it, in order. Runtime tasks only send;
/// the Python code runs here, where it may block (even on client calls) without stalling the runtime.
pub struct Callbacks<T> {
    sender: std::sync::mpsc::Sender<T>,
}

impl<T: Send + 'static> Callbacks<T> {
    /// Starts the thread; it ends when every sender is dropped.
    pub fn start(
        name: &str,
        call: impl Fn(Python<'_>, T) -> PyResult<()> + Send + 'static,
    ) -> PyResult<Self> {
        let (sender, events) = std::sync::mpsc::channel::<T>();
        std::thread::Builder::new()
            .name(format!("aeroguard-{name}"))
            .spawn(move || {
                while let Ok(event) = events.recv() {
                    Python::attach(|py| {
                        if let Err(e) = call(py, event) {
                            e.write_unraisable(py, None);
                        }
                    });
                }
            })
            .map_err(|e| PyRuntimeError::new_err(format!("cannot start the callback thread: {e}")))?;
        Ok(Callbacks { sender })
    }

    /// Queues an event for the callback; false once the thread is gone.
    pub fn send(&self, event: T) -> bool {
        self.sender.send(event).is_ok()
    }
}
