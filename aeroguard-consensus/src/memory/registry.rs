//! Service discovery on the memory backend.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use tokio::sync::mpsc;

use super::Session;
use super::election::wait_change;
use crate::registry::Deregister;
use crate::{Error, Instance, Membership, MembershipWatch, Registration, Registry, Result};

#[derive(Debug)]
pub(crate) struct MemoryRegistry {
    session: Session,
}

impl MemoryRegistry {
    pub fn new(session: Session) -> Self {
        MemoryRegistry { session }
    }
}

fn insert(session: &Session, service: &str, payload: &serde_json::Value) -> Result<()> {
    let sid = session.sid()?;
    let mut st = session.cluster.lock();
    st.live(sid, "register")?;
    let members = st.services.entry(service.to_string()).or_default();
    if members.contains_key(&session.node) {
        return Err(Error::Conflict {
            key: format!("{service}/{}", session.node),
            expected: "no registration".into(),
            actual: "already registered".into(),
        });
    }
    members.insert(session.node.clone(), (sid, payload.clone()));
    session.cluster.changed(&mut st);
    Ok(())
}

#[derive(Debug)]
struct MemoryRegistration {
    session: Session,
    service: String,
    active: Arc<AtomicBool>,
}

impl Deregister for MemoryRegistration {
    fn deregister(&self) {
        self.active.store(false, Ordering::SeqCst);
        let Ok(sid) = self.session.sid() else { return };
        let mut st = self.session.cluster.lock();
        if let Some(members) = st.services.get_mut(&self.service)
            && members
                .get(&self.session.node)
                .is_some_and(|(owner, _)| *owner == sid)
        {
            members.remove(&self.session.node);
            self.session.cluster.changed(&mut st);
        }
    }
}

fn read(session: &Session, service: &str) -> Result<Vec<Instance>> {
    let sid = session.sid()?;
    let st = session.cluster.lock();
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
        insert(&self.session, service, &payload)?;
        let active = Arc::new(AtomicBool::new(true));
        // Re-register in each new session after an expiry, while the handle lives.
        let (session, svc, flag) = (self.session.clone(), service.to_string(), active.clone());
        tokio::spawn(async move {
            let mut status_rx = session.status();
            let mut epoch = status_rx.borrow_and_update().epoch;
            while status_rx.changed().await.is_ok() && flag.load(Ordering::SeqCst) {
                let now = *status_rx.borrow_and_update();
                if now.state == crate::SessionState::Expired {
                    // Build the new session now rather than on the next call.
                    crate::error::best_effort("rebuild session", session.sid());
                    continue;
                }
                if now.epoch != epoch && now.is_connected() {
                    epoch = now.epoch;
                    crate::error::best_effort("re-register", insert(&session, &svc, &payload));
                }
            }
        });
        let inner = MemoryRegistration {
            session: self.session.clone(),
            service: service.to_string(),
            active,
        };
        Ok(Registration {
            service: service.to_string(),
            node: self.session.node.clone(),
            inner: Box::new(inner),
        })
    }

    async fn instances(&self, service: &str) -> Result<Vec<Instance>> {
        crate::error::check_name("service", service)?;
        read(&self.session, service)
    }

    async fn watch(&self, service: &str) -> Result<MembershipWatch> {
        crate::error::check_name("service", service)?;
        self.session.sid()?;
        let (tx, rx) = mpsc::channel(64);
        let (session, svc) = (self.session.clone(), service.to_string());
        tokio::spawn(async move {
            let mut prev: Vec<Instance> = Vec::new();
            let mut sent_once = false;
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
                    if let Ok(now) = read(&session, &svc)
                        && (!sent_once || now != prev)
                    {
                        if tx.send(Membership::diff(&svc, &prev, now.clone())).await.is_err() {
                            return;
                        }
                        sent_once = true;
                        prev = now;
                    }
                    tokio::select! {
                        r = wait_change(&mut notify, &mut status_rx, epoch, "watch") => match r {
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
