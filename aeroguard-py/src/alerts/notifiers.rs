//! The notifiers from Python: Alertmanager, webhooks (Alertmanager's, Slack's and Teams' shapes) and e-mail,
//! each sending the firing and resolved transitions of a batch; `notify` blocks, `notify_async` awaits.

use std::sync::Arc;

use aeroguard_detect::alert::{self, NotifyError};
use pyo3::prelude::*;

use super::AlertEvent;
use crate::runtime::{block, seconds};

/// A notification that did not go through, with `permanent` set when sending it again can never succeed (the
/// receiver found the request itself wrong); otherwise retry later.
fn failed(e: NotifyError) -> PyErr {
    let permanent = e.is_permanent();
    let err = crate::errors::NotificationError::new_err(e.to_string());
    Python::attach(|py| {
        let _ = err.value(py).setattr("permanent", permanent);
    });
    err
}

/// The CA certificates (PEM) at `path`, at most 1 MiB.
fn ca_file(path: &str) -> PyResult<Vec<u8>> {
    let bytes = std::fs::read(path)
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(format!("ca {path:?}: {e}")))?;
    if bytes.len() > 1 << 20 {
        return Err(pyo3::exceptions::PyValueError::new_err(format!(
            "ca {path:?}: over 1 MiB"
        )));
    }
    Ok(bytes)
}

/// Something that tells people about alerts: `Notifier.alertmanager(...)`, `Notifier.webhook(...)` or
/// `Notifier.email(...)`.
#[pyclass(module = "aeroguard", frozen)]
pub struct Notifier {
    inner: Arc<dyn alert::Notifier>,
}

fn user_password(what: &str, s: &str) -> PyResult<(String, String)> {
    s.split_once(':')
        .map(|(u, p)| (u.to_string(), p.to_string()))
        .ok_or_else(|| pyo3::exceptions::PyValueError::new_err(format!("{what}: \"user:password\"")))
}

#[pymethods]
impl Notifier {
    /// An Alertmanager's v2 API at `url` (`http(s)://host:port`): `bearer` token or `basic_auth`
    /// (`"user:password"`), `ca` (a PEM file to trust instead of the system's), `timeout` seconds, and `ttl`:
    /// how long a firing alert stays up at the receiver unless sent again.
    #[staticmethod]
    #[pyo3(signature = (url, *, bearer = None, basic_auth = None, ca = None, timeout = 10.0, ttl = 3600.0))]
    fn alertmanager(
        url: &str,
        bearer: Option<&str>,
        basic_auth: Option<&str>,
        ca: Option<&str>,
        timeout: f64,
        ttl: f64,
    ) -> PyResult<Notifier> {
        let mut n = alert::Alertmanager::new(url)
            .map_err(failed)?
            .with_timeout(seconds("timeout", timeout)?)
            .with_ttl(seconds("ttl", ttl)?);
        if let Some(t) = bearer {
            n = n.with_bearer(t);
        }
        if let Some(b) = basic_auth {
            let (u, p) = user_password("basic_auth", b)?;
            n = n.with_basic_auth(&u, &p);
        }
        if let Some(path) = ca {
            n = n.with_ca(&ca_file(path)?).map_err(failed)?;
        }
        Ok(Notifier { inner: Arc::new(n) })
    }

    /// A webhook at `url` in `shape` `"alertmanager"`, `"slack"` or `"teams"`, with a `bearer` token, `ca` and
    /// `timeout` as for `alertmanager`.
    #[staticmethod]
    #[pyo3(signature = (url, *, shape = "alertmanager", bearer = None, ca = None, timeout = 10.0))]
    fn webhook(
        url: &str,
        shape: &str,
        bearer: Option<&str>,
        ca: Option<&str>,
        timeout: f64,
    ) -> PyResult<Notifier> {
        let mut n = match shape {
            "alertmanager" => alert::Webhook::new(url),
            "slack" => alert::Webhook::slack(url),
            "teams" => alert::Webhook::teams(url),
            other => {
                return Err(pyo3::exceptions::PyValueError::new_err(format!(
                    "shape {other:?}: alertmanager, slack or teams"
                )));
            }
        }
        .map_err(failed)?
        .with_timeout(seconds("timeout", timeout)?);
        if let Some(t) = bearer {
            n = n.with_bearer(t);
        }
        if let Some(path) = ca {
            n = n.with_ca(&ca_file(path)?).map_err(failed)?;
        }
        Ok(Notifier { inner: Arc::new(n) })
    }

    /// E-mail through the SMTP server at `host:port` (STARTTLS required), from `sender` to each of `to`, one
    /// message per batch; `credentials` `"user:password"`, `ca` and `timeout` as for `alertmanager`.
    #[staticmethod]
    #[pyo3(signature = (host, port, *, sender, to, credentials = None, ca = None, timeout = 10.0))]
    #[allow(clippy::too_many_arguments)]
    fn email(
        host: &str,
        port: u16,
        sender: &str,
        to: Vec<String>,
        credentials: Option<&str>,
        ca: Option<&str>,
        timeout: f64,
    ) -> PyResult<Notifier> {
        let to: Vec<&str> = to.iter().map(String::as_str).collect();
        let mut n = alert::Email::new(host, port, sender, &to)
            .map_err(failed)?
            .with_timeout(seconds("timeout", timeout)?);
        if let Some(c) = credentials {
            let (u, p) = user_password("credentials", c)?;
            n = n.with_credentials(&u, &p);
        }
        if let Some(path) = ca {
            n = n.with_ca(&ca_file(path)?).map_err(failed)?;
        }
        Ok(Notifier { inner: Arc::new(n) })
    }

    /// The receiver, as logs name it.
    #[getter]
    fn name(&self) -> String {
        self.inner.name().to_string()
    }

    /// Sends the firing and resolved transitions among `events` (pending ones are skipped); a failure is a
    /// `NotificationError` whose `permanent` says whether sending again can succeed.
    fn notify(&self, py: Python<'_>, events: Vec<PyRef<'_, AlertEvent>>) -> PyResult<()> {
        let (n, batch) = (self.inner.clone(), batch(&events));
        block(py, async move { n.notify(&batch).await })?.map_err(failed)
    }

    /// `notify`, awaitable.
    fn notify_async<'py>(
        &self,
        py: Python<'py>,
        events: Vec<PyRef<'py, AlertEvent>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (n, batch) = (self.inner.clone(), batch(&events));
        crate::aio::awaitable(
            py,
            async move { n.notify(&batch).await.map_err(|e| failed(e).into()) },
        )
    }

    fn __repr__(&self) -> String {
        format!("Notifier({})", self.inner.name())
    }
}

fn batch(events: &[PyRef<'_, AlertEvent>]) -> Vec<alert::AlertEvent> {
    events.iter().map(|e| e.inner.clone()).collect()
}
