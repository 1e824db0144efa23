//! Versioned configuration on ZooKeeper: one persistent znode per key.

use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::mpsc;
use zookeeper_client as zk;

use super::{AclKind, Session, zk_err};
use crate::config::{Expect, RawConfigWatch, Versioned};
use crate::{ConfigStore, Error, Result};

#[derive(Debug)]
pub(crate) struct ZkConfig {
    session: Session,
}

impl ZkConfig {
    pub fn new(session: Session) -> Self {
        ZkConfig { session }
    }
}

fn version_of(stat: &zk::Stat) -> u64 {
    u64::try_from(stat.version).unwrap_or(0) + 1
}

fn conflict(key: &str, expect: Expect, actual: &str) -> Error {
    Error::Conflict {
        key: key.to_string(),
        expected: expect.to_string(),
        actual: actual.to_string(),
    }
}

#[async_trait]
impl ConfigStore for ZkConfig {
    async fn get_raw(&self, key: &str) -> Result<Option<Versioned<Vec<u8>>>> {
        crate::error::check_name("config key", key)?;
        let (client, _) = self.session.client("config get")?;
        match client
            .get_data(&self.session.path(&format!("config/{key}")))
            .await
        {
            Ok((value, stat)) => Ok(Some(Versioned {
                version: version_of(&stat),
                value,
            })),
            Err(zk::Error::NoNode) => Ok(None),
            Err(e) => Err(zk_err(e, "config get")),
        }
    }

    async fn set_raw(&self, key: &str, value: Vec<u8>, expect: Expect) -> Result<u64> {
        const OP: &str = "config set";
        crate::error::check_name("config key", key)?;
        let (client, _) = self.session.client(OP)?;
        let path = self.session.path(&format!("config/{key}"));
        let session = &self.session;
        let create = |client: zk::Client, path: String, value: Vec<u8>| async move {
            let opts = session.create_options(zk::CreateMode::Persistent, AclKind::Shared);
            client
                .create(&path, &value, &opts)
                .await
                .map(|(stat, _)| version_of(&stat))
        };
        match expect {
            Expect::Absent => {
                self.session
                    .ensure_dir(&client, &self.session.path("config"))
                    .await?;
                match create(client, path, value).await {
                    Ok(v) => Ok(v),
                    Err(zk::Error::NodeExists) => Err(conflict(key, expect, "a value")),
                    Err(e) => Err(zk_err(e, OP)),
                }
            }
            Expect::Version(want) => {
                let zk_version = i32::try_from(want.saturating_sub(1)).unwrap_or(i32::MAX);
                match client.set_data(&path, &value, Some(zk_version)).await {
                    Ok(stat) => Ok(version_of(&stat)),
                    Err(zk::Error::BadVersion) => Err(conflict(key, expect, "another version")),
                    Err(zk::Error::NoNode) => Err(conflict(key, expect, "no value")),
                    Err(e) => Err(zk_err(e, OP)),
                }
            }
            Expect::Any => loop {
                match client.set_data(&path, &value, None).await {
                    Ok(stat) => return Ok(version_of(&stat)),
                    Err(zk::Error::NoNode) => {
                        self.session
                            .ensure_dir(&client, &self.session.path("config"))
                            .await?;
                        match create(client.clone(), path.clone(), value.clone()).await {
                            Ok(v) => return Ok(v),
                            Err(zk::Error::NodeExists) => continue,
                            Err(e) => return Err(zk_err(e, OP)),
                        }
                    }
                    Err(e) => return Err(zk_err(e, OP)),
                }
            },
        }
    }

    async fn watch_raw(&self, key: &str) -> Result<RawConfigWatch> {
        crate::error::check_name("config key", key)?;
        self.session.client("config watch")?;
        let (tx, rx) = mpsc::channel(64);
        let (session, path) = (self.session.clone(), self.session.path(&format!("config/{key}")));
        tokio::spawn(async move {
            let mut last = 0u64;
            loop {
                let (client, epoch) = match session.client("config watch") {
                    Ok(c) => c,
                    Err(Error::Closed) => return,
                    Err(_) => {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                // Read and set the watch in one call; if the key does not exist yet, watch for its creation.
                let watcher = match client.get_and_watch_data(&path).await {
                    Ok((value, stat, w)) => {
                        let version = version_of(&stat);
                        if version > last {
                            last = version;
                            if tx.send(Versioned { version, value }).await.is_err() {
                                return;
                            }
                        }
                        w
                    }
                    Err(zk::Error::NoNode) => match client.check_and_watch_stat(&path).await {
                        Ok((None, w)) => w,
                        // Created between the read and the watch: no event will tell of it, so read it now.
                        Ok((Some(_), _)) => continue,
                        Err(_) => {
                            tokio::time::sleep(Duration::from_millis(100)).await;
                            continue;
                        }
                    },
                    Err(_) => {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                tokio::select! {
                    _ = watcher.changed() => {}
                    _ = session.session_ended(epoch) => {}
                    _ = tx.closed() => return,
                }
            }
        });
        Ok(RawConfigWatch { rx })
    }
}
