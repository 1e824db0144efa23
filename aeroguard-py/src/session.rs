//! Kazoo's session listeners and a leader's wait for the end of its term: `Client.add_listener`,
//! `Client.session_state`, `Leadership.wait_lost`, and their asyncio forms.

use aeroguard_consensus::{SessionState, SessionStatus};
use pyo3::prelude::*;

use crate::aio::{AsyncWatch, Event, awaitable};
use crate::client::Client;
use crate::election::Leadership;
use crate::runtime::{Callbacks, block, maybe_seconds, runtime};
use crate::watch::Watch;

/// A state as Python reads it.
fn name(state: SessionState) -> &'static str {
    match state {
        SessionState::Connected => "connected",
        SessionState::Suspended => "suspended",
        SessionState::Expired => "expired",
        SessionState::Closed => "closed",
    }
}

fn pair(s: SessionStatus) -> (String, u64) {
    (name(s.state).to_string(), s.epoch)
}

#[pymethods]
impl Client {
    /// The session's state and epoch: `("connected" | "suspended" | "expired" | "closed", epoch)`; the epoch
    /// is 1 for the first session and one more for each session rebuilt after an expiry.
    #[getter]
    fn session_state(&self) -> PyResult<(String, u64)> {
        Ok(pair(*self.coord()?.session().borrow()))
    }

    /// Kazoo's `add_listener`: calls `callback(state, epoch)` on a thread of its own at each change of the
    /// session's state (`"suspended"`: the connection is lost and the session may live on; `"expired"`: its
    /// ephemeral state is gone; `"connected"`, with a higher epoch after an expiry; `"closed"`). `stop()` on
    /// the returned watch removes it.
    fn add_listener(&self, callback: Py<PyAny>) -> PyResult<Watch> {
        let mut session = self.coord()?.session();
        session.borrow_and_update();
        let calls = Callbacks::start("session", move |py, (state, epoch): (String, u64)| {
            callback.call1(py, (state, epoch)).map(drop)
        })?;
        let task = runtime()?.spawn(async move {
            while session.changed().await.is_ok() {
                let now = *session.borrow_and_update();
                if !calls.send(pair(now)) {
                    return;
                }
            }
        });
        Ok(Watch { task: Some(task) })
    }

    /// The session's changes as an async iterator of `(state, epoch)` (`aeroguard.aio.Client.session_states`).
    fn session_states_async(&self) -> PyResult<AsyncWatch> {
        let mut session = self.coord()?.session();
        session.borrow_and_update();
        AsyncWatch::start(move |tx| async move {
            while session.changed().await.is_ok() {
                let (state, epoch) = pair(*session.borrow_and_update());
                if tx.send(Ok(Event::Session(state, epoch))).await.is_err() {
                    return;
                }
            }
        })
    }
}

#[pymethods]
impl Leadership {
    /// Waits until the leadership can no longer be trusted and returns why (`"resigned"`, `"session expired"`,
    /// `"connection suspended longer than ..."`, `"election entry removed"`, ...), or `None` when `timeout`
    /// seconds pass first. Ctrl-C interrupts.
    #[pyo3(signature = (timeout = None))]
    fn wait_lost(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Option<String>> {
        let limit = maybe_seconds("timeout", timeout)?;
        let Some(notice) = self.inner.lock().as_ref().map(|t| t.loss_notice()) else {
            return Ok(Some("resigned".into()));
        };
        block(py, async move {
            match limit {
                Some(t) => tokio::time::timeout(t, notice).await.ok().map(|r| r.to_string()),
                None => Some(notice.await.to_string()),
            }
        })
    }

    /// `wait_lost()` without a timeout, awaitable (cancel it to stop waiting).
    fn lost_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let notice = self.inner.lock().as_ref().map(|t| t.loss_notice());
        awaitable(py, async move {
            Ok(match notice {
                Some(notice) => notice.await.to_string(),
                None => "resigned".to_string(),
            })
        })
    }
}
