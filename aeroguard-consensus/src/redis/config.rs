//! Configuration on Redis: a hash holding the version and the bytes, written by a compare-and-set script that
//! also appends the new version to a changes stream. Watchers block on the stream (`XREAD BLOCK`) and re-read
//! the value on every wake-up and at least every two seconds, so a notification lost in a failover is healed by
//! the next read.

use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::mpsc;

use super::{Session, scripts};
use crate::{ConfigStore, Error, Expect, RawConfigWatch, Result, Versioned};

#[derive(Debug)]
pub(crate) struct RedisConfig {
    session: Session,
}

impl RedisConfig {
    pub fn new(session: Session) -> Self {
        RedisConfig { session }
    }
}

fn keys(session: &Session, key: &str) -> (String, String) {
    let value = session.named("cfg", key);
    let changes = format!("{value}:changes");
    (value, changes)
}

async fn read(session: &Session, key: &str) -> Result<Option<Versioned<Vec<u8>>>> {
    let (value, _) = keys(session, key);
    let (version, data): (Option<u64>, Option<Vec<u8>>) = session
        .run("config get", |mut c| async move {
            redis::cmd("HMGET")
                .arg(&value)
                .arg("v")
                .arg("d")
                .query_async(&mut c)
                .await
        })
        .await?;
    Ok(match (version, data) {
        (Some(version), Some(value)) => Some(Versioned { version, value }),
        _ => None,
    })
}

/// The id of the newest change, or `0-0`.
async fn newest_change(session: &Session, key: &str) -> Result<String> {
    let (_, changes) = keys(session, key);
    let newest: Vec<(String, Vec<(String, String)>)> = session
        .run("config watch", |mut c| async move {
            redis::cmd("XREVRANGE")
                .arg(&changes)
                .arg("+")
                .arg("-")
                .arg("COUNT")
                .arg(1)
                .query_async(&mut c)
                .await
        })
        .await?;
    Ok(newest
        .into_iter()
        .next()
        .map_or_else(|| "0-0".into(), |(id, _)| id))
}

#[async_trait]
impl ConfigStore for RedisConfig {
    async fn get_raw(&self, key: &str) -> Result<Option<Versioned<Vec<u8>>>> {
        crate::error::check_name("config key", key)?;
        read(&self.session, key).await
    }

    async fn set_raw(&self, key: &str, value: Vec<u8>, expect: Expect) -> Result<u64> {
        crate::error::check_name("config key", key)?;
        let (hash, changes) = keys(&self.session, key);
        let (mode, expected) = match expect {
            Expect::Any => ("any", 0),
            Expect::Absent => ("absent", 0),
            Expect::Version(v) => ("version", v),
        };
        let (ok, version): (i64, u64) = self
            .session
            .run_replicated("config set", |mut c| async move {
                scripts::CONFIG_SET
                    .key(&hash)
                    .key(&changes)
                    .arg(mode)
                    .arg(expected)
                    .arg(value)
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        if ok == 1 {
            return Ok(version);
        }
        Err(Error::Conflict {
            key: key.to_string(),
            expected: expect.to_string(),
            actual: if version == 0 {
                "no value".into()
            } else {
                format!("version {version}")
            },
        })
    }

    async fn watch_raw(&self, key: &str) -> Result<RawConfigWatch> {
        crate::error::check_name("config key", key)?;
        let mut last = newest_change(&self.session, key).await?;
        let current = read(&self.session, key).await?;
        let (tx, rx) = mpsc::channel(16);
        // The last value sent, as (version, bytes): a failover that lost writes rolls the key back to an older
        // version, and the writes after it reuse the lost version numbers with other bytes. Anything that differs
        // from what was sent is news (dropping versions at or below the highest seen ignored those writes).
        let mut seen: Option<(u64, Vec<u8>)> = None;
        if let Some(v) = current {
            seen = Some((v.version, v.value.clone()));
            // A fresh channel: the current value always fits.
            tx.try_send(v).ok();
        }
        let (session, key) = (self.session.clone(), key.to_string());
        tokio::spawn(async move {
            let (_, changes) = keys(&session, &key);
            let block = Duration::from_secs(2);
            loop {
                if session.is_closed() {
                    return;
                }
                let woke = tokio::select! {
                    r = session.pool.xread_newest(&changes, &last, block, "config watch") => r,
                    _ = tx.closed() => return,
                };
                match woke {
                    Ok(Some(id)) => last = id,
                    Ok(None) => {}
                    Err(Error::Closed) => return,
                    Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                }
                // Re-read on every wake-up: the value itself is the truth, the stream only a doorbell.
                match read(&session, &key).await {
                    Ok(Some(v))
                        if seen
                            .as_ref()
                            .is_none_or(|(n, d)| (*n, d.as_slice()) != (v.version, &v.value[..])) =>
                    {
                        if seen.as_ref().is_some_and(|(n, _)| v.version <= *n) {
                            tracing::warn!(key = %key, version = v.version, "config rolled back (a failover lost writes); the stored value is in force");
                        }
                        seen = Some((v.version, v.value.clone()));
                        if tx.send(v).await.is_err() {
                            return;
                        }
                    }
                    Err(Error::Closed) => return,
                    _ => {}
                }
            }
        });
        Ok(RawConfigWatch { rx })
    }
}
