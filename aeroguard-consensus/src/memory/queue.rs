//! The queue on the memory backend: items by sequence number, claims owned by sessions.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;

use super::election::wait_change;
use super::{Session, SessionId};
use crate::queue::{Acker, QueueOptions, dead_letter_name};
use crate::{Delivery, Error, Queue, Result};

#[derive(Debug)]
pub(crate) struct MemoryQueue {
    session: Session,
    name: String,
    options: QueueOptions,
}

impl MemoryQueue {
    pub fn new(session: Session, name: &str, options: QueueOptions) -> Self {
        MemoryQueue {
            session,
            name: name.to_string(),
            options,
        }
    }

    /// Claims up to `max` of the oldest free items; one that has had its deliveries goes to the dead-letter
    /// queue instead.
    fn claim(&self, sid: SessionId, max: usize) -> Result<Vec<(u64, Vec<u8>)>> {
        let mut st = self.session.cluster.lock();
        st.live(sid, "queue take")?;
        let limit = self.options.limit();
        let mut out = Vec::new();
        let mut dead = Vec::new();
        let q = st.queues.entry(self.name.clone()).or_default();
        let free: Vec<u64> = q
            .items
            .keys()
            .filter(|seq| !q.claims.contains_key(seq))
            .copied()
            .collect();
        for seq in free {
            if out.len() == max {
                break;
            }
            let n = q.deliveries.entry(seq).or_insert(0);
            *n += 1;
            if limit > 0 && *n > limit {
                q.deliveries.remove(&seq);
                if let Some(item) = q.items.remove(&seq) {
                    dead.push(item);
                }
                continue;
            }
            q.claims.insert(seq, sid);
            if let Some(item) = q.items.get(&seq) {
                out.push((seq, item.clone()));
            }
        }
        if !dead.is_empty() {
            let name = dead_letter_name(&self.name);
            for item in dead {
                let seq = st.next_zxid();
                st.queues.entry(name.clone()).or_default().items.insert(seq, item);
            }
            self.session.cluster.changed(&mut st);
        }
        Ok(out)
    }
}

#[derive(Debug)]
struct MemoryAcker {
    session: Session,
    name: String,
    sid: SessionId,
}

fn seq_of(id: &str) -> Result<u64> {
    id.parse().map_err(|_| Error::NotFound {
        what: "queue item",
        key: id.to_string(),
    })
}

#[async_trait]
impl Acker for MemoryAcker {
    async fn ack(&self, id: &str) -> Result<()> {
        self.ack_many(&[id.to_string()]).await
    }

    async fn ack_many(&self, ids: &[String]) -> Result<()> {
        let mut st = self.session.cluster.lock();
        match st.live(self.sid, "queue ack") {
            // The delivery's session is gone, and its claims with it: as on ZooKeeper, that is a conflict.
            Err(Error::SessionExpired { .. }) => {
                return Err(Error::Conflict {
                    key: format!("{}/{}", self.name, ids.first().map_or("", String::as_str)),
                    expected: "a claim held by the caller's session".into(),
                    actual: "claim lost (session expired)".into(),
                });
            }
            other => other?,
        }
        let q = st.queues.entry(self.name.clone()).or_default();
        for id in ids {
            let seq = seq_of(id)?;
            // Only the holder of the claim may ack: after an expiry the item belongs to someone else.
            if q.claims.get(&seq) != Some(&self.sid) {
                return Err(Error::Conflict {
                    key: format!("{}/{id}", self.name),
                    expected: "a claim held by the caller's session".into(),
                    actual: "claim lost (session expired or item released)".into(),
                });
            }
        }
        for id in ids {
            let seq = seq_of(id)?;
            q.claims.remove(&seq);
            q.items.remove(&seq);
            q.deliveries.remove(&seq);
        }
        self.session.cluster.changed(&mut st);
        Ok(())
    }

    fn release(&self, id: &str) {
        let Ok(seq) = seq_of(id) else { return };
        let mut st = self.session.cluster.lock();
        if let Some(q) = st.queues.get_mut(&self.name)
            && q.claims.get(&seq) == Some(&self.sid)
        {
            q.claims.remove(&seq);
            self.session.cluster.changed(&mut st);
        }
    }
}

#[async_trait]
impl Queue for MemoryQueue {
    fn name(&self) -> &str {
        &self.name
    }

    async fn put_batch(&self, items: Vec<Vec<u8>>) -> Result<()> {
        let sid = self.session.sid()?;
        let mut st = self.session.cluster.lock();
        st.live(sid, "queue put")?;
        for item in items {
            let seq = st.next_zxid();
            st.queues
                .entry(self.name.clone())
                .or_default()
                .items
                .insert(seq, item);
        }
        self.session.cluster.changed(&mut st);
        Ok(())
    }

    async fn take_batch(&self, max: usize, timeout: Option<Duration>) -> Result<Vec<Delivery>> {
        const OP: &str = "queue take";
        crate::queue::check_batch(max)?;
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            let sid = self.session.sid()?;
            let mut status_rx = self.session.status();
            let epoch = status_rx.borrow_and_update().epoch;
            let mut notify = self
                .session
                .cluster
                .subscribe(sid)
                .ok_or(Error::SessionExpired { operation: OP })?;
            let got = self.claim(sid, max)?;
            if !got.is_empty() {
                let acker: Arc<dyn Acker> = Arc::new(MemoryAcker {
                    session: self.session.clone(),
                    name: self.name.clone(),
                    sid,
                });
                return Ok(got
                    .into_iter()
                    .map(|(seq, payload)| Delivery::new(format!("{seq:020}"), payload, acker.clone()))
                    .collect());
            }
            let wait = wait_change(&mut notify, &mut status_rx, epoch, OP);
            crate::queue::wait_until(wait, deadline, timeout).await?;
        }
    }

    async fn len(&self) -> Result<usize> {
        let sid = self.session.sid()?;
        let st = self.session.cluster.lock();
        st.live(sid, "queue len")?;
        Ok(st.queues.get(&self.name).map_or(0, |q| q.items.len()))
    }
}
