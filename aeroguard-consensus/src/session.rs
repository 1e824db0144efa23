//! The state of a coordinator's session with its backend, on one channel.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Where a coordinator's session stands.
///
/// ZooKeeper semantics, which the other backends mirror: `Suspended` means the connection is lost but the
/// session may still be alive on the servers (its ephemeral nodes, leadership and claims still stand, until the
/// session timeout); `Expired` means the servers dropped the session and everything ephemeral with it. A
/// coordinator that rebuilds its session after expiry reports `Connected` again with a higher `epoch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionState {
    /// Connected: operations go through.
    Connected,
    /// Connection lost; the session may still be alive. Operations fail with `ConnectionLoss`.
    Suspended,
    /// The session is gone, with every ephemeral thing it owned.
    Expired,
    /// The coordinator was closed.
    Closed,
}

/// The session state and which session it is about.
///
/// ```
/// use aeroguard_consensus::{SessionState, SessionStatus};
/// let s = SessionStatus { state: SessionState::Connected, epoch: 1 };
/// assert!(s.is_connected());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SessionStatus {
    /// The state.
    pub state: SessionState,
    /// Which session: 1 for the first, one more for each session rebuilt after an expiry.
    pub epoch: u64,
}

impl SessionStatus {
    /// Whether operations can go through now.
    pub fn is_connected(&self) -> bool {
        self.state == SessionState::Connected
    }
}

/// The session parameters every backend shares: the session timeout `T` and the leader's grace.
///
/// `T` is how long a silent session lives on before the backend drops it (with its candidacy, registrations
/// and claims). The grace is how long a leader tolerates a suspended connection before it stops trusting its
/// leadership; it is at most `T/2`, so the old leader has given up well before any other candidate can be
/// elected (`T` after the old leader's last contact).
///
/// ```
/// use std::time::Duration;
/// use aeroguard_consensus::SessionOptions;
///
/// let s = SessionOptions::new(Duration::from_secs(2));
/// assert_eq!(s.grace, Duration::from_secs(1));
/// let s = s.with_grace(Duration::from_millis(600));
/// assert!(s.validate().is_ok());
/// let err = SessionOptions::new(Duration::from_secs(2)).with_grace(Duration::from_millis(1500)).validate();
/// assert!(err.unwrap_err().to_string().contains("grace"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionOptions {
    /// The session timeout `T`.
    pub timeout: Duration,
    /// How long a leader tolerates a suspended connection before it stops trusting its leadership.
    pub grace: Duration,
}

impl SessionOptions {
    /// A session timeout `timeout`, with the grace at half of it.
    pub const fn new(timeout: Duration) -> Self {
        SessionOptions {
            timeout,
            grace: Duration::from_nanos((timeout.as_nanos() / 2) as u64),
        }
    }

    /// Sets the grace.
    pub const fn with_grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// Checks the timeout is above zero and the grace at most half of it.
    pub fn validate(&self) -> Result<()> {
        if self.timeout.is_zero() {
            return Err(Error::parameter(
                "session_timeout",
                self.timeout,
                "must be above zero",
            ));
        }
        if self.grace > self.timeout / 2 {
            return Err(Error::parameter(
                "grace",
                self.grace,
                "must be at most half of the session timeout",
            ));
        }
        Ok(())
    }
}

impl Default for SessionOptions {
    /// A 2 s session with a 600 ms grace.
    fn default() -> Self {
        SessionOptions::new(Duration::from_secs(2)).with_grace(Duration::from_millis(600))
    }
}
