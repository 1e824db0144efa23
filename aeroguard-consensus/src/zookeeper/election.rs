//! Election on ZooKeeper: ephemeral sequential candidates, each in a folder of its node's own, ordered by
//! creation; each watches only its predecessor.

use aeroguard_core::NodeId;
use async_trait::async_trait;
use zookeeper_client as zk;

use super::identity::vouch;
use super::{AclKind, Session, ZkAuth, zk_err};
use crate::election::Tenure;
use crate::{Election, Error, FencingToken, Leadership, LossReason, Result};

#[derive(Debug)]
pub(crate) struct ZkElection {
    session: Session,
    name: String,
    dir: String,
}

/// A candidate that counts: its creation zxid, its node and its path.
type Candidate = (i64, String, String);

impl ZkElection {
    pub fn new(session: Session, name: &str) -> Self {
        let dir = session.path(&format!("elections/{name}"));
        ZkElection {
            session,
            name: name.to_string(),
            dir,
        }
    }

    /// The roster this client checks candidates against, if it has one.
    fn roster(&self) -> Option<&ZkAuth> {
        self.session
            .options
            .auth
            .as_ref()
            .filter(|a| !a.members.is_empty())
    }

    /// The candidates that count, oldest first: in each node's folder `<node>` (which, with a roster, counts
    /// only when the roster's identity for the node is the one that may create in it and its ACL never
    /// changed), the children named `<node>~<10 digits>` (what an ephemeral sequential create makes) that are
    /// ephemeral. They are ordered by the zxid the servers gave their creation, not by the number in their
    /// name, so a znode named to sort first (`zz~0000000000`, `zz~-1`) waits its turn, and a persistent one
    /// (which would outlive every session and hold the election for good) does not count.
    async fn candidates(&self, client: &zk::Client) -> Result<Vec<Candidate>> {
        const OP: &str = "list candidates";
        let folders = match client.list_children(&self.dir).await {
            Ok(c) => c,
            Err(zk::Error::NoNode) => return Ok(Vec::new()),
            Err(e) => return Err(zk_err(e, OP)),
        };
        // The reads go out together (the client sends each request when it is made) and are answered in order.
        let pending: Vec<_> = folders
            .iter()
            .map(|node| {
                let folder = format!("{}/{node}", self.dir);
                (client.get_acl(&folder), client.list_children(&folder))
            })
            .collect();
        let mut named = Vec::new();
        for (node, (acl, children)) in folders.iter().zip(pending) {
            let (acls, stat) = match acl.await {
                Ok(found) => found,
                Err(zk::Error::NoNode | zk::Error::NoAuth) => continue,
                Err(e) => return Err(zk_err(e, OP)),
            };
            let children = match children.await {
                Ok(c) => c,
                Err(zk::Error::NoNode | zk::Error::NoAuth) => continue,
                Err(e) => return Err(zk_err(e, OP)),
            };
            if let Some(auth) = self.roster()
                && let Some(why) = vouch(auth, node, &acls, &stat, zk::Permission::CREATE)
            {
                tracing::debug!(election = %self.name, %node, %why, "a candidate folder that does not count");
                continue;
            }
            for name in children {
                let sequential = name
                    .strip_prefix(node.as_str())
                    .and_then(|rest| rest.strip_prefix('~'))
                    .is_some_and(|seq| seq.len() == 10 && seq.bytes().all(|b| b.is_ascii_digit()));
                if sequential {
                    named.push((node.clone(), format!("{}/{node}/{name}", self.dir)));
                }
            }
        }
        let pending: Vec<_> = named.iter().map(|(_, path)| client.check_stat(path)).collect();
        let mut out = Vec::with_capacity(named.len());
        for ((node, path), stat) in named.into_iter().zip(pending) {
            match stat.await {
                Ok(Some(stat)) if stat.ephemeral_owner != 0 => out.push((stat.czxid, node, path)),
                Ok(_) => {}
                Err(e) => return Err(zk_err(e, OP)),
            }
        }
        out.sort();
        Ok(out)
    }
}

/// Deletes the candidate's znode (in the background when the campaign future is dropped early).
struct Candidacy {
    client: zk::Client,
    path: String,
    armed: bool,
}

impl Drop for Candidacy {
    fn drop(&mut self) {
        if self.armed {
            delete_in_background(self.client.clone(), self.path.clone());
        }
    }
}

/// Deletes `path` without waiting for the answer. The request is queued on the session now (the client orders
/// requests when their futures are created), so later requests of the same session see the deletion.
pub(crate) fn delete_in_background(client: zk::Client, path: String) {
    let request = client.delete(&path, None);
    if let Ok(rt) = tokio::runtime::Handle::try_current() {
        rt.spawn(async move {
            crate::error::best_effort("delete in background", request.await);
        });
    }
}

#[derive(Debug)]
struct ZkTenure {
    client: zk::Client,
    path: String,
}

#[async_trait]
impl Tenure for ZkTenure {
    async fn resign(&self) -> Result<()> {
        match self.client.delete(&self.path, None).await {
            Ok(()) | Err(zk::Error::NoNode) => Ok(()),
            Err(e) => Err(zk_err(e, "resign")),
        }
    }

    fn resign_in_background(&self) {
        delete_in_background(self.client.clone(), self.path.clone());
    }
}

/// Resolves when the znode at `path` is gone (checked again after every event, connection or not).
async fn gone(client: zk::Client, path: String) -> LossReason {
    loop {
        match client.check_and_watch_stat(&path).await {
            Ok((None, _)) => return LossReason::Deposed,
            Ok((Some(_), watcher)) => {
                let event = watcher.changed().await;
                if event.event_type == zk::EventType::NodeDeleted {
                    return LossReason::Deposed;
                }
                if matches!(
                    event.session_state,
                    zk::SessionState::Expired | zk::SessionState::Closed
                ) {
                    // The session watchdog reports this one.
                    std::future::pending::<()>().await;
                }
            }
            Err(zk::Error::SessionExpired | zk::Error::ClientClosed) => std::future::pending::<()>().await,
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
        }
    }
}

#[async_trait]
impl Election for ZkElection {
    fn name(&self) -> &str {
        &self.name
    }

    async fn campaign(&self) -> Result<Leadership> {
        const OP: &str = "campaign";
        let node = self.session.node.as_str();
        if let Some(auth) = self.roster()
            && auth.identity_of(node).is_none()
        {
            return Err(Error::Forbidden {
                backend: super::BACKEND,
                operation: OP,
                reason: format!(
                    "{node} is not in this client's roster (ZkAuth::with_member), so its candidacy would never count"
                ),
            });
        }
        let (client, epoch) = self.session.client(OP)?;
        // The election's folder lets members create but (with node identities of their own) not delete; the
        // node's folder in it is its own.
        self.session
            .ensure_dir_as(&client, &self.dir, AclKind::Guarded)
            .await?;
        let folder = format!("{}/{node}", self.dir);
        self.session
            .ensure_dir_as(&client, &folder, AclKind::Slot)
            .await?;
        let opts = self
            .session
            .create_options(zk::CreateMode::EphemeralSequential, AclKind::Own);
        let (stat, seq) = client
            .create(&format!("{folder}/{node}~"), node.as_bytes(), &opts)
            .await
            .map_err(|e| zk_err(e, OP))?;
        let path = format!("{folder}/{node}~{seq}");
        let mut guard = Candidacy {
            client: client.clone(),
            path: path.clone(),
            armed: true,
        };
        loop {
            let all = self.candidates(&client).await?;
            let Some(index) = all.iter().position(|c| c.2 == path) else {
                return Err(Error::SessionExpired { operation: OP });
            };
            if index == 0 {
                break;
            }
            // Watch only the predecessor: one wake-up per departure, no herd.
            match client.check_and_watch_stat(&all[index - 1].2).await {
                Ok((None, _)) => continue,
                Ok((Some(_), watcher)) => {
                    let event = tokio::select! {
                        event = watcher.changed() => event,
                        e = self.session.session_ended(epoch) => return Err(e),
                    };
                    // Second in line and the first is gone: creation zxids only grow, so nobody can be
                    // ahead any more. Skip the re-listing round trip.
                    if index == 1 && event.event_type == zk::EventType::NodeDeleted {
                        break;
                    }
                }
                Err(e) => return Err(zk_err(e, OP)),
            }
        }
        guard.armed = false;
        let grace = self.session.grace(&client);
        Ok(Leadership::start(
            &self.name,
            self.session.node.clone(),
            FencingToken(u64::try_from(stat.czxid).unwrap_or(0)),
            self.session.status(),
            grace,
            gone(client.clone(), path.clone()),
            Box::new(ZkTenure { client, path }),
        )
        .with_lease(self.session.lease()))
    }

    async fn leader(&self) -> Result<Option<NodeId>> {
        Ok(self.contenders().await?.into_iter().next())
    }

    async fn grant(&self) -> Result<Option<crate::Grant>> {
        let (client, _) = self.session.client("grant")?;
        // Through the ensemble's leader first: a follower behind it (or cut off from it) would show the
        // previous term, and a new leader's posts would be refused against it.
        client.sync(&self.dir).await.or_else(|e| match e {
            zk::Error::NoNode => Ok(()),
            e => Err(zk_err(e, "grant")),
        })?;
        // The oldest candidate leads; its token is its znode's creation zxid, read (with its being ephemeral)
        // after the listing, so a leader that left in between is not in the list.
        let Some((czxid, node, _)) = self.candidates(&client).await?.into_iter().next() else {
            return Ok(None);
        };
        let node = NodeId::new(node).map_err(|e| Error::backend(super::BACKEND, "grant", e))?;
        Ok(Some(crate::Grant {
            node,
            token: FencingToken(u64::try_from(czxid).unwrap_or(0)),
        }))
    }

    async fn contenders(&self) -> Result<Vec<NodeId>> {
        let (client, _) = self.session.client("contenders")?;
        let all = self.candidates(&client).await?;
        all.into_iter()
            .map(|(_, node, _)| {
                NodeId::new(node).map_err(|e| Error::backend(super::BACKEND, "contenders", e))
            })
            .collect()
    }
}
