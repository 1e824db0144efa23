//! The state of a coordinator's session with its backend, on one channel.

use serde::{Deserialize, Serialize};

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
