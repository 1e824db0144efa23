//! Service discovery on ZooKeeper: one ephemeral znode per registered node.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use aeroguard_core::NodeId;
use async_trait::async_trait;
use tokio::sync::mpsc;
use zookeeper_client as zk;

use super::election::delete_in_background;
use super::{AclKind, Session, zk_err};
use crate::registry::Deregister;
use crate::{Error, Instance, Membership, MembershipWatch, Registration, Registry, Result};

#[derive(Debug)]
pub(crate) struct ZkRegistry {
    session: Session,
}

impl ZkRegistry {
    pub fn new(session: Session) -> Self {
        ZkRegistry { session }
    }
}

/// How often a registration is tried again (every 200 ms) in a new session: a minute.
const REREGISTER_TRIES: u32 = 300;

fn dir(session: &Session, service: &str) -> String {
    session.path(&format!("services/{service}"))
}

async fn create(session: &Session, client: &zk::Client, service: &str, payload: &[u8]) -> Result<()> {
    let d = dir(session, service);
    session.ensure_dir(client, &d).await?;
    let opts = session.create_options(zk::CreateMode::Ephemeral, AclKind::Own);
    match client
        .create(&format!("{d}/{}", session.node), payload, &opts)
        .await
    {
        Ok(_) => Ok(()),
        Err(zk::Error::NodeExists) => Err(Error::Conflict {
            key: format!("{service}/{}", session.node),
            expected: "no registration".into(),
            actual: "already registered".into(),
        }),
        Err(e) => Err(zk_err(e, "register")),
    }
}

/// Whether `service`'s registration of this node belongs to `client`'s session (a create whose answer was
/// lost), not to an earlier session the servers have yet to expire.
async fn ours(session: &Session, client: &zk::Client, service: &str) -> bool {
    let path = format!("{}/{}", dir(session, service), session.node);
    matches!(client.check_stat(&path).await, Ok(Some(stat)) if stat.ephemeral_owner == client.session_id().0)
}

/// Reads the instances under `d` in one multi-read, with a watch on the children.
async fn read(
    client: &zk::Client,
    d: &str,
    watch: bool,
) -> Result<(Vec<Instance>, Option<zk::OneshotWatcher>)> {
    let (children, watcher) = if watch {
        match client.get_and_watch_children(d).await {
            Ok((c, _, w)) => (c, Some(w)),
            Err(e) => return Err(zk_err(e, "watch service")),
        }
    } else {
        match client.list_children(d).await {
            Ok(c) => (c, None),
            Err(zk::Error::NoNode) => return Ok((Vec::new(), None)),
            Err(e) => return Err(zk_err(e, "list service")),
        }
    };
    let mut reader = client.new_multi_reader();
    for c in &children {
        reader
            .add_get_data(&format!("{d}/{c}"))
            .map_err(|e| zk_err(e, "read instances"))?;
    }
    let results = reader.commit().await.map_err(|e| zk_err(e, "read instances"))?;
    let mut out = Vec::new();
    for (name, r) in children.into_iter().zip(results) {
        // An instance that left between the listing and the read is simply not there.
        if let (zk::MultiReadResult::Data { data, .. }, Ok(node)) = (r, NodeId::new(name)) {
            let payload = serde_json::from_slice(&data).unwrap_or(serde_json::Value::Null);
            out.push(Instance { node, payload });
        }
    }
    out.sort_by(|a, b| a.node.cmp(&b.node));
    Ok((out, watcher))
}

#[derive(Debug)]
struct ZkRegistration {
    session: Session,
    service: String,
    active: Arc<AtomicBool>,
}

impl Deregister for ZkRegistration {
    fn deregister(&self) {
        self.active.store(false, Ordering::SeqCst);
        if let Ok((client, _)) = self.session.client("deregister") {
            delete_in_background(
                client,
                format!("{}/{}", dir(&self.session, &self.service), self.session.node),
            );
        }
    }
}

#[async_trait]
impl Registry for ZkRegistry {
    async fn register(&self, service: &str, payload: serde_json::Value) -> Result<Registration> {
        crate::error::check_name("service", service)?;
        let bytes = serde_json::to_vec(&payload).map_err(|e| Error::Invalid {
            what: "registration payload",
            key: service.to_string(),
            version: 0,
            reason: e.to_string(),
        })?;
        let (client, _) = self.session.client("register")?;
        create(&self.session, &client, service, &bytes).await?;
        let active = Arc::new(AtomicBool::new(true));
        // Re-create the znode in every new session after an expiry, while the handle lives.
        let (session, svc, flag) = (self.session.clone(), service.to_string(), active.clone());
        tokio::spawn(async move {
            let mut status_rx = session.status();
            let mut epoch = status_rx.borrow_and_update().epoch;
            while status_rx.changed().await.is_ok() && flag.load(Ordering::SeqCst) {
                let now = *status_rx.borrow_and_update();
                if now.epoch != epoch && now.is_connected() {
                    epoch = now.epoch;
                    // The expired session's znode may still be there (the servers expire it on their own time,
                    // later after a pause of the whole ensemble): wait it out rather than take it for this
                    // session's, or the node would stay unregistered once it goes.
                    for _ in 0..REREGISTER_TRIES {
                        match session.client("re-register") {
                            Ok((client, e)) if e == epoch => {
                                match create(&session, &client, &svc, &bytes).await {
                                    Ok(()) => break,
                                    Err(Error::Conflict { .. }) if ours(&session, &client, &svc).await => {
                                        break;
                                    }
                                    Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
                                }
                            }
                            // A newer session again: the next status change re-registers in it.
                            Ok(_) => break,
                            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
                        }
                    }
                }
            }
        });
        let inner = ZkRegistration {
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
        let (client, _) = self.session.client("instances")?;
        Ok(read(&client, &dir(&self.session, service), false).await?.0)
    }

    async fn watch(&self, service: &str) -> Result<MembershipWatch> {
        crate::error::check_name("service", service)?;
        let d = dir(&self.session, service);
        {
            let (client, _) = self.session.client("watch service")?;
            self.session.ensure_dir(&client, &d).await?;
        }
        let (tx, rx) = mpsc::channel(64);
        let (session, svc) = (self.session.clone(), service.to_string());
        tokio::spawn(async move {
            let mut prev: Vec<Instance> = Vec::new();
            let mut sent_once = false;
            loop {
                let Ok((client, epoch)) = session.client("watch service") else {
                    if session.client("watch service").err() == Some(Error::Closed) {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                };
                match read(&client, &d, true).await {
                    Ok((now, watcher)) => {
                        if (!sent_once || now != prev)
                            && tx.send(Membership::diff(&svc, &prev, now.clone())).await.is_err()
                        {
                            return;
                        }
                        sent_once = true;
                        prev = now;
                        if let Some(w) = watcher {
                            tokio::select! {
                                _ = w.changed() => {}
                                _ = session.session_ended(epoch) => {}
                                _ = tx.closed() => return,
                            }
                        }
                    }
                    Err(Error::Closed) => return,
                    Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
        });
        Ok(MembershipWatch { rx })
    }
}
