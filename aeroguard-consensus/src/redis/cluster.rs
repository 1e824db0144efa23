//! The fenced history on Redis Cluster (feature `redis-cluster`): the same keys and scripts as on one master.
//! A series' points, fence and buckets share the hash tag `{<series>}`, so they live in one slot and each
//! script runs atomically on that slot's master; series spread over the masters by their names' slots.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{Route, RoutingInfo, SingleNodeRoutingInfo, SlotAddr};
use redis::{IntoConnectionInfo, RedisError, Script};

use super::access::access_error;
use super::history::{Answer, Exec, Fenced, delegate_history, invocation};
use super::{BACKEND, Durability, RedisOptions, RedisTarget};
use crate::{Error, Result};

/// A [`HistoryStore`](crate::history::HistoryStore) on a Redis Cluster, with the same fencing, layout and
/// limits as [`RedisHistory`](super::RedisHistory) on one master.
///
/// Every series lives in the hash slot of its name, so its scripts stay atomic, and the series spread over
/// the masters: throughput grows with the masters as long as there are many series (one series is served by
/// one master). Writes are acknowledged by the slot's master; with [`Durability::Replicas`] each fenced write
/// then waits (`WAIT`, on the same master connection) until that many of its replicas have it, so a failover
/// inside the cluster loses no acknowledged point or fence. During a failover, calls on the failed master's
/// slots fail with [`Error::ConnectionLoss`] until a replica is promoted (about `cluster-node-timeout` plus an
/// election); the client then learns the new slot map by itself.
///
/// ```no_run
/// # async fn demo() -> aeroguard_consensus::Result<()> {
/// use aeroguard_consensus::redis::{RedisClusterHistory, RedisCredentials, RedisOptions};
/// let options = RedisOptions::cluster(&["127.0.0.1:7001", "127.0.0.1:7002", "127.0.0.1:7003"])
///     .with_credentials(RedisCredentials::parse("aeroguard:secret")?);
/// let history = RedisClusterHistory::connect(options).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisClusterHistory {
    inner: Fenced<Cluster>,
}

impl std::fmt::Debug for RedisClusterHistory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisClusterHistory")
            .field("prefix", &self.inner.0.prefix)
            .field("durability", &self.inner.0.durability)
            .finish()
    }
}

#[derive(Clone)]
pub(super) struct Cluster {
    conn: ClusterConnection,
    prefix: String,
    op_timeout: Duration,
    durability: Durability,
}

impl RedisClusterHistory {
    /// Connects to the cluster of `options` ([`RedisOptions::cluster`]): its seed nodes, credentials, TLS,
    /// key prefix, operation timeout and durability (the session settings do not apply). Fails with
    /// `InvalidParameter` for another target, `Unauthorized` for refused credentials and `ConnectionLoss`
    /// when no seed node answers.
    pub async fn connect(options: RedisOptions) -> Result<Self> {
        options.validate()?;
        let RedisTarget::Cluster { nodes } = &options.target else {
            return Err(Error::parameter(
                "target",
                format!("{:?}", options.target),
                "must be a Redis Cluster (RedisOptions::cluster)",
            ));
        };
        let bad = |e: RedisError| {
            tracing::debug!(error = %e, "cluster client refused the seed nodes");
            Error::parameter(
                "nodes",
                nodes,
                "must be Redis URLs (redis://host:port) alike in credentials and TLS",
            )
        };
        let mut seed_nodes = Vec::with_capacity(nodes.len());
        for url in nodes {
            #[cfg(feature = "tls")]
            let url = match (&options.tls, url.strip_prefix("redis://")) {
                (Some(_), Some(rest)) => format!("rediss://{rest}"),
                _ => url.clone(),
            };
            let mut info = url.as_str().into_connection_info().map_err(bad)?;
            if let Some(c) = &options.credentials {
                let settings = c.apply(info.redis_settings().clone());
                info = info.set_redis_settings(settings);
            }
            seed_nodes.push(info);
        }
        let op = options.operation_timeout;
        #[allow(unused_mut)]
        let mut builder = redis::cluster::ClusterClientBuilder::new(seed_nodes)
            .connection_timeout(op)
            .response_timeout(op)
            .retries(6)
            .min_retry_wait(10)
            .max_retry_wait(250);
        #[cfg(feature = "tls")]
        if let Some(tls) = &options.tls {
            super::access::install_crypto_provider();
            builder = builder.certs(tls.certificates());
        }
        let client = builder.build().map_err(bad)?;
        let conn = tokio::time::timeout(op * 4, client.get_async_connection())
            .await
            .map_err(|_| lost("connect"))?
            .map_err(|e| fail(&e, "connect"))?;
        let cluster = Cluster {
            conn,
            prefix: options.prefix.clone(),
            op_timeout: op,
            durability: options.durability,
        };
        // One round-trip, so refused credentials or ACLs show here rather than at the first append.
        let mut ping = redis::cmd("PING");
        ping.arg("aeroguard");
        cluster.string("connect", ping).await?;
        Ok(RedisClusterHistory {
            inner: Fenced(cluster),
        })
    }
}

delegate_history!(RedisClusterHistory);

fn lost(operation: &'static str) -> Error {
    Error::ConnectionLoss {
        backend: BACKEND,
        operation,
    }
}

/// The client's error as the crate's: refused credentials or ACLs, a node or slot that is unreachable or failing
/// over (retryable `ConnectionLoss`), a refusal for now (`Overloaded`), or anything else (`Backend`).
fn fail(e: &RedisError, operation: &'static str) -> Error {
    if let Some(e) = access_error(e, operation) {
        return e;
    }
    // The cluster client folds a refused login at connect into an I/O error ("Failed to create initial
    // connections - Io: Password authentication failed - AuthenticationFailed"): its text is all that is left.
    let text = e.to_string();
    if ["AuthenticationFailed", "WRONGPASS", "NOAUTH"]
        .iter()
        .any(|w| text.contains(w))
    {
        return Error::Unauthorized {
            backend: BACKEND,
            operation,
            reason: "the cluster's nodes refused the credentials".into(),
        };
    }
    let lost_now = e.is_io_error()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || e.is_timeout()
        || e.is_cluster_error()
        || matches!(
            e.code(),
            Some("CLUSTERDOWN" | "TRYAGAIN" | "MASTERDOWN" | "READONLY" | "NOREPLICAS")
        );
    if lost_now {
        lost(operation)
    } else {
        super::access::refused_or_failed(e, operation)
    }
}

impl Cluster {
    async fn query<T: redis::FromRedisValue>(&self, what: &'static str, cmd: redis::Cmd) -> Result<T> {
        let mut c = self.conn.clone();
        match tokio::time::timeout(self.op_timeout * 2, cmd.query_async(&mut c)).await {
            Ok(answer) => answer.map_err(|e| fail(&e, what)),
            Err(_) => Err(lost(what)),
        }
    }
}

#[async_trait]
impl Exec for Cluster {
    fn named(&self, kind: &str, name: &str) -> String {
        super::keys::named(&self.prefix, kind, name)
    }

    async fn strings(&self, what: &'static str, cmd: redis::Cmd) -> Result<Vec<String>> {
        self.query(what, cmd).await
    }

    async fn string(&self, what: &'static str, cmd: redis::Cmd) -> Result<Option<String>> {
        self.query(what, cmd).await
    }

    async fn fenced(
        &self,
        what: &'static str,
        script: &'static Script,
        keys: [String; 3],
        args: Arc<Vec<String>>,
        replicated: bool,
    ) -> Result<Answer> {
        let mut c = self.conn.clone();
        let call = invocation(script, &keys, &args);
        let answer: Answer = match tokio::time::timeout(self.op_timeout * 2, call.invoke_async(&mut c)).await
        {
            Ok(answer) => answer.map_err(|e| fail(&e, what))?,
            Err(_) => return Err(lost(what)),
        };
        let Durability::Replicas { count, timeout } = self.durability else {
            return Ok(answer);
        };
        // A refused write wrote nothing: nothing to wait for, and the refusal is the answer.
        if !replicated || answer.0 != 1 {
            return Ok(answer);
        }
        // WAIT counts the writes of its own connection: the client keeps one per node, so it goes to the
        // slot's master, on the connection the script just used.
        let mut wait = redis::cmd("WAIT");
        wait.arg(count)
            .arg(u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX));
        let route = RoutingInfo::SingleNode(SingleNodeRoutingInfo::SpecificNode(Route::with_key(
            &keys[0],
            SlotAddr::Master,
        )));
        let acked = match tokio::time::timeout(timeout + self.op_timeout, c.route_command(wait, route)).await
        {
            Ok(Ok(v)) => redis::from_redis_value::<i64>(v).unwrap_or(0),
            Ok(Err(e)) => return Err(fail(&e, what)),
            Err(_) => 0,
        };
        if acked < i64::from(count) {
            return Err(Error::NotReplicated {
                operation: what,
                wanted: count,
                acked: u32::try_from(acked.max(0)).unwrap_or(0),
            });
        }
        Ok(answer)
    }
}
