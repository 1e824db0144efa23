//! A Redis election's term once granted: the lease renewed every third of the session timeout, the candidacy
//! left when it ends, and the tenure the generic [`Leadership`](crate::Leadership) asks.

use std::sync::Arc;
use std::time::Duration;

use aeroguard_core::NodeId;
use async_trait::async_trait;
use tokio::time::Instant;

use super::Session;
use super::ballot::{self, Answer, Call};
use crate::election::{LeaseClock, Tenure};
use crate::{Error, LossReason, Result};

use super::election::Keys;

pub(super) async fn leave(session: &Session, k: &Keys, member: &str) -> Result<()> {
    session.track_lease(&k.name, &k.lease, member, false);
    let call = Call::Leave {
        member: member.to_string(),
    };
    ballot::call(session, k, call).await.map(|_| ())
}

pub(super) fn leave_in_background(session: Session, k: Keys, member: String) {
    if let Ok(rt) = tokio::runtime::Handle::try_current() {
        rt.spawn(async move {
            crate::error::best_effort("leave election", leave(&session, &k, &member).await);
        });
    }
}

/// Renews the lease every `T/3` until it is lost: resolves with `Deposed` when the lease is found to be
/// someone else's, `LeaseExpired` when the local deadline passes without a successful renewal.
pub(super) async fn renew(
    session: Session,
    k: Keys,
    member: String,
    clock: Arc<LeaseClock>,
    mut last: Instant,
) -> LossReason {
    let t = session.options.session.timeout;
    let period = t / 3;
    let mut next = last + period;
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(next) => {}
            _ = tokio::time::sleep_until(clock.deadline()) => {}
        }
        if clock.expired() {
            return LossReason::LeaseExpired { lease: t };
        }
        let sent = Instant::now();
        let call = Call::Renew {
            member: member.clone(),
        };
        let attempt = ballot::call(&session, &k, call);
        let outcome = tokio::select! {
            r = attempt => Some(r),
            _ = tokio::time::sleep_until(clock.deadline()) => None,
        };
        match outcome {
            Some(Ok(Answer::Renewed(1))) => {
                clock.extend_to(sent + t.mul_f64(0.9));
                last = sent;
                next = last + period;
            }
            Some(Ok(_)) => return LossReason::Deposed,
            // Try again soon, until the deadline.
            Some(Err(_)) => next = Instant::now() + (period / 4).max(Duration::from_millis(20)),
            None => return LossReason::LeaseExpired { lease: t },
        }
    }
}

/// Withdraws the candidacy if the campaign future is dropped before election.
pub(super) struct Candidacy {
    pub session: Session,
    pub keys: Keys,
    pub member: String,
    pub armed: bool,
}

impl Drop for Candidacy {
    fn drop(&mut self) {
        if self.armed {
            leave_in_background(
                self.session.clone(),
                self.keys.clone(),
                std::mem::take(&mut self.member),
            );
        }
    }
}

#[derive(Debug)]
pub(super) struct RedisTenure {
    pub session: Session,
    pub keys: Keys,
    pub member: String,
}

#[async_trait]
impl Tenure for RedisTenure {
    async fn resign(&self) -> Result<()> {
        match leave(&self.session, &self.keys, &self.member).await {
            Err(Error::Closed) => Ok(()),
            other => other,
        }
    }

    fn resign_in_background(&self) {
        leave_in_background(self.session.clone(), self.keys.clone(), self.member.clone());
    }
}

pub(super) fn node_of(member: &str) -> Result<NodeId> {
    let node = member.rsplit_once('~').map_or(member, |(n, _)| n);
    NodeId::new(node).map_err(|e| Error::backend(super::BACKEND, "contenders", e))
}
