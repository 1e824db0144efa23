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
        /// The keys of the epoch and of the end of the quiet period (`EPOCH_RAISE`).
        epoch_keys: [String; 2],
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

    async fn connect(
        &self,
        response_timeout: Option<Duration>,
    ) -> std::result::Result<MultiplexedConnection, RedisError> {
        let config = self.config(response_timeout);
        let (sentinels, master, epoch_keys, quiet_ms) = match &self.target {
            Target::Direct(c) => return c.get_multiplexed_async_connection_with_config(&config).await,
            Target::Sentinel {
                sentinels,
                master,
                epoch_keys,
                quiet_ms,
            } => (sentinels, master, epoch_keys, quiet_ms),
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
        let (raised, stored): (i64, u64) = super::scripts::EPOCH_RAISE
            .key(&epoch_keys[0])
            .key(&epoch_keys[1])
            .arg(seen.epoch)
            .arg(*quiet_ms)
            .invoke_async(&mut conn)
            .await?;
        if raised == 0 {
            tracing::debug!(
                sentinel_epoch = seen.epoch,
                master_epoch = stored,
                "a Sentinel names a master of an older epoch"
            );
            return Err(RedisError::from((
                ErrorKind::Server(ServerErrorKind::ReadOnly),
                "the master has seen a newer failover epoch than the Sentinels answering",
            )));
        }
        Ok(conn)
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
