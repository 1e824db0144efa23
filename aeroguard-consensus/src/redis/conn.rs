//! Connections to the current Redis master: one shared multiplexed connection for ordinary commands, and a
//! pool of dedicated connections for blocking commands (`BLPOP`, `XREAD ... BLOCK`), which would otherwise
//! hold up everything queued behind them. Through Sentinel, the master is resolved again after any error that
//! says the connection or the master is gone, so the recipes follow a failover.
//!
//! Resolving asks every Sentinel for the master (`SENTINEL MASTER`) and takes the answer with the highest
//! failover epoch (`config-epoch`), then checks that the server is a master (`ROLE`). Before a connection is
//! handed out, the epoch is raised on the master (see [`super::scripts::EPOCH_RAISE`]): fencing tokens carry it,
//! so a failover that loses writes never hands out a token again, and a new epoch holds back new grants for a
//! quiet period (DESIGN.md, "Redis failover").

use std::sync::Arc;

use parking_lot::Mutex;
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{ErrorKind, RedisError, ServerErrorKind};
use tokio::sync::watch;

use super::BACKEND;
use super::access::{Access, access_error};
use crate::{Error, Result};

use super::open::{OpenError, Opened, Opener, Target};

/// How many idle dedicated connections are kept for reuse.
const IDLE_KEPT: usize = 8;

/// Connections to the master. Every connection is opened (the Sentinel lookup included) in a task of its own,
/// and callers only wait for its outcome: a caller that is dropped or left unpolled half-way never holds up
/// another. (Opening under a lock the caller held once let a frozen lease renewal stall a whole coordinator.)
#[derive(Debug)]
pub(crate) struct Pool {
    opener: Arc<Opener>,
    shared: Arc<Mutex<Option<MultiplexedConnection>>>,
    /// The shared connection's reopening in flight, if any: callers that find no connection wait for it.
    reopening: Mutex<Option<watch::Receiver<Option<Opened>>>>,
    idle: Mutex<Vec<MultiplexedConnection>>,
}

impl Pool {
    pub fn new(options: &super::RedisOptions) -> Result<Self> {
        let target = &options.target;
        let master = Access::new(options, options.credentials.as_ref());
        let sentinel = Access::new(options, options.sentinel_credentials.as_ref());
        let bad = |e: RedisError| Error::InvalidParameter {
            name: "target",
            value: format!("{target:?}"),
            reason: leak_reason(e),
        };
        let target = match target {
            super::RedisTarget::Direct { url } => Target::Direct(master.client(url).map_err(bad)?),
            super::RedisTarget::Sentinel {
                sentinels,
                master: name,
            } => Target::Sentinel {
                sentinels: sentinels
                    .iter()
                    .map(|s| sentinel.client(s))
                    .collect::<std::result::Result<_, _>>()
                    .map_err(bad)?,
                master: name.clone(),
                epoch_keys: super::keys::failover_keys(&options.prefix),
                quiet_ms: u64::try_from(options.quiet_period().as_millis()).unwrap_or(u64::MAX),
            },
            super::RedisTarget::Cluster { .. } => {
                return Err(Error::InvalidParameter {
                    name: "target",
                    value: format!("{target:?}"),
                    reason: "Redis Cluster serves the history only (RedisClusterHistory): the coordination \
                             recipes need one master, directly or through Sentinel",
                });
            }
        };
        let op_timeout = options.operation_timeout;
        Ok(Pool {
            opener: Arc::new(Opener {
                target,
                op_timeout,
                master,
                raise_epoch: !options.election_authority,
            }),
            shared: Arc::new(Mutex::new(None)),
            reopening: Mutex::new(None),
            idle: Mutex::new(Vec::new()),
        })
    }

    /// Re-bases the failover epoch through this pool's Sentinels ([`super::rebase_epoch`]).
    pub async fn rebase(&self, apply: bool) -> std::result::Result<super::EpochRebase, RedisError> {
        self.opener.rebase(apply).await
    }

    /// Starts opening a connection in its own task; `install` puts it in the shared slot when it opens.
    fn spawn_open(
        &self,
        response_timeout: Option<Duration>,
        install: bool,
    ) -> watch::Receiver<Option<Opened>> {
        let (tx, rx) = watch::channel(None);
        let (opener, shared) = (self.opener.clone(), self.shared.clone());
        // Outside a tokio runtime nothing is spawned, the sender is dropped and the caller gets a connection loss
        // (the Redis client itself needs tokio).
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return rx;
        };
        rt.spawn(async move {
            let opened = opener.open(response_timeout).await;
            if install && let Ok(c) = &opened {
                *shared.lock() = Some(c.clone());
            }
            // Every waiter may have given up: then nobody needs the connection.
            tx.send(Some(opened)).ok();
        });
        rx
    }

    /// Waits for an opening started by [`spawn_open`](Self::spawn_open).
    async fn opened(
        &self,
        mut rx: watch::Receiver<Option<Opened>>,
        operation: &'static str,
    ) -> Result<MultiplexedConnection> {
        let outcome = match rx.wait_for(Option::is_some).await {
            Ok(done) => done.clone(),
            Err(_) => None,
        };
        match outcome {
            Some(Ok(c)) => Ok(c),
            Some(Err(OpenError::Redis(e))) => Err(self.fail_by(&e, operation)),
            Some(Err(OpenError::TimedOut)) | None => Err(Error::ConnectionLoss {
                backend: BACKEND,
                operation,
            }),
        }
    }

    /// The shared connection (opened, or re-resolved through Sentinel, if needed).
    pub async fn conn(&self, operation: &'static str) -> Result<MultiplexedConnection> {
        if let Some(c) = self.shared.lock().as_ref() {
            return Ok(c.clone());
        }
        let rx = {
            let mut reopening = self.reopening.lock();
            match reopening.as_ref() {
                // Join the opening in flight; a finished one (failed, or its connection since forgotten) is
                // stale.
                Some(rx) if rx.borrow().is_none() => rx.clone(),
                _ => {
                    let rx = self.spawn_open(Some(self.opener.op_timeout), true);
                    *reopening = Some(rx.clone());
                    rx
                }
            }
        };
        self.opened(rx, operation).await
    }

    /// A dedicated connection for one blocking command; give it back with [`give_back`](Self::give_back)
    /// when the command succeeded. It has no response timeout: wrap each call in [`Pool::blocking_limit`].
    pub async fn dedicated(&self, operation: &'static str) -> Result<MultiplexedConnection> {
        let reused = self.idle.lock().pop();
        match reused {
            Some(c) => Ok(c),
            None => self.opened(self.spawn_open(None, false), operation).await,
        }
    }

    /// Returns a healthy dedicated connection to the pool.
    pub fn give_back(&self, conn: MultiplexedConnection) {
        let mut idle = self.idle.lock();
        if idle.len() < IDLE_KEPT {
            idle.push(conn);
        }
    }

    /// `XREAD BLOCK` on `stream` after id `last`, on a dedicated connection: the newest id read, or `None` when
    /// `block` passed without an entry (a doorbell: callers re-read the state they watch either way).
    pub async fn xread_newest(
        &self,
        stream: &str,
        last: &str,
        block: Duration,
        operation: &'static str,
    ) -> Result<Option<String>> {
        let mut conn = self.dedicated(operation).await?;
        let ms = u64::try_from(block.as_millis()).unwrap_or(1).max(1);
        let mut cmd = redis::cmd("XREAD");
        cmd.arg("BLOCK").arg(ms).arg("STREAMS").arg(stream).arg(last);
        let read = cmd.query_async::<Option<redis::streams::StreamReadReply>>(&mut conn);
        match tokio::time::timeout(self.blocking_limit(block), read).await {
            Ok(Ok(reply)) => {
                self.give_back(conn);
                Ok(reply.and_then(|r| r.keys.into_iter().flat_map(|k| k.ids).next_back().map(|id| id.id)))
            }
            Ok(Err(e)) => Err(self.fail(e, operation)),
            Err(_) => Err(Error::ConnectionLoss {
                backend: BACKEND,
                operation,
            }),
        }
    }

    /// How long to wait for a blocking command that blocks for `block` on the server.
    pub fn blocking_limit(&self, block: Duration) -> Duration {
        block + self.opener.op_timeout
    }

    /// The per-command time limit.
    pub fn op_timeout(&self) -> Duration {
        self.opener.op_timeout
    }

    /// Maps a client error to the crate's, forgetting the connections when the error says the master is gone
    /// or has changed role (the next call resolves the master again).
    pub fn fail(&self, e: RedisError, operation: &'static str) -> Error {
        self.fail_by(&e, operation)
    }

    fn fail_by(&self, e: &RedisError, operation: &'static str) -> Error {
        let lost = e.is_io_error()
            || e.is_connection_dropped()
            || e.is_connection_refusal()
            || e.is_timeout()
            // A master that has heard from too few replicas lately (min-replicas-to-write): cut off, or about to
            // be replaced.
            || e.code() == Some("NOREPLICAS")
            // Sentinel knows no master while it fails over.
            || matches!(
                e.kind(),
                ErrorKind::MasterNameNotFoundBySentinel | ErrorKind::NoValidReplicasFoundBySentinel
            )
            || matches!(
                e.kind(),
                ErrorKind::Server(
                    ServerErrorKind::ReadOnly
                        | ServerErrorKind::MasterDown
                        | ServerErrorKind::BusyLoading
                        | ServerErrorKind::TryAgain
                )
            );
        if let Some(e) = access_error(e, operation) {
            e
        } else if lost {
            self.forget();
            Error::ConnectionLoss {
                backend: BACKEND,
                operation,
            }
        } else {
            super::access::refused_or_failed(e, operation)
        }
    }

    /// Drops every connection: the next call connects (and resolves the master) again.
    pub fn forget(&self) {
        self.shared.lock().take();
        self.idle.lock().clear();
    }
}

/// Whether the server refused a command without running it, for now: `OOM` (over `maxmemory`) or `BUSY` (a
/// script runs long). Retrying later is safe.
pub(crate) fn transient(e: &RedisError) -> bool {
    matches!(e.code(), Some("OOM" | "BUSY"))
}

fn leak_reason(e: RedisError) -> &'static str {
    // Reasons are static strings in the error type; the client's message is specific but rare (bad URL).
    match e.kind() {
        ErrorKind::InvalidClientConfig => "not a valid Redis URL (redis://host:port/db)",
        _ => "rejected by the Redis client",
    }
}

#[cfg(test)]
#[path = "conn_tests.rs"]
mod tests;
