//! Opening a connection to the current master: where it is (directly, or the Sentinels' answer with the highest
//! failover epoch), checking it is a master, raising the epoch on it, all in a task of its own.

use std::sync::Arc;

use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client, ErrorKind, RedisError, ServerErrorKind};

use super::access::Access;

/// Where the master is.
pub(crate) enum Target {
    Direct(Client),
    Sentinel {
        sentinels: Vec<Client>,
        master: String,
        /// The keys of the epoch, of the end of the quiet period and of the base (`EPOCH_RAISE`).
        epoch_keys: [String; 3],
        /// The quiet period after a new epoch, in milliseconds.
        quiet_ms: u64,
    },
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Direct(c) => write!(f, "Direct({:?})", c.get_connection_info().addr()),
            Target::Sentinel { master, .. } => write!(f, "Sentinel({master})"),
        }
    }
}

/// What one Sentinel says of the master.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Sighting {
    pub ip: String,
    pub port: u16,
    pub epoch: u64,
}

impl Sighting {
    /// From a `SENTINEL MASTER` reply (field, value, field, value, ...).
    pub(super) fn parse(fields: &std::collections::HashMap<String, String>) -> Option<Sighting> {
        let flags = fields.get("flags")?;
        // A master Sentinel holds down is about to be replaced: connecting to it would only fail.
        if flags.split(',').any(|f| f == "s_down" || f == "o_down") {
            return None;
        }
        Some(Sighting {
            ip: fields.get("ip")?.clone(),
            port: fields.get("port")?.parse().ok()?,
            epoch: fields.get("config-epoch")?.parse().ok()?,
        })
    }
}

/// How an attempt to open a connection ended, shared by every caller that waited for it.
pub(super) type Opened = std::result::Result<MultiplexedConnection, OpenError>;

#[derive(Debug, Clone)]
pub(super) enum OpenError {
    Redis(Arc<RedisError>),
    TimedOut,
}

/// What opening a connection needs; shared with the tasks that open them.
#[derive(Debug)]
pub(super) struct Opener {
    pub target: Target,
    pub op_timeout: Duration,
    /// For the master that Sentinel names.
    pub master: Access,
    /// Raise the failover epoch on every new connection (`false` for a login that may only read it: it checks
    /// the epoch instead, and its election authority raises it).
    pub raise_epoch: bool,
}

impl Opener {
    fn config(&self, response_timeout: Option<Duration>) -> AsyncConnectionConfig {
        AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.op_timeout))
            .set_response_timeout(response_timeout)
    }

    /// The master as the Sentinel with the newest failover epoch sees it (a Sentinel cut off from the others may
    /// still name the master of an earlier epoch).
    async fn resolve(&self, sentinels: &[Client], master: &str) -> std::result::Result<Sighting, RedisError> {
        let mut asking = tokio::task::JoinSet::new();
        for client in sentinels {
            let (client, master) = (client.clone(), master.to_string());
            let config = self.config(Some(self.op_timeout));
            asking.spawn(async move {
                let mut c = client
                    .get_multiplexed_async_connection_with_config(&config)
                    .await?;
                let mut cmd = redis::cmd("SENTINEL");
                cmd.arg("MASTER").arg(master);
                cmd.query_async::<std::collections::HashMap<String, String>>(&mut c)
                    .await
            });
        }
        let answers = asking.join_all().await;
        let mut last_error = None;
        let mut best: Option<Sighting> = None;
        for answer in answers {
            match answer {
                Ok(fields) => {
                    if let Some(s) = Sighting::parse(&fields)
                        && best.as_ref().is_none_or(|b| s.epoch > b.epoch)
                    {
                        best = Some(s);
                    }
                }
                Err(e) => last_error = Some(e),
            }
        }
        best.ok_or_else(|| {
            last_error.unwrap_or_else(|| {
                RedisError::from((
                    ErrorKind::MasterNameNotFoundBySentinel,
                    "no Sentinel names a master that is up",
                ))
            })
        })
    }

    /// The master the Sentinels name, connected and checked to be a master, with what they say of it; `None`
    /// for a direct target (no epochs).
    async fn master_of(
        &self,
        response_timeout: Option<Duration>,
    ) -> std::result::Result<(MultiplexedConnection, Option<Sighting>), RedisError> {
        let config = self.config(response_timeout);
        let (sentinels, master) = match &self.target {
            Target::Direct(c) => {
                return Ok((
                    c.get_multiplexed_async_connection_with_config(&config).await?,
                    None,
                ));
            }
            Target::Sentinel {
                sentinels, master, ..
            } => (sentinels, master),
        };
        let seen = self.resolve(sentinels, master).await?;
        let client = self
            .master
            .client(&format!("redis://{}:{}", seen.ip, seen.port))?;
        let mut conn = client
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        let role: Vec<redis::Value> = redis::cmd("ROLE").query_async(&mut conn).await?;
        if !matches!(role.first(), Some(redis::Value::BulkString(r)) if r.as_slice() == b"master") {
            return Err(RedisError::from((
                ErrorKind::Server(ServerErrorKind::ReadOnly),
                "the server Sentinel named is not a master (yet)",
            )));
        }
        Ok((conn, Some(seen)))
    }

    /// The failover epoch's keys and quiet period, with what the Sentinels said, when the master came through
    /// them (a direct target has no epochs).
    fn failover(&self, seen: Option<Sighting>) -> Option<(&[String; 3], u64, Sighting)> {
        match (seen, &self.target) {
            (
                Some(seen),
                Target::Sentinel {
                    epoch_keys, quiet_ms, ..
                },
            ) => Some((epoch_keys, *quiet_ms, seen)),
            _ => None,
        }
    }

    async fn connect(
        &self,
        response_timeout: Option<Duration>,
    ) -> std::result::Result<MultiplexedConnection, RedisError> {
        let (mut conn, seen) = self.master_of(response_timeout).await?;
        let Some((keys, quiet_ms, seen)) = self.failover(seen) else {
            return Ok(conn);
        };
        let (raised, stored, base): (i64, u64, u64) = if self.raise_epoch {
            epoch_script(&super::scripts::EPOCH_RAISE, keys)
                .arg(seen.epoch)
                .arg(quiet_ms)
                .invoke_async(&mut conn)
                .await?
        } else {
            let (stored, base): (Option<u64>, Option<u64>) = redis::cmd("MGET")
                .arg(&keys[0])
                .arg(&keys[2])
                .query_async(&mut conn)
                .await?;
            let (stored, base) = (stored.unwrap_or(0), base.unwrap_or(0));
            (i64::from(stored <= base + seen.epoch), stored, base)
        };
        if raised == 0 {
            stale_sentinels(seen.epoch, stored, base);
            return Err(RedisError::from((
                ErrorKind::Server(ServerErrorKind::ReadOnly),
                "the master has seen a newer failover epoch than the Sentinels answering \
                 (Sentinels redeployed with fresh configs count from 0 again: re-base with \
                 `aeroguard-node rebase-epoch`, see SECURITY.md)",
            )));
        }
        Ok(conn)
    }

    /// Re-bases the failover epoch on the master when the Sentinels report one below the stored epoch
    /// (`EPOCH_REBASE`), and waits for a replica to have it; with `apply` false, only says what would change.
    pub async fn rebase(&self, apply: bool) -> std::result::Result<super::EpochRebase, RedisError> {
        let (mut conn, seen) = self.master_of(Some(self.op_timeout)).await?;
        let Some((keys, quiet_ms, seen)) = self.failover(seen) else {
            return Err(RedisError::from((
                ErrorKind::Client,
                "a re-base needs Sentinels: a direct connection has no failover epoch",
            )));
        };
        let (changed, epoch, base): (i64, u64, u64) = epoch_script(&super::scripts::EPOCH_REBASE, keys)
            .arg(seen.epoch)
            .arg(quiet_ms)
            .arg(super::scripts::TOKEN_LIMITS.0)
            .arg(if apply { "1" } else { "0" })
            .invoke_async(&mut conn)
            .await?;
        let replicas = if apply && changed == 1 {
            let mut wait = redis::cmd("WAIT");
            wait.arg(1)
                .arg(u64::try_from(self.op_timeout.as_millis()).unwrap_or(u64::MAX));
            Some(wait.query_async::<u64>(&mut conn).await?)
        } else {
            None
        };
        Ok(super::EpochRebase {
            sentinel_epoch: seen.epoch,
            epoch,
            base,
            needed: changed == 1,
            replicas,
        })
    }

    pub async fn open(&self, response_timeout: Option<Duration>) -> Opened {
        let attempt = self.connect(response_timeout);
        match tokio::time::timeout(self.op_timeout * 3, attempt).await {
            Ok(Ok(c)) => Ok(c),
            Ok(Err(e)) => Err(OpenError::Redis(Arc::new(e))),
            Err(_) => Err(OpenError::TimedOut),
        }
    }
}

/// `script` over the failover epoch's keys: epoch, quiet period, base.
fn epoch_script<'a>(script: &'a redis::Script, keys: &[String; 3]) -> redis::ScriptInvocation<'a> {
    let mut invocation = script.key(&keys[0]);
    invocation.key(&keys[1]).key(&keys[2]);
    invocation
}

/// When the last loud report of stale Sentinels was made (seconds since the Unix epoch), so a client retrying
/// every few milliseconds logs once a minute.
static LAST_STALE_REPORT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Says loudly, at most once a minute, that the Sentinels answer an epoch below the master's.
fn stale_sentinels(sentinels: u64, stored: u64, base: u64) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let last = LAST_STALE_REPORT.load(std::sync::atomic::Ordering::Relaxed);
    if now < last + 60
        || LAST_STALE_REPORT
            .compare_exchange(
                last,
                now,
                std::sync::atomic::Ordering::Relaxed,
                std::sync::atomic::Ordering::Relaxed,
            )
            .is_err()
    {
        return;
    }
    tracing::error!(
        sentinel_epoch = sentinels,
        stored_epoch = stored,
        base,
        "the Sentinels answer failover epoch {sentinels} (with the base, {}), below the {stored} this master has \
         seen: no connection is used. If the Sentinels were redeployed with fresh configs, re-base with \
         `aeroguard-node rebase-epoch` (tokens keep rising); otherwise a Sentinel answering is stale or forged \
         (SECURITY.md, \"A Sentinel epoch that went back\")",
        base + sentinels
    );
}
