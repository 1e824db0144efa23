//! Leader election with fencing tokens.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

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
    /// The leader's own election entry disappeared (deleted by an operator, or taken over).
    Deposed,
    /// The lease was not renewed in time (lease-based backends): past its local deadline, which comes before
    /// the servers can let the lease expire, the leader stops trusting itself.
    LeaseExpired {
        /// The lease length.
        lease: Duration,
    },
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
            LossReason::LeaseExpired { lease } => write!(f, "lease of {lease:?} not renewed in time"),
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

    /// The current grant as the backend records it: the leader and its term's fencing token, or `None` while
    /// nobody holds the election. A writer outside the cluster (the analysis service) checks a request's token
    /// against it: a token that is not the current grant's is stale or forged, and is refused without
    /// raising any fence.
    async fn grant(&self) -> Result<Option<Grant>>;
}

/// Who holds an election, and with which token; see [`Election::grant`].
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use aeroguard_consensus::{Coordinator, memory::MemoryCluster};
/// let cluster = MemoryCluster::new();
/// let a = cluster.connect("node-a".parse()?)?;
/// let lead = a.election("pump-1")?.campaign().await?;
/// let grant = a.election("pump-1")?.grant().await?.expect("held");
/// assert_eq!((grant.node.as_str(), grant.token), ("node-a", lead.token()));
/// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// The leader.
    pub node: NodeId,
    /// Its term's token.
    pub token: FencingToken,
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
    lease: Option<Arc<LeaseClock>>,
    tenure: Option<Box<dyn Tenure>>,
}

/// A lease's local deadline, moved forward by each renewal and read without waiting: a leader that wakes from a
/// long pause knows at once, before any task has run, that its lease may have passed to someone else.
#[derive(Debug)]
pub(crate) struct LeaseClock {
    base: Instant,
    lease: Duration,
    deadline_nanos: AtomicU64,
}

impl LeaseClock {
    /// A clock whose deadline is `deadline`.
    pub fn new(lease: Duration, deadline: Instant) -> Arc<Self> {
        let base = Instant::now();
        let clock = LeaseClock {
            base,
            lease,
            deadline_nanos: AtomicU64::new(0),
        };
        clock.extend_to(deadline);
        Arc::new(clock)
    }

    /// Moves the deadline to `deadline` (never backwards).
    pub fn extend_to(&self, deadline: Instant) {
        let nanos =
            u64::try_from(deadline.saturating_duration_since(self.base).as_nanos()).unwrap_or(u64::MAX);
        self.deadline_nanos.fetch_max(nanos, Ordering::SeqCst);
    }

    /// The deadline.
    pub fn deadline(&self) -> Instant {
        self.base + Duration::from_nanos(self.deadline_nanos.load(Ordering::SeqCst))
    }

    /// Whether the deadline has passed.
    pub fn expired(&self) -> bool {
        Instant::now() >= self.deadline()
    }

    /// The lease length.
    pub fn lease(&self) -> Duration {
        self.lease
    }
}

impl Leadership {
    /// A term; spawns its watchdog (see [`spawn_watchdog`]).
    pub(crate) fn start(
        election: &str,
        node: NodeId,
        token: FencingToken,
        session: watch::Receiver<crate::SessionStatus>,
        grace: Duration,
        gone: impl std::future::Future<Output = LossReason> + Send + 'static,
        tenure: Box<dyn Tenure>,
    ) -> Self {
        let epoch = session.borrow().epoch;
        let (status_tx, status) = watch::channel(None);
        let span = tracing::info_span!("leadership", election, node = %node, token = token.0);
        spawn_watchdog(status_tx.clone(), session.clone(), epoch, grace, gone, span);
        Leadership {
            election: election.to_string(),
            node,
            token,
            status,
            status_tx,
            session,
            epoch,
            lease: None,
            tenure: Some(tenure),
        }
    }

    /// Adds a lease deadline that [`loss`](Self::loss) checks synchronously.
    pub(crate) fn with_lease(mut self, lease: Arc<LeaseClock>) -> Self {
        self.lease = Some(lease);
        self
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
        if let Some(lease) = &self.lease
            && lease.expired()
        {
            return Some(LossReason::LeaseExpired { lease: lease.lease() });
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

    /// The writer of this term for a fenced store (its token and this node), or [`Error::LeadershipLost`]
    /// if the leadership is no longer trusted: call before each write made on the leader's behalf.
    pub fn writer(&self) -> Result<crate::history::Writer> {
        Ok(crate::history::Writer::new(self.ensure()?, self.node.as_str()))
    }

    /// Resolves when the leadership can no longer be trusted, with the reason.
    pub async fn lost(&self) -> LossReason {
        self.loss_notice().await
    }

    /// [`lost`](Self::lost) as a future that holds no borrow of the term: one task waits on it while another
    /// resigns (which it then reports), or drops the term ([`LossReason::Closed`]).
    pub fn loss_notice(&self) -> impl std::future::Future<Output = LossReason> + Send + 'static {
        let now = self.loss();
        let mut rx = self.status.clone();
        async move {
            if let Some(reason) = now {
                return reason;
            }
            match rx.wait_for(|s| s.is_some()).await {
                Ok(s) => (*s).unwrap_or(LossReason::Closed),
                Err(_) => LossReason::Closed,
            }
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
/// `grace`, or when `gone` resolves with its reason (the backend saw the leader's own entry disappear, or its
/// lease run out).
fn spawn_watchdog(
    status_tx: watch::Sender<Option<LossReason>>,
    mut session: watch::Receiver<crate::SessionStatus>,
    epoch: u64,
    grace: Duration,
    gone: impl std::future::Future<Output = LossReason> + Send + 'static,
    span: tracing::Span,
) {
    use crate::SessionState;
    let mark = |status_tx: &watch::Sender<Option<LossReason>>, reason: LossReason| {
        if status_tx.send_if_modified(|s| s.is_none().then(|| *s = Some(reason)).is_some()) {
            tracing::info!(%reason, "leadership lost");
        }
    };
    let watchdog = async move {
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
                    // Give the connection `grace` to come back within the same session. `gone` keeps running
                    // meanwhile: it may be the very work (lease renewals) that brings the connection back, and
                    // a renewal frozen half-way would hold up every other call sharing its connection.
                    let back = session.wait_for(|s| s.state != SessionState::Suspended || s.epoch != epoch);
                    tokio::select! {
                        waited = tokio::time::timeout(grace, back) => match waited {
                            Ok(Ok(_)) => continue,
                            Ok(Err(_)) => Some(LossReason::Closed),
                            Err(_) => Some(LossReason::Suspended { grace }),
                        },
                        reason = &mut gone => Some(reason),
                    }
                }
            };
            if let Some(reason) = verdict {
                mark(&status_tx, reason);
                return;
            }
            tokio::select! {
                changed = session.changed() => {
                    if changed.is_err() {
                        mark(&status_tx, LossReason::Closed);
                        return;
                    }
                }
                reason = &mut gone => {
                    mark(&status_tx, reason);
                    return;
                }
                _ = status_tx.closed() => return,
            }
        }
    };
    tokio::spawn(tracing::Instrument::instrument(watchdog, span));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SessionState, SessionStatus};

    #[derive(Debug)]
    struct NoTenure;

    #[async_trait]
    impl Tenure for NoTenure {
        async fn resign(&self) -> Result<()> {
            Ok(())
        }
        fn resign_in_background(&self) {}
    }

    /// The backend's loss future keeps running while the session is suspended (Redis renews its lease there,
    /// and a renewal frozen half-way held up every other call on its connection until the grace ran out).
    #[tokio::test(start_paused = true)]
    async fn the_loss_future_runs_while_the_session_is_suspended() {
        let (_session_tx, session) = watch::channel(SessionStatus {
            state: SessionState::Suspended,
            epoch: 1,
        });
        let gone = async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            LossReason::Deposed
        };
        let node: NodeId = "n1".parse().expect("a valid node id");
        let lead = Leadership::start(
            "e",
            node,
            FencingToken(1),
            session,
            Duration::from_secs(5),
            gone,
            Box::new(NoTenure),
        );
        let started = tokio::time::Instant::now();
        assert_eq!(lead.lost().await, LossReason::Deposed);
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "reported before the grace ran out"
        );
    }
}
