//! The one error type of `aeroguard-consensus`.

use std::time::Duration;

/// Everything that can go wrong in coordination. Each kind names what was wrong.
///
/// ```
/// use aeroguard_consensus::Error;
/// let e = Error::Timeout { operation: "queue take", after: std::time::Duration::from_millis(250) };
/// assert_eq!(e.to_string(), "queue take timed out after 250ms");
/// assert!(e.is_retryable());
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The connection to the coordination service is lost (the session may still be alive): retry later.
    #[error("connection to {backend} lost during {operation}")]
    ConnectionLoss {
        /// `"zookeeper"`, `"redis"` or `"memory"`.
        backend: &'static str,
        /// What was being done.
        operation: &'static str,
    },
    /// No server answered when connecting: the servers are down, or elsewhere than the options say. Retry later,
    /// or check the addresses.
    #[error("{backend} unreachable at {target}: no server answered within {after:?}")]
    Unreachable {
        /// `"zookeeper"` or `"redis"`.
        backend: &'static str,
        /// The addresses tried.
        target: String,
        /// How long the connection was given.
        after: Duration,
    },
    /// The server refused the operation for now and did nothing (Redis `OOM` under `maxmemory`, `BUSY` while a
    /// script runs long): retry later. The backend already retried with backoff for a while.
    #[error("{backend} refused {operation} for now: {reason}")]
    Overloaded {
        /// `"redis"`.
        backend: &'static str,
        /// What was being done.
        operation: &'static str,
        /// The server's answer.
        reason: String,
    },
    /// The session expired: its ephemeral state (leadership, registrations, claims) is gone.
    #[error("session expired during {operation}")]
    SessionExpired {
        /// What was being done.
        operation: &'static str,
    },
    /// The coordinator was closed.
    #[error("coordinator closed")]
    Closed,
    /// An operation did not finish in time.
    #[error("{operation} timed out after {after:?}")]
    Timeout {
        /// What was being done.
        operation: &'static str,
        /// The time limit.
        after: Duration,
    },
    /// A compare-and-set found another version.
    #[error("conflict on {key}: expected {expected}, found {actual}")]
    Conflict {
        /// The key (config key, registration, round).
        key: String,
        /// What the caller expected, formatted.
        expected: String,
        /// What was there, formatted.
        actual: String,
    },
    /// Something the operation needs does not exist.
    #[error("{what} not found: {key}")]
    NotFound {
        /// What kind of thing.
        what: &'static str,
        /// Its key.
        key: String,
    },
    /// A name (election, service, key, queue) is not valid.
    #[error("invalid {what} name {name:?}: {reason}")]
    InvalidName {
        /// What kind of name.
        what: &'static str,
        /// The rejected name.
        name: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// A stored value could not be decoded or failed validation.
    #[error("{what} {key} (version {version}) rejected: {reason}")]
    Invalid {
        /// What kind of value.
        what: &'static str,
        /// Its key.
        key: String,
        /// The version that was rejected.
        version: u64,
        /// Why.
        reason: String,
    },
    /// A parameter chosen by the program is out of range.
    #[error("invalid parameter `{name}` = {value}: {reason}")]
    InvalidParameter {
        /// The parameter.
        name: &'static str,
        /// The rejected value, formatted.
        value: String,
        /// What it must be.
        reason: &'static str,
    },
    /// A write carried a fencing token lower than one already seen: the writer is a stale leader.
    #[error("fenced: {key} has seen token {highest}, write carried {token}")]
    Fenced {
        /// What was written.
        key: String,
        /// The writer's token.
        token: u64,
        /// The highest token the store has seen.
        highest: u64,
    },
    /// A write carried the fencing token the store has seen, from another owner: two writers claimed the same
    /// grant, and the first one keeps it.
    #[error("fenced: token {token} of {key} belongs to {holder}, not to {writer}")]
    FenceHeld {
        /// What was written.
        key: String,
        /// The token both claimed.
        token: u64,
        /// Who wrote with it first.
        holder: String,
        /// Who was refused.
        writer: String,
    },
    /// The leadership this operation relied on is no longer trusted.
    #[error("leadership of {election} lost: {reason}")]
    LeadershipLost {
        /// The election.
        election: String,
        /// Why it was lost.
        reason: crate::election::LossReason,
    },
    /// A write reached the master but not as many replicas as the durability setting asks for (it may be lost
    /// in a failover).
    #[error("{operation} reached {acked} of {wanted} replicas")]
    NotReplicated {
        /// What was being done.
        operation: &'static str,
        /// Replicas asked for.
        wanted: u32,
        /// Replicas that acknowledged in time.
        acked: u32,
    },
    /// The backend did not accept this client's credentials: none were given where they are required, the
    /// password was wrong, or the user is unknown or disabled. Nothing was done.
    #[error("{backend} refused the credentials during {operation}: {reason}")]
    Unauthorized {
        /// `"zookeeper"` or `"redis"`.
        backend: &'static str,
        /// What was being done.
        operation: &'static str,
        /// The backend's answer, or what was missing.
        reason: String,
    },
    /// The credentials were accepted, but the identity may not do this (a ZooKeeper ACL, a Redis ACL rule).
    /// Nothing was done.
    #[error("{backend} forbids {operation} to this identity: {reason}")]
    Forbidden {
        /// `"zookeeper"` or `"redis"`.
        backend: &'static str,
        /// What was being done.
        operation: &'static str,
        /// The backend's answer.
        reason: String,
    },
    /// The backend answered with something this crate does not map to a kind above.
    #[error("{backend} error during {operation}: {message}")]
    Backend {
        /// `"zookeeper"`, `"redis"` or `"memory"`.
        backend: &'static str,
        /// What was being done.
        operation: &'static str,
        /// The backend's own message.
        message: String,
        /// The error it came from, when there was one: [`std::error::Error::source`] walks on to it.
        #[source]
        cause: Option<aeroguard_core::Cause>,
    },
}

impl Error {
    /// A backend's failure of `operation`, keeping `cause` as its source.
    ///
    /// ```
    /// use std::error::Error as _;
    /// let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "read-only file system");
    /// let e = aeroguard_consensus::Error::backend("outbox", "open", io);
    /// assert_eq!(e.to_string(), "outbox error during open: read-only file system");
    /// assert_eq!(e.source().map(|s| s.to_string()).as_deref(), Some("read-only file system"));
    /// ```
    pub fn backend(
        backend: &'static str,
        operation: &'static str,
        cause: impl std::error::Error + Send + Sync + 'static,
    ) -> Error {
        Error::Backend {
            backend,
            operation,
            message: cause.to_string(),
            cause: Some(aeroguard_core::Cause::new(cause)),
        }
    }

    /// Whether retrying the same call later can succeed (connection loss, timeout, an overloaded server).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Error::ConnectionLoss { .. }
                | Error::Unreachable { .. }
                | Error::Timeout { .. }
                | Error::Overloaded { .. }
        )
    }

    pub(crate) fn parameter(name: &'static str, value: impl std::fmt::Debug, reason: &'static str) -> Self {
        Error::InvalidParameter {
            name,
            value: format!("{value:?}"),
            reason,
        }
    }
}

/// `Result<T, Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Splits `user:password` (the form of every credential the backends take), never echoing the password.
#[cfg(any(feature = "zookeeper", feature = "redis"))]
pub(crate) fn split_credentials(user_password: &str) -> Result<(&str, &str)> {
    user_password
        .split_once(':')
        .ok_or_else(|| Error::parameter("credentials", "(redacted)", "must be user:password"))
}

/// A password of 1 to 1024 characters, never echoed in the error.
#[cfg(any(feature = "zookeeper", feature = "redis"))]
pub(crate) fn check_password(password: &str) -> Result<()> {
    if password.is_empty() || password.len() > 1024 {
        return Err(Error::parameter(
            "password",
            "(redacted)",
            "must be 1 to 1024 characters",
        ));
    }
    Ok(())
}

/// Validates a name used in paths and keys: 1 to 128 characters from `[A-Za-z0-9_.:-]`.
pub(crate) fn check_name(what: &'static str, name: &str) -> Result<()> {
    match aeroguard_core::identifier_problem(name) {
        Some(reason) => Err(Error::InvalidName {
            what,
            name: name.chars().take(160).collect(),
            reason,
        }),
        None => Ok(()),
    }
}

/// Logs the failure of a best-effort operation: cleanup that the session timeout also covers (a lease, a
/// registration or a session key left behind expires on the server), so the caller goes on.
pub(crate) fn best_effort<T, E: std::fmt::Display>(
    operation: &'static str,
    result: std::result::Result<T, E>,
) {
    if let Err(error) = result {
        tracing::debug!(operation, %error, "best-effort operation failed; the session timeout cleans up");
    }
}
