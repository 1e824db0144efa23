//! Service discovery on the memory backend.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use tokio::sync::mpsc;

use super::Handle;
use super::election::wait_change;
use crate::registry::Deregister;
use crate::{Error, Instance, Membership, MembershipWatch, Registration, Registry, Result};

#[derive(Debug)]
pub(crate) struct MemoryRegistry {
    h: Handle,
}

impl MemoryRegistry {
    pub fn new(h: Handle) -> Self {
        MemoryRegistry { h }
    }
}

fn insert(h: &Handle, service: &str, payload: &serde_json::Value) -> Result<()> {
    let sid = h.sid()?;
    let mut st = h.cluster.lock();
    st.live(sid, "register")?;
    let members = st.services.entry(service.to_string()).or_default();
    if members.contains_key(&h.node) {
        return Err(Error::Conflict {
            key: format!("{service}/{}", h.node),
            expected: "no registration".into(),
            actual: "already registered".into(),
        });
    }
    members.insert(h.node.clone(), (sid, payload.clone()));
    h.cluster.changed(&mut st);
    Ok(())
}

#[derive(Debug)]
struct MemoryRegistration {
    h: Handle,
    service: String,
    active: Arc<AtomicBool>,
}

impl Deregister for MemoryRegistration {
    fn deregister(&self) {
        self.active.store(false, Ordering::SeqCst);
        let Ok(sid) = self.h.sid() else { return };
        let mut st = self.h.cluster.lock();
        if let Some(members) = st.services.get_mut(&self.service)
            && members.get(&self.h.node).is_some_and(|(owner, _)| *owner == sid)
        {
            members.remove(&self.h.node);
            self.h.cluster.changed(&mut st);
        }
    }
}

fn read(h: &Handle, service: &str) -> Result<Vec<Instance>> {
    let sid = h.sid()?;
    let st = h.cluster.lock();
    st.live(sid, "instances")?;
    Ok(st
        .services
        .get(service)
        .map(|m| {
            m.iter()
                .map(|(node, (_, payload))| Instance {
                    node: node.clone(),
                    payload: payload.clone(),
                })
                .collect()
        })
        .unwrap_or_default())
}

#[async_trait]
impl Registry for MemoryRegistry {
    async fn register(&self, service: &str, payload: serde_json::Value) -> Result<Registration> {
        crate::error::check_name("service", service)?;
        insert(&self.h, service, &payload)?;
        let active = Arc::new(AtomicBool::new(true));
        // Re-register in each new session after an expiry, while the handle lives.
        let (h, svc, flag) = (self.h.clone(), service.to_string(), active.clone());
        tokio::spawn(async move {
            let mut session = h.session();
            let mut epoch = session.borrow_and_update().epoch;
            while session.changed().await.is_ok() && flag.load(Ordering::SeqCst) {
                let now = *session.borrow_and_update();
                if now.state == crate::SessionState::Expired {
                    // Build the new session now rather than on the next call.
                    crate::error::best_effort("rebuild session", h.sid());
                    continue;
                }
                if now.epoch != epoch && now.is_connected() {
                    epoch = now.epoch;
                    crate::error::best_effort("re-register", insert(&h, &svc, &payload));
                }
            }
        });
        let inner = MemoryRegistration {
            h: self.h.clone(),
            service: service.to_string(),
            active,
        };
        Ok(Registration {
            service: service.to_string(),
            node: self.h.node.clone(),
            inner: Box::new(inner),
        })
    }

    async fn instances(&self, service: &str) -> Result<Vec<Instance>> {
        crate::error::check_name("service", service)?;
        read(&self.h, service)
    }

    async fn watch(&self, service: &str) -> Result<MembershipWatch> {
        crate::error::check_name("service", service)?;
        self.h.sid()?;
        let (tx, rx) = mpsc::channel(64);
        let (h, svc) = (self.h.clone(), service.to_string());
        tokio::spawn(async move {
            let mut prev: Vec<Instance> = Vec::new();
            let mut sent_once = false;
            loop {
                // Subscribe first, then read: a change between the two still wakes the watcher.
                let Ok(sid) = h.sid() else { return };
                let mut session = h.session();
                let epoch = session.borrow_and_update().epoch;
                let Some(mut notify) = h.cluster.subscribe(sid) else {
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                };
                loop {
                    if let Ok(now) = read(&h, &svc)
                        && (!sent_once || now != prev)
                    {
                        if tx.send(Membership::diff(&svc, &prev, now.clone())).await.is_err() {
                            return;
                        }
                        sent_once = true;
                        prev = now;
                    }
                    tokio::select! {
                        r = wait_change(&mut notify, &mut session, epoch, "watch") => match r {
                            Ok(()) => {}
                            Err(Error::Closed) => return,
                            Err(_) => break,
                        },
                        _ = tx.closed() => return,
                    }
                }
            }
        });
        Ok(MembershipWatch { rx })
    }
}
