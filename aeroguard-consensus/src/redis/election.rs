//! Election on Redis: a lease (`SET NX PX`) granted to the first live candidate in join order, renewed by a
//! compare-and-extend script; the fencing token is `epoch * 2^32 + counter`, the counter incremented on every
//! grant and the epoch Sentinel's failover epoch (0 without Sentinel), so a failover that loses the counter's
//! last increments never repeats a token. A lease that ran out without being released (its holder crashed, or
//! the server's clock stepped forward and expired it early) is granted only to a candidate that has seen its
//! renewal count stand still for a whole lease on its own clock (see `scripts::ELECTION_ACQUIRE`). Candidates wait on a
//! list of their own with `BLPOP` (their predecessor pushes to it when it leaves), with a timeout at the moment
//! the predecessor's lease or liveness would run out: no polling.

use std::time::Duration;

use aeroguard_core::NodeId;
use async_trait::async_trait;
use tokio::time::Instant;

use super::ballot::{self, Answer, Call};
use super::tenure::{Candidacy, RedisTenure, node_of, renew};
use super::{Session, scripts};
use crate::election::LeaseClock;
use crate::{Election, Error, FencingToken, Leadership, Result};

#[derive(Debug, Clone)]
pub(super) struct Keys {
    /// The election's name.
    pub name: String,
    pub queue: String,
    pub alive: String,
    pub lease: String,
    pub token: String,
    pub term: String,
    pub seq: String,
    pub wake: Wake,
    /// The lease's renewal count (raised by every grant and renewal) and its value when the lease was last
    /// released.
    pub renewals: String,
    pub released: String,
    /// The failover epoch and the end of the quiet period (shared by every election under the prefix).
    pub epoch: [String; 2],
}

impl Keys {
    /// The keys of election `name` for `session`'s prefix, with the wake-up lists its mode uses.
    pub fn new(session: &Session, name: &str) -> Keys {
        Keys::of(&session.options.prefix, name, session.options.election_authority)
    }

    /// The keys of election `name` under `prefix`; `own_wake` puts candidates' wake-up lists under their own
    /// nodes' keys (candidates that ask an election authority).
    pub fn of(prefix: &str, name: &str, own_wake: bool) -> Keys {
        let base = super::keys::named(prefix, "el", name);
        let lease = format!("{base}:lease");
        let (renewals, released) = lease_counts(&lease);
        Keys {
            name: name.to_string(),
            queue: format!("{base}:queue"),
            alive: format!("{base}:alive"),
            token: format!("{base}:token"),
            term: format!("{base}:term"),
            seq: format!("{base}:seq"),
            wake: if own_wake {
                Wake::Own {
                    root: format!("{prefix}-node/"),
                    infix: format!("/wake:{{{name}}}:"),
                }
            } else {
                Wake::Shared(format!("{base}:wake:"))
            },
            renewals,
            released,
            lease,
            epoch: super::keys::epoch_keys(prefix),
        }
    }
}

/// Where a candidate waits to be woken by its predecessor's departure.
#[derive(Debug, Clone)]
pub(super) enum Wake {
    /// `<prefix>:el:{<name>}:wake:<member>`.
    Shared(String),
    /// `<prefix>-node/<node>/wake:{<name>}:<member>`: a list the candidate's own login may pop.
    Own { root: String, infix: String },
}

impl Wake {
    /// The list `member` waits on.
    pub fn key(&self, member: &str) -> String {
        match self {
            Wake::Shared(prefix) => format!("{prefix}{member}"),
            Wake::Own { root, infix } => {
                let node = member.rsplit_once('~').map_or(member, |(n, _)| n);
                format!("{root}{node}{infix}{member}")
            }
        }
    }

    /// The leave script's wake-list arguments.
    pub fn leave_args(&self) -> Vec<&str> {
        match self {
            Wake::Shared(prefix) => vec![prefix],
            Wake::Own { root, infix } => vec![root, infix],
        }
    }
}

/// The renewal-count and released-count keys of the lease at `lease`.
pub(crate) fn lease_counts(lease: &str) -> (String, String) {
    (format!("{lease}:renewals"), format!("{lease}:released"))
}

/// The last renewal count a candidate saw, and since when (its own clock) it has not changed.
#[derive(Debug, Clone, Copy)]
pub(super) struct Witness {
    pub count: i64,
    pub since: Instant,
}

#[derive(Debug)]
pub(crate) struct RedisElection {
    session: Session,
    name: String,
    keys: Keys,
}

impl RedisElection {
    pub fn new(session: Session, name: &str) -> Self {
        let keys = Keys::new(&session, name);
        RedisElection {
            session,
            name: name.to_string(),
            keys,
        }
    }

    async fn join(&self) -> Result<String> {
        match ballot::call(&self.session, &self.keys, Call::Join).await? {
            Answer::Member(m) => Ok(m),
            other => Err(unexpected("join election", &other)),
        }
    }

    /// One attempt: `Ok(Some(token))` when elected, `Ok(None)` after waiting for a change.
    async fn attempt(
        &self,
        member: &mut String,
        witness: &mut Option<Witness>,
    ) -> Result<Option<(u64, Instant)>> {
        let t = self.session.options.session.timeout;
        // The renewal count this candidate has seen stand still for a whole lease, if any.
        let witnessed = witness.filter(|w| w.since.elapsed() >= t).map_or(-1, |w| w.count);
        let sent = Instant::now();
        let step = Call::Acquire {
            member: member.clone(),
            witnessed,
        };
        let (token, wait, count) = match ballot::call(&self.session, &self.keys, step).await? {
            Answer::Step(token, wait, count) => (token, wait, count),
            other => return Err(unexpected("campaign", &other)),
        };
        if token > 0 {
            return Ok(Some((u64::try_from(token).unwrap_or(0), sent)));
        }
        if witness.is_none_or(|w| w.count != count) {
            *witness = Some(Witness {
                count,
                since: Instant::now(),
            });
        }
        if token < 0 {
            // Silent longer than the session timeout while waiting: queue again, at the back.
            *member = self.join().await?;
            return Ok(None);
        }
        // Wake when the predecessor leaves, or when its lease or liveness would run out; come back at least
        // every third of the timeout to stay alive in the queue.
        let cap = t / 3;
        let wait = if wait == -2 {
            // The lease ran out unreleased: come back when this candidate has seen it stand still for a lease.
            witness.map_or(cap, |w| (w.since + t).saturating_duration_since(Instant::now()))
        } else {
            Duration::from_millis(u64::try_from(wait.max(1)).unwrap_or(1))
        };
        let wait = wait.clamp(Duration::from_millis(1), cap);
        let wake = self.keys.wake.key(member);
        let mut conn = self.session.pool.dedicated("campaign wait").await?;
        let mut cmd = redis::cmd("BLPOP");
        cmd.arg(&wake).arg(wait.as_secs_f64().max(0.001));
        let blpop = cmd.query_async::<Option<(String, String)>>(&mut conn);
        match tokio::time::timeout(self.session.pool.blocking_limit(wait), blpop).await {
            Ok(Ok(_)) => {
                self.session.pool.give_back(conn);
                Ok(None)
            }
            Ok(Err(e)) => Err(self.session.pool.fail(e, "campaign wait")),
            Err(_) => Err(Error::ConnectionLoss {
                backend: super::BACKEND,
                operation: "campaign wait",
            }),
        }
    }

    async fn granted(&self, member: &str, token: u64, sent: Instant) -> Result<Leadership> {
        let t = self.session.options.session.timeout;
        let clock = LeaseClock::new(t, sent + t.mul_f64(0.9));
        self.session
            .track_lease(&self.name, &self.keys.lease, member, true);
        let renewals = renew(
            self.session.clone(),
            self.keys.clone(),
            member.to_string(),
            clock.clone(),
            sent,
        );
        Ok(Leadership::start(
            &self.name,
            self.session.node.clone(),
            FencingToken(token),
            self.session.status(),
            self.session.options.session.grace,
            renewals,
            Box::new(RedisTenure {
                session: self.session.clone(),
                keys: self.keys.clone(),
                member: member.to_string(),
            }),
        )
        .with_lease(clock))
    }
}

#[async_trait]
impl Election for RedisElection {
    fn name(&self) -> &str {
        &self.name
    }

    async fn campaign(&self) -> Result<Leadership> {
        const OP: &str = "campaign";
        let (_, epoch) = self.session.session_now(OP)?;
        let ended = self.session.session_ended(epoch);
        tokio::pin!(ended);
        // A join lost on the way (a failover, or an election authority that stopped with the request) leaves at
        // most a candidate that nobody renews, which leaves the queue after the session timeout: join again.
        let member = loop {
            let joined = tokio::select! {
                r = self.join() => r,
                e = &mut ended => return Err(e),
            };
            match joined {
                Ok(member) => break member,
                Err(e) if e.is_retryable() => {
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                        e = &mut ended => return Err(e),
                    }
                }
                Err(e) => return Err(e),
            }
        };
        let mut guard = Candidacy {
            session: self.session.clone(),
            keys: self.keys.clone(),
            member,
            armed: true,
        };
        let mut witness = None;
        let (token, sent) = loop {
            let step = tokio::select! {
                r = self.attempt(&mut guard.member, &mut witness) => r,
                e = &mut ended => return Err(e),
            };
            match step {
                Ok(Some(won)) => break won,
                Ok(None) => {}
                // Ride out a lost connection (a failover, say) while the session holds.
                Err(e) if e.is_retryable() => {
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                        e = &mut ended => return Err(e),
                    }
                }
                Err(e) => return Err(e),
            }
        };
        guard.armed = false;
        let member = std::mem::take(&mut guard.member);
        self.granted(&member, token, sent).await
    }

    async fn leader(&self) -> Result<Option<NodeId>> {
        let all = self.listing().await?;
        match all.first() {
            Some(holder) if !holder.is_empty() => node_of(holder).map(Some),
            _ => Ok(None),
        }
    }

    async fn grant(&self) -> Result<Option<crate::Grant>> {
        let (lease, term) = (self.keys.lease.clone(), self.keys.term.clone());
        // One MGET: the keys share the election's hash slot, so the holder and its term are read together.
        let (holder, token): (Option<String>, Option<u64>) = self
            .session
            .run("grant", |mut c| async move {
                redis::cmd("MGET")
                    .arg(&lease)
                    .arg(&term)
                    .query_async(&mut c)
                    .await
            })
            .await?;
        match (holder, token) {
            (Some(holder), Some(token)) => Ok(Some(crate::Grant {
                node: node_of(&holder)?,
                token: FencingToken(token),
            })),
            _ => Ok(None),
        }
    }

    async fn contenders(&self) -> Result<Vec<NodeId>> {
        let all = self.listing().await?;
        let Some((holder, queue)) = all.split_first() else {
            return Ok(Vec::new());
        };
        let mut out = Vec::with_capacity(queue.len());
        if !holder.is_empty() {
            out.push(node_of(holder)?);
        }
        for m in queue.iter().filter(|m| *m != holder) {
            out.push(node_of(m)?);
        }
        Ok(out)
    }
}

impl RedisElection {
    async fn listing(&self) -> Result<Vec<String>> {
        let k = self.keys.clone();
        self.session
            .run("contenders", |mut c| async move {
                redis::cmd("EVAL_RO")
                    .arg(scripts::ELECTION_CONTENDERS.as_str())
                    .arg(3)
                    .arg(&k.queue)
                    .arg(&k.alive)
                    .arg(&k.lease)
                    .query_async::<Vec<String>>(&mut c)
                    .await
            })
            .await
    }
}

/// An answer of another call's kind: the authority (or a script) answered something else.
pub(super) fn unexpected(operation: &'static str, answer: &Answer) -> Error {
    Error::Backend {
        backend: super::BACKEND,
        operation,
        message: format!("unexpected answer {answer:?}"),
        cause: None,
    }
}
