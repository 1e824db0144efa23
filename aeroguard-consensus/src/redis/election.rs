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

use super::tenure::{Candidacy, RedisTenure, leave, node_of, renew};
use super::{Session, scripts};
use crate::election::LeaseClock;
use crate::{Election, Error, FencingToken, Leadership, Result};

#[derive(Debug, Clone)]
pub(super) struct Keys {
    pub queue: String,
    pub alive: String,
    pub lease: String,
    pub token: String,
    pub term: String,
    pub seq: String,
    pub wake: String,
    /// The lease's renewal count (raised by every grant and renewal) and its value when the lease was last
    /// released.
    pub renewals: String,
    pub released: String,
    /// The failover epoch and the end of the quiet period (shared by every election under the prefix).
    pub epoch: [String; 2],
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
        let base = session.named("el", name);
        let keys = Keys {
            queue: format!("{base}:queue"),
            alive: format!("{base}:alive"),
            lease: format!("{base}:lease"),
            token: format!("{base}:token"),
            term: format!("{base}:term"),
            seq: format!("{base}:seq"),
            wake: format!("{base}:wake:"),
            renewals: lease_counts(&format!("{base}:lease")).0,
            released: lease_counts(&format!("{base}:lease")).1,
            epoch: session.epoch_keys(),
        };
        RedisElection {
            session,
            name: name.to_string(),
            keys,
        }
    }

    async fn join(&self) -> Result<String> {
        let (k, node, ttl) = (
            self.keys.clone(),
            self.session.node.to_string(),
            self.session.options.ttl_ms(),
        );
        self.session
            .run("join election", |mut c| async move {
                scripts::ELECTION_JOIN
                    .key(&k.queue)
                    .key(&k.alive)
                    .key(&k.lease)
                    .key(&k.token)
                    .key(&k.seq)
                    .arg(&node)
                    .arg(ttl)
                    .invoke_async::<String>(&mut c)
                    .await
            })
            .await
    }

    /// One attempt: `Ok(Some(token))` when elected, `Ok(None)` after waiting for a change.
    async fn attempt(
        &self,
        member: &mut String,
        witness: &mut Option<Witness>,
    ) -> Result<Option<(u64, Instant)>> {
        let (k, m, ttl) = (self.keys.clone(), member.clone(), self.session.options.ttl_ms());
        let t = self.session.options.session.timeout;
        // The renewal count this candidate has seen stand still for a whole lease, if any.
        let witnessed = witness.filter(|w| w.since.elapsed() >= t).map_or(-1, |w| w.count);
        let sent = Instant::now();
        // With replicas asked for, a grant is not used before they have it (`WAIT` after the script).
        let answer = self
            .session
            .run_replicated("campaign", |mut c| async move {
                scripts::ELECTION_ACQUIRE
                    .key(&k.queue)
                    .key(&k.alive)
                    .key(&k.lease)
                    .key(&k.token)
                    .key(&k.term)
                    .key(&k.epoch[0])
                    .key(&k.epoch[1])
                    .key(&k.renewals)
                    .key(&k.released)
                    .arg(&m)
                    .arg(ttl)
                    .arg(witnessed)
                    .invoke_async(&mut c)
                    .await
            })
            .await;
        let (token, wait, count): (i64, i64, i64) = match answer {
            Ok(a) => a,
            Err(e @ Error::NotReplicated { .. }) => {
                // Perhaps granted, not replicated: not used, and not kept.
                crate::error::best_effort(
                    "leave unreplicated grant",
                    leave(&self.session, &self.keys, member).await,
                );
                return Err(e);
            }
            Err(e) => return Err(e),
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
        let wake = format!("{}{member}", self.keys.wake);
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
            .track_lease(&self.keys.lease, &self.keys.queue, &self.keys.alive, member, true);
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
        let member = self.join().await?;
        let mut guard = Candidacy {
            session: self.session.clone(),
            keys: self.keys.clone(),
            member,
            armed: true,
        };
        let ended = self.session.session_ended(epoch);
        tokio::pin!(ended);
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
                scripts::ELECTION_CONTENDERS
                    .key(&k.queue)
                    .key(&k.alive)
                    .key(&k.lease)
                    .invoke_async::<Vec<String>>(&mut c)
                    .await
            })
            .await
    }
}
