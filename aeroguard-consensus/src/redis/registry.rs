//! Service discovery on Redis: each registration is a member of a sorted set scored by its deadline,
//! extended by a task of its own every third of the session timeout; joins and leaves are appended to a
//! stream that watchers block on (`XREAD BLOCK`), and a watcher also wakes when the earliest deadline passes, so
//! a crashed member's departure is seen without polling.

use std::sync::Arc;
use std::time::Duration;

use aeroguard_core::NodeId;
use async_trait::async_trait;
use tokio::sync::mpsc;

use super::{Session, scripts};
use crate::registry::Deregister;
use crate::{Error, Instance, Membership, MembershipWatch, Registration, Registry, Result, SessionState};

#[derive(Debug, Clone)]
struct Keys {
    live: String,
    data: String,
    owner: String,
    events: String,
}

fn keys(session: &Session, service: &str) -> Keys {
    let base = session.named("svc", service);
    Keys {
        live: format!("{base}:live"),
        data: format!("{base}:data"),
        owner: format!("{base}:owner"),
        events: format!("{base}:events"),
    }
}

#[derive(Debug)]
pub(crate) struct RedisRegistry {
    session: Session,
}

impl RedisRegistry {
    pub fn new(session: Session) -> Self {
        RedisRegistry { session }
    }
}

/// Puts the registration: 2 created, 1 extended, 0 held by another owner.
async fn put(session: &Session, service: &str, owner: &str, payload: &str, previous: &str) -> Result<i64> {
    let (k, node, owner, payload, previous, ttl) = (
        keys(session, service),
        session.node.to_string(),
        owner.to_string(),
        payload.to_string(),
        previous.to_string(),
        session.options.ttl_ms(),
    );
    session
        .run("register", |mut c| async move {
            scripts::REGISTRY_PUT
                .key(&k.live)
                .key(&k.data)
                .key(&k.owner)
                .key(&k.events)
                .arg(&node)
                .arg(&owner)
                .arg(&payload)
                .arg(ttl)
                .arg(&previous)
                .invoke_async(&mut c)
                .await
        })
        .await
}

pub(crate) async fn delete(session: &Session, service: &str, owner: &str) -> Result<()> {
    let (k, node, owner) = (
        keys(session, service),
        session.node.to_string(),
        owner.to_string(),
    );
    session
        .run("deregister", |mut c| async move {
            scripts::REGISTRY_DELETE
                .key(&k.live)
                .key(&k.data)
                .key(&k.owner)
                .key(&k.events)
                .arg(&node)
                .arg(&owner)
                .invoke_async::<i64>(&mut c)
                .await
        })
        .await
        .map(|_| ())
}

/// The live instances (sorted by node), the last event id and how long until the earliest deadline.
async fn list(session: &Session, service: &str) -> Result<(Vec<Instance>, String, Option<Duration>)> {
    let k = keys(session, service);
    let raw: Vec<redis::Value> = session
        .run("list instances", |mut c| async move {
            scripts::REGISTRY_LIST
                .key(&k.live)
                .key(&k.data)
                .key(&k.owner)
                .key(&k.events)
                .invoke_async(&mut c)
                .await
        })
        .await?;
    let bad = |message: String| Error::Backend {
        backend: super::BACKEND,
        operation: "list instances",
        message,
        cause: None,
    };
    let text = |v: &redis::Value| -> Result<String> {
        redis::from_redis_value_ref::<String>(v)
            .map_err(|e| Error::backend(super::BACKEND, "list instances", e))
    };
    let mut it = raw.iter();
    let last = it.next().map(text).transpose()?.unwrap_or_else(|| "0-0".into());
    let wait = it
        .next()
        .map(|v| redis::from_redis_value_ref::<i64>(v).map_err(|e| bad(e.to_string())))
        .transpose()?
        .unwrap_or(-1);
    let mut instances = Vec::new();
    while let (Some(node), Some(payload)) = (it.next(), it.next()) {
        let node = NodeId::new(text(node)?).map_err(|e| bad(e.to_string()))?;
        let payload = serde_json::from_str(&text(payload)?).unwrap_or(serde_json::Value::Null);
        instances.push(Instance { node, payload });
    }
    instances.sort_by(|a, b| a.node.cmp(&b.node));
    let wait = (wait >= 0).then(|| Duration::from_millis(u64::try_from(wait).unwrap_or(0) + 1));
    Ok((instances, last, wait))
}

/// Keeps one registration alive; re-creates it in a new session after an expiry.
async fn keep_alive(
    session: Session,
    service: String,
    payload: String,
    mut owner: String,
    active: Arc<std::sync::atomic::AtomicBool>,
) {
    use std::sync::atomic::Ordering;
    let period = session.options.session.timeout / 3;
    let mut status_rx = session.status();
    let mut epoch = status_rx.borrow().epoch;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(period) => {}
            r = status_rx.changed() => if r.is_err() { return },
        }
        if !active.load(Ordering::SeqCst) || session.is_closed() {
            return;
        }
        let status = *status_rx.borrow_and_update();
        if status.state != SessionState::Connected {
            continue;
        }
        let previous = owner.clone();
        if status.epoch != epoch {
            match session.owner("register") {
                Ok((o, e)) => {
                    owner = o;
                    epoch = e;
                }
                Err(_) => continue,
            }
            session.track_registration(&service, &previous, false);
            session.track_registration(&service, &owner, true);
        }
        if let Ok(0) = put(&session, &service, &owner, &payload, &previous).await {
            return; // another owner took the node's registration
        }
        if !active.load(Ordering::SeqCst) {
            // Deregistered while the put was in flight: undo it.
            crate::error::best_effort("undo registration", delete(&session, &service, &owner).await);
            return;
        }
    }
}

#[derive(Debug)]
struct RedisRegistration {
    session: Session,
    service: String,
    owner: String,
    active: Arc<std::sync::atomic::AtomicBool>,
}

impl Deregister for RedisRegistration {
    fn deregister(&self) {
        self.active.store(false, std::sync::atomic::Ordering::SeqCst);
        self.session.track_registration(&self.service, &self.owner, false);
        let (session, service, owner) = (self.session.clone(), self.service.clone(), self.owner.clone());
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                // The owner may have changed with a new session: remove whichever this node holds.
                crate::error::best_effort("deregister", delete(&session, &service, &owner).await);
                if let Ok((current, _)) = session.owner("deregister")
                    && current != owner
                {
                    crate::error::best_effort("deregister", delete(&session, &service, &current).await);
                }
            });
        }
    }
}

#[async_trait]
impl Registry for RedisRegistry {
    async fn register(&self, service: &str, payload: serde_json::Value) -> Result<Registration> {
        crate::error::check_name("service", service)?;
        let (owner, _) = self.session.owner("register")?;
        let text = payload.to_string();
        match put(&self.session, service, &owner, &text, &owner).await? {
            2 => {}
            _ => {
                return Err(Error::Conflict {
                    key: format!("{service}/{}", self.session.node),
                    expected: "no registration".into(),
                    actual: "already registered".into(),
                });
            }
        }
        self.session.track_registration(service, &owner, true);
        let active = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let span = tracing::debug_span!("registration", node = %self.session.node, service);
        tokio::spawn(tracing::Instrument::instrument(
            keep_alive(
                self.session.clone(),
                service.to_string(),
                text,
                owner.clone(),
                active.clone(),
            ),
            span,
        ));
        Ok(Registration {
            service: service.to_string(),
            node: self.session.node.clone(),
            inner: Box::new(RedisRegistration {
                session: self.session.clone(),
                service: service.to_string(),
                owner,
                active,
            }),
        })
    }

    async fn instances(&self, service: &str) -> Result<Vec<Instance>> {
        crate::error::check_name("service", service)?;
        Ok(list(&self.session, service).await?.0)
    }

    async fn watch(&self, service: &str) -> Result<MembershipWatch> {
        crate::error::check_name("service", service)?;
        let (instances, last, wait) = list(&self.session, service).await?;
        let (tx, rx) = mpsc::channel(16);
        let first = Membership::diff(service, &[], instances.clone());
        // A fresh channel with room for 16: the first membership always fits.
        tx.try_send(first).ok();
        tokio::spawn(follow(
            self.session.clone(),
            service.to_string(),
            instances,
            last,
            wait,
            tx,
        ));
        Ok(MembershipWatch { rx })
    }
}

/// Follows the events stream and the deadlines; sends one event per change of membership.
async fn follow(
    session: Session,
    service: String,
    mut previous: Vec<Instance>,
    mut last: String,
    mut wait: Option<Duration>,
    tx: mpsc::Sender<Membership>,
) {
    let events = keys(&session, &service).events;
    // Fallback re-listing, in case an event is lost in a failover.
    let cap = Duration::from_secs(2);
    loop {
        if session.is_closed() {
            return;
        }
        let block = wait.unwrap_or(cap).min(cap);
        let outcome = tokio::select! {
            r = session.pool.xread_newest(&events, &last, block, "watch members") => r,
            _ = tx.closed() => return,
        };
        match outcome {
            Ok(Some(id)) => last = id,
            Ok(None) => {}
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
        match list(&session, &service).await {
            Ok((instances, _, next_wait)) => {
                wait = next_wait;
                if instances != previous {
                    let event = Membership::diff(&service, &previous, instances.clone());
                    previous = instances;
                    if tx.send(event).await.is_err() {
                        return;
                    }
                }
            }
            Err(Error::Closed) => return,
            Err(_) => wait = Some(Duration::from_millis(100)),
        }
    }
}
