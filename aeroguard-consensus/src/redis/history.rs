//! The fenced history on Redis: per series a sorted set of points (score = time in ms, member = the point as
//! JSON), a fence key with the highest token seen, and a sorted set of downsampled buckets. The token check and
//! the write happen in one script, so a stale leader's append can never slip in between.

use aeroguard_core::Timestamp;
use async_trait::async_trait;

use super::{Handle, scripts};
use crate::history::{Bucket, Compacted, HistoryStore, Point, Retention, Writer, check_append, check_range};
use crate::{Error, FencingToken, Result};

/// A [`HistoryStore`] in Redis, sharing a [`RedisCoordinator`](super::RedisCoordinator)'s connections (and
/// following the master through Sentinel like it). It keeps that coordinator alive while it lives.
///
/// With [`Durability::Replicas`](super::Durability::Replicas), appends wait for the replicas and fail with
/// `NotReplicated` when they do not answer in time (the points are on the master all the same).
#[derive(Debug, Clone)]
pub struct RedisHistory {
    h: Handle,
    _owner: std::sync::Arc<super::RedisCoordinator>,
}

#[derive(Clone)]
struct Keys {
    points: String,
    fence: String,
    buckets: String,
}

impl RedisHistory {
    pub(crate) fn new(owner: std::sync::Arc<super::RedisCoordinator>) -> Self {
        RedisHistory {
            h: owner.cell.clone(),
            _owner: owner,
        }
    }

    fn keys(&self, series: &str) -> Keys {
        let base = self.h.named("hist", series);
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
        self.h
            .run("history range", |mut c| async move {
                redis::cmd("ZRANGE")
                    .arg(&key)
                    .arg(from.as_millis())
                    .arg(to.as_millis())
                    .arg("BYSCORE")
                    .query_async(&mut c)
                    .await
            })
            .await
    }
}

/// What a fenced script answered: `{status, highest, holder, dropped, folded}`.
/// `{status, token, owner, dropped, folded, more}` (appends report no counts).
type Answer = (i64, i64, String, u64, u64, i64);

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

#[async_trait]
impl HistoryStore for RedisHistory {
    async fn append(&self, series: &str, writer: &Writer, points: &[Point]) -> Result<()> {
        check_append(series, points)?;
        writer.check()?;
        if points.is_empty() {
            return Ok(());
        }
        let k = self.keys(series);
        let mut members = Vec::with_capacity(points.len());
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
            members.push((p.at.as_millis(), json));
        }
        // Shared, so a retry after a refusal for now does not copy the batch.
        let members = std::sync::Arc::new(members);
        let (token, owner) = (writer.token.0, writer.owner.clone());
        let answer: Answer = self
            .h
            .run_replicated("history append", |mut c| async move {
                let mut inv = scripts::HISTORY_APPEND.key(&k.points);
                inv.key(&k.fence).arg(token).arg(&owner);
                for (score, member) in members.iter() {
                    inv.arg(score).arg(member);
                }
                inv.invoke_async(&mut c).await
            })
            .await?;
        if answer.0 == 1 {
            Ok(())
        } else {
            Err(refused(series, writer, answer))
        }
    }

    async fn range(&self, series: &str, from: Timestamp, to: Timestamp) -> Result<Vec<Point>> {
        check_range(series, from, to)?;
        let raw = self.zrange(self.keys(series).points, from, to).await?;
        Self::decode(raw, "history point")
    }

    async fn latest(&self, series: &str, n: usize) -> Result<Vec<Point>> {
        crate::error::check_name("series", series)?;
        crate::history::check_latest(n)?;
        if n == 0 {
            return Ok(Vec::new());
        }
        let key = self.keys(series).points;
        let mut raw: Vec<String> = self
            .h
            .run("history latest", |mut c| {
                let key = key.clone();
                async move {
                    redis::cmd("ZRANGE")
                        .arg(&key)
                        .arg("+inf")
                        .arg("-inf")
                        .arg("BYSCORE")
                        .arg("REV")
                        .arg("LIMIT")
                        .arg(0)
                        .arg(n)
                        .query_async(&mut c)
                        .await
                }
            })
            .await?;
        raw.reverse();
        Self::decode(raw, "history point")
    }

    async fn buckets(&self, series: &str, from: Timestamp, to: Timestamp) -> Result<Vec<Bucket>> {
        check_range(series, from, to)?;
        let raw = self.zrange(self.keys(series).buckets, from, to).await?;
        Self::decode(raw, "history bucket")
    }

    async fn fence(&self, series: &str) -> Result<Option<FencingToken>> {
        crate::error::check_name("series", series)?;
        let key = self.keys(series).fence;
        let v: Option<String> = self
            .h
            .run("history fence", |mut c| async move {
                redis::cmd("GET").arg(&key).query_async(&mut c).await
            })
            .await?;
        // `"<token> <owner>"`, or the token alone as older versions wrote it.
        Ok(v.and_then(|v| v.split(' ').next()?.parse().ok())
            .map(FencingToken))
    }

    async fn compact(
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
        let (token, owner) = (writer.token.0, writer.owner.clone());
        let mut done = Compacted::default();
        // Bounded steps, each fenced on its own: other clients' commands run between them.
        loop {
            let (k, owner) = (k.clone(), owner.clone());
            let answer: Answer = self
                .h
                .run("history compact", |mut c| async move {
                    scripts::HISTORY_COMPACT
                        .key(&k.points)
                        .key(&k.fence)
                        .key(&k.buckets)
                        .arg(token)
                        .arg(&owner)
                        .arg(drop_before)
                        .arg(fold_before.unwrap_or(-1))
                        .arg(width)
                        .arg(scripts::COMPACT_STEP)
                        .invoke_async(&mut c)
                        .await
                })
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
