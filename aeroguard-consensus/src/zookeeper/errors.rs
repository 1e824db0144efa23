//! The client's errors, as the crate's.

use std::time::Duration;

use zookeeper_client as zk;

use super::BACKEND;
use crate::Error;

/// Maps a client error to the crate's.
pub(crate) fn zk_err(e: zk::Error, operation: &'static str) -> Error {
    match e {
        zk::Error::ConnectionLoss | zk::Error::NoHosts => Error::ConnectionLoss {
            backend: BACKEND,
            operation,
        },
        zk::Error::SessionExpired => Error::SessionExpired { operation },
        zk::Error::NoAuth => Error::Forbidden {
            backend: BACKEND,
            operation,
            reason: "the ACL does not grant it (NoAuth)".into(),
        },
        zk::Error::QuotaExceeded => Error::Forbidden {
            backend: BACKEND,
            operation,
            reason: "the ensemble's quota for this path (znodes or bytes) is used up (QuotaExceeded)".into(),
        },
        zk::Error::AuthFailed => Error::Unauthorized {
            backend: BACKEND,
            operation,
            reason: "authentication failed".into(),
        },
        zk::Error::ClientClosed => Error::Closed,
        zk::Error::Timeout => Error::Timeout {
            operation,
            after: Duration::ZERO,
        },
        other => Error::backend(BACKEND, operation, other),
    }
}
