//! The Redis election authority for Python: members whose own logins may not write elections
//! (`Client(..., election_authority=True)`) ask it, and it runs their election writes as them.

use parking_lot::Mutex;
use pyo3::prelude::*;

use crate::runtime::{block, seconds};
use aeroguard_consensus::redis::{RedisElectionAuthority, RedisOptions};

use crate::redis_args::RedisArgs;

/// Serves the Redis election writes of `members` until closed. Use it as a context manager.
#[pyclass(module = "aeroguard")]
pub struct ElectionAuthority {
    pub(crate) inner: std::sync::Arc<Mutex<Option<RedisElectionAuthority>>>,
    /// What `start` serves with, for an authority made with `connect=False`.
    pub(crate) pending: Mutex<Option<AuthorityStart>>,
}

/// What an authority starts with.
pub(crate) type AuthorityStart = (aeroguard_core::NodeId, RedisOptions, Vec<aeroguard_core::NodeId>);

impl ElectionAuthority {
    /// Keeps the authority a start opened.
    pub(crate) fn started(&self, authority: RedisElectionAuthority) {
        *self.inner.lock() = Some(authority);
        self.pending.lock().take();
    }
}

#[pymethods]
impl ElectionAuthority {
    /// `instance` names this authority (distinct per running one); `members`, the nodes it serves; the rest as
    /// `Client`'s Redis arguments, `redis_auth` being the authority's own login (`redis_prefix` must be the
    /// members'); with `connect=False` it serves from `start()` (or `await start_async()`).
    #[new]
    #[pyo3(signature = (*, members, instance = "authority-1", url = None, sentinels = None, master = "aeroguard", session_timeout = 4.0, redis_auth = None, sentinel_auth = None, redis_ca = None, redis_cert = None, redis_key = None, redis_prefix = None, min_replicas = 0, replica_timeout = 1.0, connect = true))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        members: Vec<String>,
        instance: &str,
        url: Option<String>,
        sentinels: Option<Vec<String>>,
        master: &str,
        session_timeout: f64,
        redis_auth: Option<String>,
        sentinel_auth: Option<String>,
        redis_ca: Option<String>,
        redis_cert: Option<String>,
        redis_key: Option<String>,
        redis_prefix: Option<String>,
        min_replicas: u32,
        replica_timeout: f64,
        connect: bool,
    ) -> crate::errors::Result<Self> {
        let options = RedisArgs {
            url,
            sentinels,
            master: master.to_string(),
            session: seconds("session_timeout", session_timeout)?,
            auth: redis_auth,
            sentinel_auth,
            ca: redis_ca,
            cert: redis_cert,
            key: redis_key,
            prefix: redis_prefix,
            min_replicas,
            replica_timeout,
        }
        .options()?;
        let node = |n: &str| {
            n.parse()
                .map_err(|e: aeroguard_core::Error| crate::errors::value_error(format!("{n:?}: {e}")))
        };
        let instance = node(instance)?;
        let members = members
            .iter()
            .map(|m| node(m))
            .collect::<crate::errors::Result<Vec<_>>>()?;
        let authority = ElectionAuthority {
            inner: Default::default(),
            pending: Mutex::new(Some((instance, options, members))),
        };
        if connect {
            authority.start(py)?;
        }
        Ok(authority)
    }

    /// Starts serving, for an authority made with `connect=False` (nothing to do once started).
    fn start(&self, py: Python<'_>) -> crate::errors::Result<()> {
        let Some((instance, options, members)) = self.pending.lock().clone() else {
            return Ok(());
        };
        self.started(block(
            py,
            RedisElectionAuthority::start(instance, options, members),
        )??);
        Ok(())
    }

    /// Requests answered so far (refusals included).
    #[getter]
    fn served(&self) -> u64 {
        self.inner
            .lock()
            .as_ref()
            .map_or(0, RedisElectionAuthority::served)
    }

    /// Requests refused so far.
    #[getter]
    fn refused(&self) -> u64 {
        self.inner
            .lock()
            .as_ref()
            .map_or(0, RedisElectionAuthority::refused)
    }

    /// Stops serving (again: nothing).
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let Some(authority) = self.inner.lock().take() else {
            return Ok(());
        };
        block(py, authority.close())
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __exit__(&self, py: Python<'_>, _t: Py<PyAny>, _v: Py<PyAny>, _tb: Py<PyAny>) -> PyResult<bool> {
        self.close(py)?;
        Ok(false)
    }
}
