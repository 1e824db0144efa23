//! One node's coordinator on Redis: connects, hands out the recipes, tears down on close.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use aeroguard_core::NodeId;
use async_trait::async_trait;
use parking_lot::Mutex;
use tokio::sync::watch;

use super::session::{RedisSession, Session, heartbeat, open_session};
use super::{BACKEND, RedisHistory, RedisOptions, config, conn, election, inbox, queue, registry};
use crate::{Coordinator, Error, Result, SessionState, SessionStatus};

/// One node's session with Redis.
#[derive(Debug)]
pub struct RedisCoordinator {
    pub(super) session: Session,
    heartbeat: tokio::task::JoinHandle<()>,
}

impl RedisCoordinator {
    /// Connects `node` and opens its session.
    ///
    /// Fails with `Unreachable` (naming the addresses tried) when the server (or, through Sentinel, the master)
    /// does not answer, and with `InvalidParameter` for options that cannot work.
    pub async fn connect(node: NodeId, options: RedisOptions) -> Result<Arc<RedisCoordinator>> {
        options.validate()?;
        let pool = conn::Pool::new(&options)?;
        let (status, _) = watch::channel(SessionStatus {
            state: SessionState::Connected,
            epoch: 1,
        });
        let session = Arc::new(RedisSession {
            options,
            node,
            pool,
            status,
            session_id: Mutex::new(String::new()),
            closed: AtomicBool::new(false),
            held: Mutex::new(HashMap::new()),
            leases: Mutex::new(HashMap::new()),
            registrations: Mutex::new(HashSet::new()),
        });
        let sid = match open_session(&session).await {
            Ok(sid) => sid,
            Err(Error::ConnectionLoss { .. }) => {
                return Err(Error::Unreachable {
                    backend: BACKEND,
                    target: session.options.target.addresses(),
                    after: session.options.operation_timeout,
                });
            }
            Err(e) => return Err(e),
        };
        *session.session_id.lock() = sid;
        let span = tracing::info_span!("session", backend = BACKEND, node = %session.node);
        let heartbeat = tokio::spawn(tracing::Instrument::instrument(
            heartbeat(Arc::downgrade(&session)),
            span,
        ));
        Ok(Arc::new(RedisCoordinator { session, heartbeat }))
    }

    /// Deletes the session key at the server while the coordinator lives on, as if it had been silent past
    /// the session timeout (for failure tests): it sees `Expired` at its next heartbeat, then opens a new session.
    pub async fn force_expire(&self) -> Result<()> {
        let sid = self.session.session_id.lock().clone();
        let key = self.session.session_key(&sid);
        self.session
            .run("expire session", |mut c| async move {
                redis::cmd("DEL").arg(&key).query_async::<i64>(&mut c).await
            })
            .await?;
        Ok(())
    }

    /// Stops this coordinator as if its process had died, for failure tests: no more heartbeats or renewals,
    /// `Closed` to its own recipes, and nothing cleaned up at the server, so its leases, registrations and
    /// claims run out after the session timeout, as a crashed process's would.
    pub fn abandon(&self) {
        self.session.closed.store(true, Ordering::SeqCst);
        self.heartbeat.abort();
        self.session
            .status
            .send_modify(|s| s.state = SessionState::Closed);
    }

    /// A history store on this coordinator's connection (see [`RedisHistory`]).
    pub fn history(self: &Arc<Self>) -> RedisHistory {
        RedisHistory::new(self.clone())
    }

    async fn release_everything(&self) {
        let leases: Vec<(String, String)> = self.session.leases.lock().drain().map(|(_, l)| l).collect();
        for (election, member) in leases {
            let keys = election::Keys::new(&self.session, &election);
            let left = super::ballot::call(&self.session, &keys, super::ballot::Call::Leave { member }).await;
            crate::error::best_effort("close: leave election", left.map(|_| ()));
        }
        let regs: Vec<(String, String)> = self.session.registrations.lock().drain().collect();
        for (service, owner) in regs {
            crate::error::best_effort(
                "close: deregister",
                registry::delete(&self.session, &service, &owner).await,
            );
        }
        let sid = self.session.session_id.lock().clone();
        let key = self.session.session_key(&sid);
        let deleted = self
            .session
            .run("close", |mut c| async move {
                redis::cmd("DEL").arg(&key).query_async::<i64>(&mut c).await
            })
            .await;
        crate::error::best_effort("close: delete session key", deleted);
    }
}

#[async_trait]
impl Coordinator for RedisCoordinator {
    crate::coordinator::recipes_over_cell! {
        backend: BACKEND,
        election: election::RedisElection,
        registry: registry::RedisRegistry,
        config: config::RedisConfig,
        inbox: inbox::RedisInbox,
        queue: queue::RedisQueue,
    }

    async fn clock_offset(&self) -> Result<crate::ClockOffset> {
        let sent = aeroguard_core::Timestamp::now();
        let (secs, micros): (i64, i64) = self
            .session
            .run("clock", |mut c| async move {
                redis::cmd("TIME").query_async::<(i64, i64)>(&mut c).await
            })
            .await?;
        let received = aeroguard_core::Timestamp::now();
        let server = aeroguard_core::Timestamp::from_millis(secs.saturating_mul(1000) + micros / 1000);
        Ok(crate::ClockOffset::from_probe(sent, server, received))
    }

    async fn close(&self) {
        if self.session.is_closed() {
            return;
        }
        self.heartbeat.abort();
        self.release_everything().await;
        self.session.closed.store(true, Ordering::SeqCst);
        self.session
            .status
            .send_modify(|s| s.state = SessionState::Closed);
    }
}

impl Drop for RedisCoordinator {
    fn drop(&mut self) {
        self.heartbeat.abort();
        if !self.session.closed.swap(true, Ordering::SeqCst) {
            self.session
                .status
                .send_modify(|s| s.state = SessionState::Closed);
        }
    }
}
