//! One exception hierarchy under `aeroguard.AeroGuardError`; bad parameters and shapes are `ValueError`,
//! timeouts `TimeoutError`.

use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyTimeoutError, PyValueError};
use pyo3::prelude::*;

create_exception!(
    aeroguard,
    AeroGuardError,
    PyException,
    "Base of every AeroGuard error."
);
create_exception!(
    aeroguard,
    FusionError,
    AeroGuardError,
    "The readings cannot support a trustworthy value."
);
create_exception!(
    aeroguard,
    NotFittedError,
    AeroGuardError,
    "The detector has not been fitted."
);
create_exception!(
    aeroguard,
    ModelError,
    AeroGuardError,
    "A model failed to fit, save or load."
);
create_exception!(
    aeroguard,
    CoordinationError,
    AeroGuardError,
    "A coordination call failed."
);
create_exception!(
    aeroguard,
    ConnectionLossError,
    CoordinationError,
    "The connection to the backend is lost."
);
create_exception!(
    aeroguard,
    SessionExpiredError,
    CoordinationError,
    "The session expired."
);
create_exception!(
    aeroguard,
    ConflictError,
    CoordinationError,
    "A compare-and-set found another version."
);
create_exception!(
    aeroguard,
    NotFoundError,
    CoordinationError,
    "Something the call needs does not exist."
);
create_exception!(
    aeroguard,
    FencedError,
    CoordinationError,
    "A write carried a stale fencing token."
);
create_exception!(
    aeroguard,
    LeadershipLostError,
    CoordinationError,
    "The leadership is no longer trusted."
);

create_exception!(
    aeroguard,
    AccessDeniedError,
    CoordinationError,
    "The backend refused the credentials, or the identity may not do this (an ACL)."
);
create_exception!(
    aeroguard,
    NotReplicatedError,
    CoordinationError,
    "A write reached the master but not the replicas `min_replicas` asks for in time (a failover may lose it)."
);
create_exception!(
    aeroguard,
    NotificationError,
    AeroGuardError,
    "A notification did not go through; its `permanent` attribute says whether sending it again can succeed."
);

/// Registers the exceptions on the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("AeroGuardError", py.get_type::<AeroGuardError>())?;
    m.add("FusionError", py.get_type::<FusionError>())?;
    m.add("NotFittedError", py.get_type::<NotFittedError>())?;
    m.add("ModelError", py.get_type::<ModelError>())?;
    m.add("CoordinationError", py.get_type::<CoordinationError>())?;
    m.add("ConnectionLossError", py.get_type::<ConnectionLossError>())?;
    m.add("SessionExpiredError", py.get_type::<SessionExpiredError>())?;
    m.add("ConflictError", py.get_type::<ConflictError>())?;
    m.add("NotFoundError", py.get_type::<NotFoundError>())?;
    m.add("FencedError", py.get_type::<FencedError>())?;
    m.add("LeadershipLostError", py.get_type::<LeadershipLostError>())?;
    m.add("AccessDeniedError", py.get_type::<AccessDeniedError>())?;
    m.add("NotReplicatedError", py.get_type::<NotReplicatedError>())?;
    let notification = py.get_type::<NotificationError>();
    // Set on each error raised; the class's own value is the safe reading (retry).
    notification.setattr("permanent", false)?;
    m.add("NotificationError", notification)?;
    Ok(())
}

/// "Not fitted", as the package's public `aeroguard.NotFittedError` (an `AeroGuardError` and scikit-learn's
/// `NotFittedError`), or the extension's own where the package cannot be imported.
pub fn not_fitted(what: &str) -> PyErr {
    let text = format!("{what} is not fitted: call fit first");
    Python::attach(|py| {
        py.import("aeroguard._sklearn")
            .and_then(|m| m.getattr("NotFittedError"))
            .ok()
            .and_then(|class| class.cast_into::<pyo3::types::PyType>().ok())
            .map_or_else(
                || NotFittedError::new_err(text.clone()),
                |class| PyErr::from_type(class, text.clone()),
            )
    })
}

/// Detection errors: bad input is a `ValueError`, a model problem a `ModelError`.
pub fn detect(e: aeroguard_detect::Error) -> PyErr {
    use aeroguard_detect::Error as E;
    match e {
        E::Model { .. } | E::Fit { .. } => ModelError::new_err(e.to_string()),
        _ => PyValueError::new_err(e.to_string()),
    }
}

/// Fusion errors: bad parameters are a `ValueError`, readings that cannot agree a `FusionError`.
pub fn core(e: aeroguard_core::Error) -> PyErr {
    use aeroguard_core::Error as E;
    match e {
        E::InvalidId { .. } | E::InvalidParameter { .. } => PyValueError::new_err(e.to_string()),
        _ => FusionError::new_err(e.to_string()),
    }
}

/// A fusion error for part of a call (`where_`: `row 3`), named in its message; kinds as [`core`] maps them.
pub fn core_at(e: aeroguard_core::Error, where_: &str) -> PyErr {
    use aeroguard_core::Error as E;
    let text = format!("{where_}: {e}");
    match e {
        E::InvalidId { .. } | E::InvalidParameter { .. } => PyValueError::new_err(text),
        _ => FusionError::new_err(text),
    }
}

/// Coordination errors, by kind.
pub fn consensus(e: aeroguard_consensus::Error) -> PyErr {
    use aeroguard_consensus::Error as E;
    let text = e.to_string();
    match e {
        E::Timeout { .. } => PyTimeoutError::new_err(text),
        E::ConnectionLoss { .. } | E::Unreachable { .. } | E::Overloaded { .. } => {
            ConnectionLossError::new_err(text)
        }
        E::SessionExpired { .. } => SessionExpiredError::new_err(text),
        E::Conflict { .. } => ConflictError::new_err(text),
        E::NotFound { .. } => NotFoundError::new_err(text),
        E::Fenced { .. } | E::FenceHeld { .. } => FencedError::new_err(text),
        E::LeadershipLost { .. } => LeadershipLostError::new_err(text),
        E::NotReplicated { .. } => NotReplicatedError::new_err(text),
        E::Unauthorized { .. } | E::Forbidden { .. } => AccessDeniedError::new_err(text),
        E::InvalidName { .. } | E::InvalidParameter { .. } | E::Invalid { .. } => PyValueError::new_err(text),
        _ => CoordinationError::new_err(text),
    }
}

/// What a binding can fail with: a Python error, or a library's, mapped to its exception when it crosses into
/// Python (the wrapper polars uses, so `?` works on every library call).
///
/// `#[pymethods]` and `#[pyfunction]`s return [`Result`]; PyO3 turns the error into the exception through
/// `From<Error> for PyErr`.
#[derive(Debug)]
pub enum Error {
    /// Already a Python exception.
    Py(PyErr),
    /// A detector or the ensemble failed.
    Detect(aeroguard_detect::Error),
    /// Fusion failed, or an identifier was refused.
    Core(aeroguard_core::Error),
    /// A coordination call failed.
    Consensus(aeroguard_consensus::Error),
    /// A forecast or a remaining-life model failed.
    Prognostics(aeroguard_prognostics::Error),
}

/// `Result<T, Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<PyErr> for Error {
    fn from(e: PyErr) -> Self {
        Error::Py(e)
    }
}

impl From<aeroguard_detect::Error> for Error {
    fn from(e: aeroguard_detect::Error) -> Self {
        Error::Detect(e)
    }
}

impl From<aeroguard_core::Error> for Error {
    fn from(e: aeroguard_core::Error) -> Self {
        Error::Core(e)
    }
}

impl From<aeroguard_consensus::Error> for Error {
    fn from(e: aeroguard_consensus::Error) -> Self {
        Error::Consensus(e)
    }
}

impl From<aeroguard_prognostics::Error> for Error {
    fn from(e: aeroguard_prognostics::Error) -> Self {
        Error::Prognostics(e)
    }
}

/// Prognostics errors: a model that could not be trained is a `ModelError`, bad input a `ValueError`.
pub fn prognostics(e: aeroguard_prognostics::Error) -> PyErr {
    match e {
        aeroguard_prognostics::Error::Training(_) => ModelError::new_err(e.to_string()),
        _ => PyValueError::new_err(e.to_string()),
    }
}

impl From<Error> for PyErr {
    fn from(e: Error) -> PyErr {
        match e {
            Error::Py(e) => e,
            Error::Detect(e) => detect(e),
            Error::Core(e) => core(e),
            Error::Consensus(e) => consensus(e),
            Error::Prognostics(e) => prognostics(e),
        }
    }
}

/// A `ValueError` as an [`Error`], for functions that return [`Result`].
pub fn value_error<A: pyo3::PyErrArguments + Send + Sync + 'static>(args: A) -> Error {
    Error::Py(PyValueError::new_err(args))
}
