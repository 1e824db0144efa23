//! The fenced history on Redis: per series a sorted set of points (score = time in ms, member = the point as
//! JSON), a fence key with the highest token seen, and a sorted set of downsampled buckets. The token check and
//! the write happen in one script, so a stale leader's append can never slip in between. The three keys of a
//! series share its hash tag (`{<series>}`), so on Redis Cluster they live in one slot and the scripts stay
//! atomic there too ([`RedisClusterHistory`](super::RedisClusterHistory)).

use std::sync::Arc;

use aeroguard_core::Timestamp;
use async_trait::async_trait;
use redis::Script;

use super::{Session, scripts};
use crate::history::{Bucket, Compacted, Point, Retention, Writer, check_append, check_range};
use crate::{Error, FencingToken, Result};

/// What a fenced script answered: `{status, token, owner, dropped, folded, more}` (appends report no counts).
pub(super) type Answer = (i64, i64, String, u64, u64, i64);

/// Where the history's commands run: one master (a coordinator's connections, following Sentinel) or a cluster.
#[async_trait]
pub(super) trait Exec: Send + Sync {
    /// The base key of `name` of `kind`.
    fn named(&self, kind: &str, name: &str) -> String;
    /// A read answering members.
    async fn strings(&self, what: &'static str, cmd: redis::Cmd) -> Result<Vec<String>>;
    /// A read answering one string or none.
    async fn string(&self, what: &'static str, cmd: redis::Cmd) -> Result<Option<String>>;
    /// A fenced script (a write: replicated as the options ask when `replicated`).
    async fn fenced(
        &self,
        what: &'static str,
        script: &'static Script,
        keys: [String; 3],
        args: Arc<Vec<String>>,
        replicated: bool,
    ) -> Result<Answer>;
}

#[async_trait]
impl Exec for Session {
    fn named(&self, kind: &str, name: &str) -> String {
        super::session::RedisSession::named(self, kind, name)
    }

    async fn strings(&self, what: &'static str, cmd: redis::Cmd) -> Result<Vec<String>> {
        self.run(what, |mut c| async move { cmd.query_async(&mut c).await })
            .await
    }

    async fn string(&self, what: &'static str, cmd: redis::Cmd) -> Result<Option<String>> {
        self.run(what, |mut c| async move { cmd.query_async(&mut c).await })
            .await
    }

    async fn fenced(
        &self,
        what: &'static str,
        script: &'static Script,
        keys: [String; 3],
        args: Arc<Vec<String>>,
        replicated: bool,
    ) -> Result<Answer> {
        let call = |mut c: redis::aio::MultiplexedConnection| async move {
            invocation(script, &keys, &args).invoke_async(&mut c).await
        };
        if replicated {
            self.run_replicated(what, call).await
        } else {
            self.run(what, call).await
        }
    }
}

/// The script's call with its keys (the empty ones left out) and arguments.
pub(super) fn invocation<'a>(
    script: &'a Script,
    keys: &[String],
    args: &[String],
) -> redis::ScriptInvocation<'a> {
    let mut inv = script.prepare_invoke();
    for k in keys.iter().filter(|k| !k.is_empty()) {
        inv.key(k);
    }
    for a in args {
        inv.arg(a);
    }
    inv
}

/// A [`HistoryStore`](crate::history::HistoryStore) in Redis, sharing a [`RedisCoordinator`](super::RedisCoordinator)'s connections (and
/// following the master through Sentinel like it). It keeps that coordinator alive while it lives.
///
/// With [`Durability::Replicas`](super::Durability::Replicas), appends wait for the replicas and fail with
/// `NotReplicated` when they do not answer in time (the points are on the master all the same).
#[derive(Debug, Clone)]
pub struct RedisHistory {
    inner: Fenced<Session>,
    _owner: Arc<super::RedisCoordinator>,
}

impl RedisHistory {
    pub(crate) fn new(owner: Arc<super::RedisCoordinator>) -> Self {
        RedisHistory {
            inner: Fenced(owner.session.clone()),
            _owner: owner,
        }
    }
}

/// Implements [`HistoryStore`] for a type by handing every call to its `inner: Fenced<_>`.
macro_rules! delegate_history {
    ($t:ty) => {
        #[async_trait::async_trait]
        impl crate::history::HistoryStore for $t {
            async fn append(
                &self,
                series: &str,
                writer: &crate::history::Writer,
                points: &[crate::history::Point],
            ) -> crate::Result<()> {
                self.inner.append(series, writer, points).await
            }
            async fn range(
                &self,
                series: &str,
                from: aeroguard_core::Timestamp,
                to: aeroguard_core::Timestamp,
            ) -> crate::Result<Vec<crate::history::Point>> {
                self.inner.range(series, from, to).await
            }
            async fn range_first(
                &self,
                series: &str,
                from: aeroguard_core::Timestamp,
                to: aeroguard_core::Timestamp,
                n: usize,
            ) -> crate::Result<Vec<crate::history::Point>> {
                self.inner.range_first(series, from, to, n).await
            }
            async fn latest(&self, series: &str, n: usize) -> crate::Result<Vec<crate::history::Point>> {
                self.inner.latest(series, n).await
            }
            async fn buckets(
                &self,
                series: &str,
                from: aeroguard_core::Timestamp,
                to: aeroguard_core::Timestamp,
            ) -> crate::Result<Vec<crate::history::Bucket>> {
                self.inner.buckets(series, from, to).await
            }
            async fn fence(&self, series: &str) -> crate::Result<Option<crate::FencingToken>> {
                self.inner.fence(series).await
            }
            async fn compact(
                &self,
                series: &str,
                writer: &crate::history::Writer,
                now: aeroguard_core::Timestamp,
                retention: &crate::history::Retention,
            ) -> crate::Result<crate::history::Compacted> {
                self.inner.compact(series, writer, now, retention).await
            }
        }
    };
}
#[allow(unused_imports)] // used by the cluster module when its feature is on
pub(super) use delegate_history;

delegate_history!(RedisHistory);

/// The history's logic over any [`Exec`].
#[derive(Debug, Clone)]
pub(super) struct Fenced<E>(pub(super) E);

#[derive(Clone)]
struct Keys {
    points: String,
    fence: String,
    buckets: String,
}

impl<E: Exec> Fenced<E> {
    fn keys(&self, series: &str) -> Keys {
        let base = self.0.named("hist", series);
        Keys {
            points: format!("{base}:points"),
            fence: format!("{base}:fence"),
            buckets: format!("{base}:buckets"),
        }
    }

    fn decode<T: serde::de::DeserializeOwned>(raw: Vec<String>, what: &'static str) -> Result<Vec<T>> {
        raw.into_iter()
            .map(|m| {
                serde_json::from_str(&m).map_err(|e| Error::Invalid {
                    what,
                    key: m.chars().take(80).collect(),
                    version: 0,
                    reason: e.to_string(),
                })
            })
            .collect()
    }

    async fn zrange(&self, key: String, from: Timestamp, to: Timestamp) -> Result<Vec<String>> {
        let mut cmd = redis::cmd("ZRANGE");
        cmd.arg(&key)
            .arg(from.as_millis())
            .arg(to.as_millis())
            .arg("BYSCORE");
        self.0.strings("history range", cmd).await
    }

    pub(super) async fn append(&self, series: &str, writer: &Writer, points: &[Point]) -> Result<()> {
        check_append(series, points)?;
        writer.check()?;
        if points.is_empty() {
            return Ok(());
        }
        let k = self.keys(series);
        let mut members = Vec::with_capacity(2 + 2 * points.len());
        members.push(writer.token.0.to_string());
        members.push(writer.owner.clone());
        for p in points {
            let json = serde_json::to_string(p).map_err(|e| Error::InvalidParameter {
                name: "points",
                value: format!("{p:?}"),
                reason: if e.is_data() {
                    "not representable as JSON"
                } else {
                    "could not be encoded"
                },
            })?;
            members.push(p.at.as_millis().to_string());
            members.push(json);
        }
        // Shared, so a retry after a refusal for now does not copy the batch.
        let args = Arc::new(members);
        let keys = [k.points, k.fence, String::new()];
        let answer = self
            .0
            .fenced("history append", &scripts::HISTORY_APPEND, keys, args, true)
            .await?;
        if answer.0 == 1 {
            Ok(())
        } else {
            Err(refused(series, writer, answer))
        }
    }

    pub(super) async fn range(&self, series: &str, from: Timestamp, to: Timestamp) -> Result<Vec<Point>> {
        check_range(series, from, to)?;
        let raw = self.zrange(self.keys(series).points, from, to).await?;
        Self::decode(raw, "history point")
    }

    pub(super) async fn range_first(
        &self,
        series: &str,
        from: Timestamp,
        to: Timestamp,
        n: usize,
    ) -> Result<Vec<Point>> {
        check_range(series, from, to)?;
        crate::history::check_latest(n)?;
        if n == 0 {
            return Ok(Vec::new());
        }
        let mut cmd = redis::cmd("ZRANGE");
        cmd.arg(self.keys(series).points)
            .arg(from.as_millis())
            .arg(to.as_millis())
            .arg("BYSCORE")
            .arg("LIMIT")
            .arg(0)
            .arg(n);
        let raw = self.0.strings("history range", cmd).await?;
        Self::decode(raw, "history point")
    }

    pub(super) async fn latest(&self, series: &str, n: usize) -> Result<Vec<Point>> {
        crate::error::check_name("series", series)?;
        crate::history::check_latest(n)?;
        if n == 0 {
            return Ok(Vec::new());
        }
        let mut cmd = redis::cmd("ZRANGE");
        cmd.arg(self.keys(series).points)
            .arg("+inf")
            .arg("-inf")
            .arg("BYSCORE")
            .arg("REV")
            .arg("LIMIT")
            .arg(0)
            .arg(n);
        let mut raw = self.0.strings("history latest", cmd).await?;
        raw.reverse();
        Self::decode(raw, "history point")
    }

    pub(super) async fn buckets(&self, series: &str, from: Timestamp, to: Timestamp) -> Result<Vec<Bucket>> {
        check_range(series, from, to)?;
        let raw = self.zrange(self.keys(series).buckets, from, to).await?;
        Self::decode(raw, "history bucket")
    }

    pub(super) async fn fence(&self, series: &str) -> Result<Option<FencingToken>> {
        crate::error::check_name("series", series)?;
        let mut cmd = redis::cmd("GET");
        cmd.arg(self.keys(series).fence);
        let v = self.0.string("history fence", cmd).await?;
        // `"<token> <owner>"`, or the token alone as older versions wrote it.
        Ok(v.and_then(|v| v.split(' ').next()?.parse().ok())
            .map(FencingToken))
    }

    pub(super) async fn compact(
        &self,
        series: &str,
        writer: &Writer,
        now: Timestamp,
        retention: &Retention,
    ) -> Result<Compacted> {
        crate::error::check_name("series", series)?;
        writer.check()?;
        retention.validate()?;
        let (drop_before, fold_before, width) = retention.cutoffs(now);
        let k = self.keys(series);
        let args = Arc::new(vec![
            writer.token.0.to_string(),
            writer.owner.clone(),
            drop_before.to_string(),
            fold_before.unwrap_or(-1).to_string(),
            width.to_string(),
            scripts::COMPACT_STEP.to_string(),
        ]);
        let mut done = Compacted::default();
        // Bounded steps, each fenced on its own: other clients' commands run between them.
        loop {
            let keys = [k.points.clone(), k.fence.clone(), k.buckets.clone()];
            let answer = self
                .0
                .fenced(
                    "history compact",
                    &scripts::HISTORY_COMPACT,
                    keys,
                    args.clone(),
                    false,
                )
                .await?;
            let (status, _, _, dropped, folded, more) = answer.clone();
            if status != 1 {
                return Err(refused(series, writer, answer));
            }
            done.dropped += dropped;
            done.folded += folded;
            done.steps += 1;
            if more == 0 {
                return Ok(done);
            }
        }
    }
}

/// The script's refusal as the error it means (status 0: a higher token was seen; 2: the token is another's).
fn refused(series: &str, writer: &Writer, (status, highest, holder, ..): Answer) -> Error {
    if status == 2 {
        Error::FenceHeld {
            key: series.to_string(),
            token: writer.token.0,
            holder,
            writer: writer.owner.clone(),
        }
    } else {
        Error::Fenced {
            key: series.to_string(),
            token: writer.token.0,
            highest: u64::try_from(highest).unwrap_or(0),
        }
    }
}
