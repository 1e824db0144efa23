//! The queue on ZooKeeper: persistent sequential items, ephemeral claims, ack = delete both in one `multi`.
//!
//! A claim is ephemeral, so a consumer that dies releases its items when its session expires, and the items
//! are delivered again. Claims, reads and acks of a batch are pipelined: requests are queued when their
//! futures are created and answered in order.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;
use zookeeper_client as zk;

use super::election::delete_in_background;
use super::{AclKind, Session, zk_err};
use crate::queue::{Acker, QueueOptions, dead_letter_name};
use crate::{Delivery, Error, Queue, Result};

/// Operations per `multi` (ZooKeeper caps a request at about 1 MB).
const MULTI_OPS: usize = 500;
const MULTI_BYTES: usize = 512 * 1024;

#[derive(Debug)]
pub(crate) struct ZkQueue {
    session: Session,
    name: String,
    items: String,
    claims: String,
    /// The dead-letter queue's items.
    dead: String,
    options: QueueOptions,
    ready: AtomicBool,
}

impl ZkQueue {
    pub fn new(session: Session, name: &str, options: QueueOptions) -> Self {
        let items = session.path(&format!("queues/{name}/items"));
        let claims = session.path(&format!("queues/{name}/claims"));
        let dead = session.path(&format!("queues/{}/items", dead_letter_name(name)));
        ZkQueue {
            session,
            name: name.to_string(),
            items,
            claims,
            dead,
            options,
            ready: AtomicBool::new(false),
        }
    }

    /// Counts a delivery of each claimed item, in the item's data version (rewriting the same bytes: one write
    /// per delivery, pipelined), and splits them into those to deliver and those past the limit.
    async fn count(
        &self,
        client: &zk::Client,
        claimed: Vec<(String, Vec<u8>)>,
    ) -> Result<(Vec<(String, Vec<u8>)>, Vec<(String, Vec<u8>)>)> {
        let limit = self.options.limit();
        if limit == 0 {
            return Ok((claimed, Vec::new()));
        }
        let paths: Vec<String> = claimed
            .iter()
            .map(|(n, _)| format!("{}/{n}", self.items))
            .collect();
        let bumps: Vec<_> = paths
            .iter()
            .zip(&claimed)
            .map(|(path, (_, data))| client.set_data(path, data, None))
            .collect();
        let (mut deliver, mut dead, mut failure) = (Vec::new(), Vec::new(), None);
        for ((name, data), bump) in claimed.into_iter().zip(bumps) {
            match bump.await {
                Ok(stat) if u32::try_from(stat.version).unwrap_or(u32::MAX) > limit => {
                    dead.push((name, data))
                }
                Ok(_) => deliver.push((name, data)),
                // Acked between our listing and our claim: drop the stray claim.
                Err(zk::Error::NoNode) => {
                    delete_in_background(client.clone(), format!("{}/{name}", self.claims));
                }
                Err(e) => {
                    delete_in_background(client.clone(), format!("{}/{name}", self.claims));
                    failure = Some(zk_err(e, "queue claim"));
                }
            }
        }
        if let Some(e) = failure {
            for (name, _) in deliver.iter().chain(&dead) {
                delete_in_background(client.clone(), format!("{}/{name}", self.claims));
            }
            return Err(e);
        }
        Ok((deliver, dead))
    }

    /// Moves claimed items to the dead-letter queue: create there, delete claim and item, in one `multi` each.
    /// Best effort: an item that could not move stays (released) and moves on its next take.
    async fn bury(&self, client: &zk::Client, dead: Vec<(String, Vec<u8>)>) -> Result<()> {
        self.session.ensure_dir(client, &self.dead).await?;
        let opts = self
            .session
            .create_options(zk::CreateMode::PersistentSequential, AclKind::Shared);
        let prefix = format!("{}/i-", self.dead);
        for (name, data) in dead {
            let (claim, item) = (
                format!("{}/{name}", self.claims),
                format!("{}/{name}", self.items),
            );
            let mut writer = client.new_multi_writer();
            let staged = writer
                .add_create(&prefix, &data, &opts)
                .and_then(|()| writer.add_delete(&claim, None))
                .and_then(|()| writer.add_delete(&item, None));
            let moved = match staged {
                Ok(()) => writer
                    .commit()
                    .await
                    .map(|_| ())
                    .map_err(|e| zk_err(e.into(), "queue dead-letter")),
                Err(e) => Err(zk_err(e, "queue dead-letter")),
            };
            if let Err(e) = moved {
                tracing::warn!(queue = %self.name, item = %name, error = %e, "could not move an item to the dead-letter queue");
                delete_in_background(client.clone(), claim);
            } else {
                tracing::warn!(queue = %self.name, item = %name, "item moved to the dead-letter queue after too many deliveries");
            }
        }
        Ok(())
    }

    async fn ensure(&self, client: &zk::Client) -> Result<()> {
        if !self.ready.load(Ordering::Relaxed) {
            self.session.ensure_dir(client, &self.items).await?;
            self.session.ensure_dir(client, &self.claims).await?;
            self.ready.store(true, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Claims `free` (oldest first) and reads the claimed items; returns `(name, data)` per claim (`None` where
    /// the item vanished). Claims go out pipelined; one item's read goes out right behind its claim, a batch's
    /// reads go in one multi-read once the claims are answered (fewer requests for the servers).
    async fn claim(&self, client: &zk::Client, free: &[String]) -> Result<Vec<(String, Option<Vec<u8>>)>> {
        const OP: &str = "queue claim";
        let opts = self
            .session
            .create_options(zk::CreateMode::Ephemeral, AclKind::Own);
        let claim_paths: Vec<String> = free.iter().map(|i| format!("{}/{i}", self.claims)).collect();
        let mut claimed = Vec::new();
        let mut failure = None;
        if free.len() == 1 {
            let claim = client.create(&claim_paths[0], b"", &opts);
            let read = client.get_data(&format!("{}/{}", self.items, free[0]));
            let (claim, read) = (claim.await, read.await);
            match claim {
                Ok(_) => claimed.push((free[0].clone(), read.ok().map(|(data, _)| data))),
                Err(zk::Error::NodeExists) => {}
                Err(e) => failure = Some(zk_err(e, OP)),
            }
        } else {
            let pending: Vec<_> = claim_paths.iter().map(|c| client.create(c, b"", &opts)).collect();
            let mut names = Vec::new();
            for (name, claim) in free.iter().zip(pending) {
                match claim.await {
                    Ok(_) => names.push(name.clone()),
                    Err(zk::Error::NodeExists) => {}
                    Err(e) => failure = Some(zk_err(e, OP)),
                }
            }
            if failure.is_none() && !names.is_empty() {
                let mut reader = client.new_multi_reader();
                for name in &names {
                    reader
                        .add_get_data(&format!("{}/{name}", self.items))
                        .map_err(|e| zk_err(e, OP))?;
                }
                match reader.commit().await {
                    Ok(results) => {
                        for (name, r) in names.iter().zip(results) {
                            let data = match r {
                                zk::MultiReadResult::Data { data, .. } => Some(data),
                                _ => None,
                            };
                            claimed.push((name.clone(), data));
                        }
                    }
                    Err(e) => {
                        failure = Some(zk_err(e, OP));
                        claimed.extend(names.into_iter().map(|n| (n, None)));
                    }
                }
            }
        }
        if let Some(e) = failure {
            for (name, _) in claimed {
                delete_in_background(client.clone(), format!("{}/{name}", self.claims));
            }
            return Err(e);
        }
        Ok(claimed)
    }
}

#[derive(Debug)]
struct ZkAcker {
    /// The client of the session that holds the claims: if that session expired, it can do nothing, so an
    /// ack can never remove an item someone else has claimed since.
    client: zk::Client,
    items: String,
    claims: String,
}

#[async_trait]
impl Acker for ZkAcker {
    async fn ack(&self, id: &str) -> Result<()> {
        self.ack_many(&[id.to_string()]).await
    }

    async fn ack_many(&self, ids: &[String]) -> Result<()> {
        for chunk in ids.chunks(MULTI_OPS / 2) {
            let mut writer = self.client.new_multi_writer();
            for id in chunk {
                writer
                    .add_delete(&format!("{}/{id}", self.claims), None)
                    .map_err(|e| zk_err(e, "queue ack"))?;
                writer
                    .add_delete(&format!("{}/{id}", self.items), None)
                    .map_err(|e| zk_err(e, "queue ack"))?;
            }
            match writer.commit().await {
                Ok(_) => {}
                Err(zk::MultiWriteError::OperationFailed {
                    index,
                    source: zk::Error::NoNode,
                }) => {
                    return Err(Error::Conflict {
                        key: chunk.get(index / 2).cloned().unwrap_or_default(),
                        expected: "a claim held by the caller's session".into(),
                        actual: "claim lost (session expired or item released)".into(),
                    });
                }
                // The session that held the claims is gone, and the claims with it.
                Err(zk::MultiWriteError::OperationFailed {
                    source: zk::Error::SessionExpired,
                    ..
                })
                | Err(zk::MultiWriteError::RequestFailed {
                    source: zk::Error::SessionExpired,
                }) => {
                    return Err(Error::Conflict {
                        key: chunk.first().cloned().unwrap_or_default(),
                        expected: "a claim held by the caller's session".into(),
                        actual: "claim lost (session expired)".into(),
                    });
                }
                Err(zk::MultiWriteError::OperationFailed { source, .. })
                | Err(zk::MultiWriteError::RequestFailed { source }) => {
                    return Err(zk_err(source, "queue ack"));
                }
            }
        }
        Ok(())
    }

    fn release(&self, id: &str) {
        delete_in_background(self.client.clone(), format!("{}/{id}", self.claims));
    }
}

#[async_trait]
impl Queue for ZkQueue {
    fn name(&self) -> &str {
        &self.name
    }

    async fn put_batch(&self, items: Vec<Vec<u8>>) -> Result<()> {
        const OP: &str = "queue put";
        let (client, _) = self.session.client(OP)?;
        self.ensure(&client).await?;
        let opts = self
            .session
            .create_options(zk::CreateMode::PersistentSequential, AclKind::Shared);
        let prefix = format!("{}/i-", self.items);
        let mut start = 0;
        // Chunks go out back to back; their answers are awaited after all are sent.
        let mut pending = Vec::new();
        while start < items.len() {
            let (mut end, mut bytes) = (start, 0);
            while end < items.len()
                && end - start < MULTI_OPS
                && (end == start || bytes + items[end].len() < MULTI_BYTES)
            {
                bytes += items[end].len() + prefix.len();
                end += 1;
            }
            let mut writer = client.new_multi_writer();
            for item in &items[start..end] {
                writer
                    .add_create(&prefix, item, &opts)
                    .map_err(|e| zk_err(e, OP))?;
            }
            pending.push(writer.commit());
            start = end;
        }
        for p in pending {
            p.await.map_err(|e| zk_err(e.into(), OP))?;
        }
        Ok(())
    }

    async fn take_batch(&self, max: usize, timeout: Option<Duration>) -> Result<Vec<Delivery>> {
        const OP: &str = "queue take";
        crate::queue::check_batch(max)?;
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            let (client, epoch) = self.session.client(OP)?;
            self.ensure(&client).await?;
            // Both listings go out together (pipelined), then both answers are read.
            let items_call = client.get_and_watch_children(&self.items);
            let claims_call = client.get_and_watch_children(&self.claims);
            let (mut items, _, items_watch) = items_call.await.map_err(|e| zk_err(e, OP))?;
            let (claims, _, claims_watch) = claims_call.await.map_err(|e| zk_err(e, OP))?;
            let claimed_now: HashSet<String> = claims.into_iter().collect();
            items.sort();
            let free: Vec<String> = items
                .into_iter()
                .filter(|i| !claimed_now.contains(i))
                .take(max)
                .collect();
            if !free.is_empty() {
                let claimed = self.claim(&client, &free).await?;
                let acker: Arc<dyn Acker> = Arc::new(ZkAcker {
                    client: client.clone(),
                    items: self.items.clone(),
                    claims: self.claims.clone(),
                });
                let mut read = Vec::new();
                for (name, data) in claimed {
                    match data {
                        Some(data) => read.push((name, data)),
                        // Acked between our listing and our claim: drop the stray claim.
                        None => delete_in_background(client.clone(), format!("{}/{name}", self.claims)),
                    }
                }
                let (deliver, dead) = self.count(&client, read).await?;
                if !dead.is_empty() {
                    self.bury(&client, dead).await?;
                }
                let out: Vec<Delivery> = deliver
                    .into_iter()
                    .map(|(name, data)| Delivery::new(name, data, acker.clone()))
                    .collect();
                if !out.is_empty() {
                    return Ok(out);
                }
                continue;
            }
            let wake = async {
                tokio::select! {
                    _ = items_watch.changed() => Ok(()),
                    _ = claims_watch.changed() => Ok(()),
                    e = self.session.session_ended(epoch) => Err(e),
                }
            };
            crate::queue::wait_until(wake, deadline, timeout).await?;
        }
    }

    async fn len(&self) -> Result<usize> {
        let (client, _) = self.session.client("queue len")?;
        // Through the ensemble's leader first: the server the client reads from may not have applied another
        // consumer's ack yet (both requests go out now; the read is answered after the sync).
        let (synced, read) = (client.sync(&self.items), client.check_stat(&self.items));
        match synced.await {
            Ok(()) | Err(zk::Error::NoNode) => {}
            Err(e) => return Err(zk_err(e, "queue len")),
        }
        match read.await {
            Ok(Some(stat)) => Ok(usize::try_from(stat.num_children).unwrap_or(0)),
            Ok(None) => Ok(0),
            Err(e) => Err(zk_err(e, "queue len")),
        }
    }
}
