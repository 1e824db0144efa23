//! Versioned configuration on the memory backend.

use async_trait::async_trait;
use tokio::sync::mpsc;

use super::Session;
use super::election::wait_change;
use crate::config::{Expect, RawConfigWatch, Versioned};
use crate::{ConfigStore, Error, Result};

#[derive(Debug)]
pub(crate) struct MemoryConfig {
    session: Session,
}

impl MemoryConfig {
    pub fn new(session: Session) -> Self {
        MemoryConfig { session }
    }
}

fn read(session: &Session, key: &str) -> Result<Option<Versioned<Vec<u8>>>> {
    let sid = session.sid()?;
    let st = session.cluster.lock();
    st.live(sid, "config get")?;
    Ok(st.configs.get(key).cloned())
}

#[async_trait]
impl ConfigStore for MemoryConfig {
    async fn get_raw(&self, key: &str) -> Result<Option<Versioned<Vec<u8>>>> {
        crate::error::check_name("config key", key)?;
        read(&self.session, key)
    }

    async fn set_raw(&self, key: &str, value: Vec<u8>, expect: Expect) -> Result<u64> {
        crate::error::check_name("config key", key)?;
        let sid = self.session.sid()?;
        let mut st = self.session.cluster.lock();
        st.live(sid, "config set")?;
        let current = st.configs.get(key).map(|v| v.version);
        let ok = match (expect, current) {
            (Expect::Any, _) | (Expect::Absent, None) => true,
            (Expect::Version(want), Some(have)) => want == have,
            _ => false,
        };
        if !ok {
            return Err(Error::Conflict {
                key: key.to_string(),
                expected: expect.to_string(),
                actual: current.map_or("no value".to_string(), |v| format!("version {v}")),
            });
        }
        let version = current.unwrap_or(0) + 1;
        st.configs.insert(key.to_string(), Versioned { version, value });
        self.session.cluster.changed(&mut st);
        Ok(version)
    }

    async fn watch_raw(&self, key: &str) -> Result<RawConfigWatch> {
        crate::error::check_name("config key", key)?;
        self.session.sid()?;
        let (tx, rx) = mpsc::channel(64);
        let (session, key) = (self.session.clone(), key.to_string());
        tokio::spawn(async move {
            let mut last = 0u64;
            loop {
                // Subscribe first, then read: a change between the two still wakes the watcher.
                let Ok(sid) = session.sid() else { return };
                let mut status_rx = session.status();
                let epoch = status_rx.borrow_and_update().epoch;
                let Some(mut notify) = session.cluster.subscribe(sid) else {
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                };
                loop {
                    if let Ok(Some(v)) = read(&session, &key)
                        && v.version > last
                    {
                        last = v.version;
                        if tx.send(v).await.is_err() {
                            return;
                        }
                    }
                    tokio::select! {
                        r = wait_change(&mut notify, &mut status_rx, epoch, "config watch") => match r {
                            Ok(()) => {}
                            Err(Error::Closed) => return,
                            Err(_) => break,
                        },
                        _ = tx.closed() => return,
                    }
                }
            }
        });
        Ok(RawConfigWatch { rx })
    }
}
