//! Leader election with fencing tokens.

use std::fmt;
use std::time::Duration;

use aeroguard_core::NodeId;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::{Error, Result};

/// A number that strictly increases over every term of one election: whoever writes on a leader's behalf
/// passes it along, and stores refuse a token lower than the highest they have seen, so a deposed leader that
/// wakes up late cannot overwrite its successor's work.
///
/// ```
/// use aeroguard_consensus::FencingToken;
/// assert!(FencingToken(7) > FencingToken(3));
/// assert_eq!(FencingToken(7).to_string(), "#7");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FencingToken(pub u64);

impl fmt::Display for FencingToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// Why a leadership is no longer trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
#[non_exhaustive]
pub enum LossReason {
    /// The connection was suspended longer than the grace (which is shorter than the session timeout, so the
    /// leader gives up before the servers can expire its session and elect another).
    Suspended {
        /// The grace that passed.
        grace: Duration,
    },
    /// The session expired.
    SessionExpired,
    /// The leader's own election entry disappeared (deleted by an operator, or its lease ran out).
    Deposed,
    /// The leader resigned.
    Resigned,
    /// The coordinator was closed.
    Closed,
}

impl fmt::Display for LossReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LossReason::Suspended { grace } => write!(f, "connection suspended longer than {grace:?}"),
            LossReason::SessionExpired => f.write_str("session expired"),
            LossReason::Deposed => f.write_str("election entry removed"),
            LossReason::Resigned => f.write_str("resigned"),
            LossReason::Closed => f.write_str("coordinator closed"),
        }
    }
}

/// One election, named; see [`Coordinator::election`](crate::Coordinator::election).
///
/// Candidates queue in the order they joined; each watches only its predecessor, so a leader's departure
/// wakes one candidate, not all (no herd effect).
#[async_trait]
pub trait Election: fmt::Debug + Send + Sync + 'static {
    /// The election's name.
    fn name(&self) -> &str;

    /// Joins the election as this coordinator's node and resolves once elected.
    ///
    /// Cancel-safe: dropping the future before it resolves withdraws the candidacy.
    async fn campaign(&self) -> Result<Leadership>;

    /// The current leader, if any.
    async fn leader(&self) -> Result<Option<NodeId>>;

    /// Every candidate, the leader first, then in succession order.
    async fn contenders(&self) -> Result<Vec<NodeId>>;
}

/// The backend's side of a term: how to step down.
#[async_trait]
pub(crate) trait Tenure: fmt::Debug + Send + Sync {
    /// Withdraws from the election now.
    async fn resign(&self) -> Result<()>;
    /// Withdraws without waiting (from `Drop`).
    fn resign_in_background(&self);
}

/// A term of leadership: the fencing token, a way to learn that it can no longer be trusted, and resignation
/// (explicit with [`resign`](Self::resign), or by dropping it).
#[derive(Debug)]
pub struct Leadership {
    election: String,
    node: NodeId,
    token: FencingToken,
    status: watch::Receiver<Option<LossReason>>,
    status_tx: watch::Sender<Option<LossReason>>,
    session: watch::Receiver<crate::SessionStatus>,
    epoch: u64,
    tenure: Option<Box<dyn Tenure>>,
}

impl Leadership {
    /// A term; spawns its watchdog (see [`spawn_watchdog`]).
    pub(crate) fn start(
        election: &str,
        node: NodeId,
        token: FencingToken,
        session: watch::Receiver<crate::SessionStatus>,
        grace: Duration,
        gone: impl std::future::Future<Output = ()> + Send + 'static,
        tenure: Box<dyn Tenure>,
    ) -> Self {
        let epoch = session.borrow().epoch;
        let (status_tx, status) = watch::channel(None);
        spawn_watchdog(status_tx.clone(), session.clone(), epoch, grace, gone);
        Leadership {
            election: election.to_string(),
            node,
            token,
            status,
            status_tx,
            session,
            epoch,
            tenure: Some(tenure),
        }
    }

    /// The fencing token of this term.
    pub fn token(&self) -> FencingToken {
        self.token
    }

    /// The leader (this coordinator's node).
    pub fn node(&self) -> &NodeId {
        &self.node
    }

    /// The election's name.
    pub fn election(&self) -> &str {
        &self.election
    }

    /// Whether the leadership can still be trusted right now.
    pub fn is_trusted(&self) -> bool {
        self.loss().is_none()
    }

    /// Why it is no longer trusted, if it is not. An expired or closed session counts at once, without
    /// waiting for the watchdog to notice.
    pub fn loss(&self) -> Option<LossReason> {
        if let Some(reason) = *self.status.borrow() {
            return Some(reason);
        }
        let session = *self.session.borrow();
        match session.state {
            _ if session.epoch != self.epoch => Some(LossReason::SessionExpired),
            crate::SessionState::Expired => Some(LossReason::SessionExpired),
            crate::SessionState::Closed => Some(LossReason::Closed),
            _ => None,
        }
    }

    /// The token, or [`Error::LeadershipLost`] if the leadership is no longer trusted: call before each write
    /// made on the leader's behalf.
    pub fn ensure(&self) -> Result<FencingToken> {
        match self.loss() {
            None => Ok(self.token),
            Some(reason) => Err(Error::LeadershipLost {
                election: self.election.clone(),
                reason,
            }),
        }
    }

    /// Resolves when the leadership can no longer be trusted, with the reason.
    pub async fn lost(&self) -> LossReason {
        if let Some(reason) = self.loss() {
            return reason;
        }
        let mut rx = self.status.clone();
        match rx.wait_for(|s| s.is_some()).await {
            Ok(s) => (*s).unwrap_or(LossReason::Closed),
            Err(_) => LossReason::Closed,
        }
    }

    /// Steps down now, so the next candidate is elected without waiting for a session to expire.
    pub async fn resign(mut self) -> Result<()> {
        self.status_tx.send_replace(Some(LossReason::Resigned));
        match self.tenure.take() {
            Some(t) => t.resign().await,
            None => Ok(()),
        }
    }
}

impl Drop for Leadership {
    fn drop(&mut self) {
        if let Some(t) = self.tenure.take() {
            self.status_tx.send_if_modified(|s| {
                if s.is_none() {
                    *s = Some(LossReason::Resigned);
                    true
                } else {
                    false
                }
            });
            t.resign_in_background();
        }
    }
}

/// Watches a term and marks it lost: when the session expires or closes, when it stays suspended longer than
/// `grace`, or when `gone` resolves (the backend saw the leader's own entry disappear).
fn spawn_watchdog(
    status_tx: watch::Sender<Option<LossReason>>,
    mut session: watch::Receiver<crate::SessionStatus>,
    epoch: u64,
    grace: Duration,
    gone: impl std::future::Future<Output = ()> + Send + 'static,
) {
    use crate::SessionState;
    tokio::spawn(async move {
        tokio::pin!(gone);
        loop {
            if status_tx.borrow().is_some() {
                return;
            }
            let now = *session.borrow_and_update();
            let verdict = match now.state {
                _ if now.epoch != epoch => Some(LossReason::SessionExpired),
                SessionState::Expired => Some(LossReason::SessionExpired),
                SessionState::Closed => Some(LossReason::Closed),
                SessionState::Connected => None,
                SessionState::Suspended => {
                    // Give the connection `grace` to come back within the same session.
                    let back = session.wait_for(|s| s.state != SessionState::Suspended || s.epoch != epoch);
                    match tokio::time::timeout(grace, back).await {
                        Ok(Ok(_)) => continue,
                        Ok(Err(_)) => Some(LossReason::Closed),
                        Err(_) => Some(LossReason::Suspended { grace }),
                    }
                }
            };
            if let Some(reason) = verdict {
                status_tx.send_if_modified(|s| s.is_none().then(|| *s = Some(reason)).is_some());
                return;
            }
            tokio::select! {
                changed = session.changed() => {
                    if changed.is_err() {
                        status_tx.send_if_modified(|s| s.is_none().then(|| *s = Some(LossReason::Closed)).is_some());
                        return;
                    }
                }
                _ = &mut gone => {
                    status_tx.send_if_modified(|s| s.is_none().then(|| *s = Some(LossReason::Deposed)).is_some());
                    return;
                }
                _ = status_tx.closed() => return,
            }
        }
    });
}
