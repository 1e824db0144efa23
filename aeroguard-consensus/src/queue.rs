//! A durable FIFO queue with at-least-once delivery, and a dead-letter queue for items that keep coming back.

use std::fmt;
use std::num::NonZeroU32;
use std::time::Duration;

use async_trait::async_trait;

use crate::Result;

/// How a queue treats an item that keeps coming back.
///
/// Every delivery counts: one acked, one dropped without an ack, one whose consumer crashed. After
/// `max_deliveries` deliveries an item that comes back once more is moved, with its payload, to the dead-letter
/// queue [`dead_letter_name`]`(name)` instead of being delivered: a poison item that crashes every consumer it
/// reaches stops there instead of crash-looping the whole cluster. The dead-letter queue is an ordinary queue
/// (read it with `coordinator.queue(&dead_letter_name(name))`).
///
/// ```
/// use aeroguard_consensus::queue::{QueueOptions, dead_letter_name};
/// let o = QueueOptions::default();
/// assert_eq!(o.max_deliveries.map(|n| n.get()), Some(16));
/// assert_eq!(QueueOptions::unlimited().max_deliveries, None);
/// assert_eq!(dead_letter_name("alarms"), "alarms.dead");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueOptions {
    /// Deliveries an item gets before it goes to the dead-letter queue; `None`: no limit.
    pub max_deliveries: Option<NonZeroU32>,
}

impl Default for QueueOptions {
    /// Sixteen deliveries.
    fn default() -> Self {
        QueueOptions {
            max_deliveries: NonZeroU32::new(16),
        }
    }
}

impl QueueOptions {
    /// At most `n` deliveries (at least one).
    pub fn max_deliveries(n: u32) -> Self {
        QueueOptions {
            max_deliveries: NonZeroU32::new(n.max(1)),
        }
    }

    /// No limit: an item comes back for as long as it is not acked.
    pub fn unlimited() -> Self {
        QueueOptions { max_deliveries: None }
    }

    /// The limit as the backends count it (0: none).
    pub(crate) fn limit(&self) -> u32 {
        self.max_deliveries.map_or(0, NonZeroU32::get)
    }
}

/// The name of the dead-letter queue of queue `name`: `"<name>.dead"`.
pub fn dead_letter_name(name: &str) -> String {
    format!("{name}.dead")
}

/// Checks a queue's name and, when it dead-letters, its dead-letter queue's name.
/// A `take_batch`'s size, checked: at least one.
pub(crate) fn check_batch(max: usize) -> Result<()> {
    if max == 0 {
        return Err(crate::Error::parameter("max", max, "must be at least 1"));
    }
    Ok(())
}

/// What a take that waited `timeout` in vain returns.
pub(crate) fn take_timed_out(timeout: Option<Duration>) -> crate::Error {
    crate::Error::Timeout {
        operation: "queue take",
        after: timeout.unwrap_or_default(),
    }
}

/// Waits for `wake` until `deadline` (`None`: as long as it takes); past it, the take's [`take_timed_out`].
pub(crate) async fn wait_until(
    wake: impl std::future::Future<Output = Result<()>>,
    deadline: Option<tokio::time::Instant>,
    timeout: Option<Duration>,
) -> Result<()> {
    match deadline {
        Some(d) => tokio::time::timeout_at(d, wake)
            .await
            .map_err(|_| take_timed_out(timeout))?,
        None => wake.await,
    }
}

pub(crate) fn check_names(name: &str, options: &QueueOptions) -> Result<()> {
    crate::error::check_name("queue", name)?;
    if options.max_deliveries.is_some() {
        crate::error::check_name("dead-letter queue", &dead_letter_name(name))?;
    }
    Ok(())
}

/// The backend's side of a delivery.
#[async_trait]
pub(crate) trait Acker: fmt::Debug + Send + Sync {
    async fn ack(&self, id: &str) -> Result<()>;
    async fn ack_many(&self, ids: &[String]) -> Result<()>;
    fn release(&self, id: &str);
}

/// An item taken from a queue. It stays claimed until [`ack`](Self::ack)ed; dropped without an ack (or if the
/// consumer's session dies) it is released and delivered again, so nothing is lost to a crashed consumer.
#[derive(Debug)]
pub struct Delivery {
    id: String,
    payload: Vec<u8>,
    acker: Option<std::sync::Arc<dyn Acker>>,
}

impl Delivery {
    pub(crate) fn new(id: String, payload: Vec<u8>, acker: std::sync::Arc<dyn Acker>) -> Self {
        Delivery {
            id,
            payload,
            acker: Some(acker),
        }
    }

    /// The item's id in the queue (its position: ids sort in FIFO order within a backend).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The item's bytes.
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// Removes the item for good.
    pub async fn ack(mut self) -> Result<()> {
        match self.acker.take() {
            Some(a) => a.ack(&self.id).await,
            None => Ok(()),
        }
    }

    /// Acks several deliveries of one queue in one round trip where the backend can.
    pub async fn ack_all(deliveries: Vec<Delivery>) -> Result<()> {
        let mut by_acker: Vec<(std::sync::Arc<dyn Acker>, Vec<String>)> = Vec::new();
        for mut d in deliveries {
            if let Some(a) = d.acker.take() {
                match by_acker.iter_mut().find(|(b, _)| std::sync::Arc::ptr_eq(b, &a)) {
                    Some((_, ids)) => ids.push(std::mem::take(&mut d.id)),
                    None => by_acker.push((a, vec![std::mem::take(&mut d.id)])),
                }
            }
        }
        for (acker, ids) in by_acker {
            acker.ack_many(&ids).await?;
        }
        Ok(())
    }
}

impl Drop for Delivery {
    fn drop(&mut self) {
        if let Some(a) = self.acker.take() {
            a.release(&self.id);
        }
    }
}

/// A named FIFO queue shared by every coordinator of a cluster.
///
/// At-least-once: an item is removed only by an ack; an item claimed by a consumer that crashes, or whose
/// delivery is dropped, is delivered again. No item is held by two consumers at once.
#[async_trait]
pub trait Queue: fmt::Debug + Send + Sync + 'static {
    /// The queue's name.
    fn name(&self) -> &str;

    /// Appends one item (provided: a batch of one).
    async fn put(&self, item: Vec<u8>) -> Result<()> {
        self.put_batch(vec![item]).await
    }

    /// Appends several items, in order, pipelined where the backend can.
    async fn put_batch(&self, items: Vec<Vec<u8>>) -> Result<()>;

    /// Takes the oldest unclaimed item, waiting up to `timeout` (forever with `None`) for one to appear;
    /// [`Error::Timeout`](crate::Error::Timeout) when none does.
    ///
    /// Provided: a batch of at most one.
    async fn take(&self, timeout: Option<Duration>) -> Result<Delivery> {
        let mut batch = self.take_batch(1, timeout).await?;
        batch.pop().ok_or(crate::Error::Timeout {
            operation: "queue take",
            after: timeout.unwrap_or_default(),
        })
    }

    /// Takes up to `max` of the oldest unclaimed items (at least one), waiting like [`take`](Self::take).
    async fn take_batch(&self, max: usize, timeout: Option<Duration>) -> Result<Vec<Delivery>>;

    /// How many items are in the queue, claimed or not.
    async fn len(&self) -> Result<usize>;

    /// Whether the queue holds no item, claimed or not.
    async fn is_empty(&self) -> Result<bool> {
        Ok(self.len().await? == 0)
    }
}
