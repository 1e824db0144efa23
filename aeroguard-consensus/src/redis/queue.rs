//! The queue on a Redis stream with one consumer group: `XADD` to put, `XREADGROUP` to take, `XACK` and an
//! `XTRIM` below the oldest entry still pending to remove (`XDEL` for entries acked out of order), and
//! `XAUTOCLAIM` of entries idle longer than the session timeout to take over what a crashed consumer held. A
//! live consumer's heartbeat keeps its entries' idle time at zero; a dropped delivery is released by marking it
//! idle for ages, so the next taker (this consumer or another) reclaims it first.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;

use super::{Session, scripts};
use crate::queue::{Acker, QueueOptions, dead_letter_name};
use crate::{Delivery, Error, Queue, Result};

/// The consumer group every coordinator reads in.
pub(crate) const GROUP: &str = "aeroguard";

/// Idle time that marks an entry as released (about 31 years, in ms).
const RELEASED_IDLE: u64 = 1_000_000_000_000;

#[derive(Debug)]
pub(crate) struct RedisQueue {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    session: Session,
    name: String,
    stream: String,
    /// Where items delivered more than `options` allow go.
    dead: String,
    options: QueueOptions,
    group_ready: tokio::sync::OnceCell<()>,
    /// Deliveries dropped without an ack, waiting to be released at the server; flushed before every take
    /// (under the lock, so a take never overtakes a release in flight).
    releases: tokio::sync::Mutex<Vec<String>>,
    pending: parking_lot::Mutex<Vec<String>>,
    /// Where the next take goes on scanning the pending list for entries to reclaim.
    cursor: parking_lot::Mutex<String>,
    /// When this handle last removed idle consumers from the group.
    reaped: parking_lot::Mutex<Option<Instant>>,
    /// When this handle's takes last scanned the pending list for entries to reclaim, and whether it released
    /// a delivery since (a release is reclaimable at once, so the next take scans).
    scanned: parking_lot::Mutex<(Option<Instant>, bool)>,
    me: std::sync::Weak<Inner>,
}

impl RedisQueue {
    pub fn new(session: Session, name: &str, options: QueueOptions) -> Self {
        let stream = session.named("q", name);
        let dead = session.named("q", &dead_letter_name(name));
        RedisQueue {
            inner: Arc::new_cyclic(|me| Inner {
                session,
                name: name.to_string(),
                stream,
                dead,
                options,
                group_ready: tokio::sync::OnceCell::new(),
                releases: tokio::sync::Mutex::new(Vec::new()),
                pending: parking_lot::Mutex::new(Vec::new()),
                cursor: parking_lot::Mutex::new("0-0".into()),
                reaped: parking_lot::Mutex::new(None),
                scanned: parking_lot::Mutex::new((None, false)),
                me: me.clone(),
            }),
        }
    }
}

impl Inner {
    async fn ensure_group(&self) -> Result<()> {
        self.group_ready
            .get_or_try_init(|| async {
                let stream = self.stream.clone();
                let created = self
                    .session
                    .run("create consumer group", |mut c| async move {
                        redis::cmd("XGROUP")
                            .arg("CREATE")
                            .arg(&stream)
                            .arg(GROUP)
                            .arg("0")
                            .arg("MKSTREAM")
                            .query_async::<()>(&mut c)
                            .await
                    })
                    .await;
                match created {
                    Ok(()) => Ok(()),
                    Err(Error::Backend { message, .. }) if message.contains("BUSYGROUP") => Ok(()),
                    Err(e) => Err(e),
                }
            })
            .await
            .map(|_| ())
    }

    /// Sends the pending releases (idle time set huge, so `XAUTOCLAIM` picks them first).
    async fn flush_releases(&self) -> Result<()> {
        let mut guard = self.releases.lock().await;
        guard.extend(std::mem::take(&mut *self.pending.lock()));
        if guard.is_empty() {
            return Ok(());
        }
        let (consumer, _) = self.session.owner("release delivery")?;
        let ids = guard.clone();
        let stream = self.stream.clone();
        self.session
            .run("release delivery", |mut c| async move {
                let mut inv = scripts::QUEUE_TOUCH.key(&stream);
                inv.arg(GROUP).arg(&consumer).arg(RELEASED_IDLE);
                for id in &ids {
                    inv.arg(id);
                }
                inv.invoke_async::<i64>(&mut c).await
            })
            .await?;
        guard.clear();
        Ok(())
    }

    /// Removes consumers that hold nothing and were idle for a session timeout, at most once per timeout per
    /// handle (best effort: a failure leaves them for the next time).
    async fn reap(&self, consumer: &str) {
        let t = self.session.options.session.timeout;
        {
            let mut last = self.reaped.lock();
            if last.is_some_and(|at| at.elapsed() < t) {
                return;
            }
            *last = Some(Instant::now());
        }
        let (stream, me, idle) = (
            self.stream.clone(),
            consumer.to_string(),
            self.session.options.ttl_ms(),
        );
        let removed = self
            .session
            .run("remove idle consumers", |mut c| async move {
                scripts::QUEUE_REAP
                    .key(&stream)
                    .arg(GROUP)
                    .arg(idle)
                    .arg(&me)
                    .invoke_async::<i64>(&mut c)
                    .await
            })
            .await;
        crate::error::best_effort("remove idle consumers", removed);
    }

    /// One non-blocking attempt: reclaimed entries first, then new ones.
    async fn try_take(&self, max: usize, consumer: &str) -> Result<Vec<(String, Vec<u8>)>> {
        self.flush_releases().await?;
        self.reap(consumer).await;
        let (stream, dead, consumer) = (self.stream.clone(), self.dead.clone(), consumer.to_string());
        let (idle, limit) = (self.session.options.ttl_ms(), self.options.limit());
        let cursor = self.cursor.lock().clone();
        // Scan for entries to reclaim at the reclaim interval (a crashed consumer's entries become claimable
        // only after a session timeout anyway), after this handle released one, or when a scan is under way.
        let scan = {
            let mut s = self.scanned.lock();
            let due =
                s.0.is_none_or(|at| at.elapsed() >= self.session.options.session.timeout / 4);
            let scan = due || s.1 || cursor != "0-0";
            if scan {
                *s = (Some(Instant::now()), false);
            }
            scan
        };
        let flat: Vec<Vec<u8>> = self
            .session
            .run("queue take", |mut c| async move {
                scripts::QUEUE_TAKE
                    .key(&stream)
                    .key(&dead)
                    .arg(GROUP)
                    .arg(&consumer)
                    .arg(idle)
                    .arg(max)
                    .arg(&cursor)
                    .arg(limit)
                    .arg(if scan { "1" } else { "0" })
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        let mut it = flat.into_iter();
        // Where the next take goes on scanning the pending list.
        if let Some(next) = it.next() {
            *self.cursor.lock() = String::from_utf8_lossy(&next).into_owned();
        }
        let mut out = Vec::with_capacity(it.len() / 2);
        while let (Some(id), Some(payload)) = (it.next(), it.next()) {
            out.push((String::from_utf8_lossy(&id).into_owned(), payload));
        }
        Ok(out)
    }

    /// Blocks for new entries up to `block`.
    async fn wait_take(&self, max: usize, consumer: &str, block: Duration) -> Result<Vec<(String, Vec<u8>)>> {
        let mut conn = self.session.pool.dedicated("queue take").await?;
        let options = redis::streams::StreamReadOptions::default()
            .group(GROUP, consumer)
            .count(max)
            .block(usize::try_from(block.as_millis()).unwrap_or(1).max(1));
        let mut cmd = redis::cmd("XREADGROUP");
        cmd.arg(&options).arg("STREAMS").arg(&self.stream).arg(">");
        let cmd = cmd.query_async::<Option<redis::streams::StreamReadReply>>(&mut conn);
        match tokio::time::timeout(self.session.pool.blocking_limit(block), cmd).await {
            Ok(Ok(reply)) => {
                self.session.pool.give_back(conn);
                let mut out = Vec::new();
                for key in reply.map(|r| r.keys).unwrap_or_default() {
                    for entry in key.ids {
                        let payload = entry.get::<Vec<u8>>("d").unwrap_or_default();
                        out.push((entry.id, payload));
                    }
                }
                Ok(out)
            }
            Ok(Err(e)) => Err(self.session.pool.fail(e, "queue take")),
            Err(_) => Err(Error::ConnectionLoss {
                backend: super::BACKEND,
                operation: "queue take",
            }),
        }
    }
}

#[async_trait]
impl Acker for Inner {
    async fn ack(&self, id: &str) -> Result<()> {
        self.ack_many(&[id.to_string()]).await
    }

    async fn ack_many(&self, ids: &[String]) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        self.session.unhold(&self.stream, ids);
        let (consumer, _) = self.session.owner("queue ack")?;
        let (stream, batch) = (self.stream.clone(), ids.to_vec());
        let me = consumer.clone();
        // The batch's range, for the one XPENDING that lists what this consumer holds in it.
        let order = |id: &String| -> (u64, u64) {
            let (ms, seq) = id.split_once('-').unwrap_or((id, "0"));
            (ms.parse().unwrap_or(0), seq.parse().unwrap_or(0))
        };
        let low = batch
            .iter()
            .min_by_key(|id| order(id))
            .cloned()
            .unwrap_or_default();
        let high = batch
            .iter()
            .max_by_key(|id| order(id))
            .cloned()
            .unwrap_or_default();
        let answer: redis::Value = self
            .session
            .run("queue ack", |mut c| async move {
                let mut inv = scripts::QUEUE_ACK.key(&stream);
                inv.arg(GROUP).arg(&me).arg(&low).arg(&high);
                for id in &batch {
                    inv.arg(id);
                }
                inv.invoke_async(&mut c).await
            })
            .await?;
        match redis::from_redis_value::<(i64, String, String)>(answer) {
            // Another consumer holds it now (this one's claim lapsed and it was redelivered), or it is gone.
            Ok((0, id, holder)) => Err(Error::Conflict {
                key: format!("{}/{id}", self.name),
                expected: format!("claimed by {consumer}"),
                actual: if holder.is_empty() {
                    "claimed by nobody (acked already)".into()
                } else {
                    format!("claimed by {holder}")
                },
            }),
            _ => Ok(()),
        }
    }

    fn release(&self, id: &str) {
        self.scanned.lock().1 = true;
        self.session.unhold(&self.stream, &[id.to_string()]);
        self.pending.lock().push(id.to_string());
        // Flush soon even if no take follows on this handle.
        if let (Some(me), Ok(rt)) = (self.me.upgrade(), tokio::runtime::Handle::try_current()) {
            rt.spawn(async move {
                crate::error::best_effort("release deliveries", me.flush_releases().await);
            });
        }
    }
}

#[async_trait]
impl Queue for RedisQueue {
    fn name(&self) -> &str {
        &self.inner.name
    }

    async fn put_batch(&self, items: Vec<Vec<u8>>) -> Result<()> {
        if items.is_empty() {
            return Ok(());
        }
        self.inner.ensure_group().await?;
        let stream = self.inner.stream.clone();
        for chunk in items.chunks(1024) {
            let stream = stream.clone();
            self.inner
                .session
                .run_pipeline_replicated("queue put", |mut c| async move {
                    let mut pipe = redis::pipe();
                    for item in chunk {
                        pipe.cmd("XADD").arg(&stream).arg("*").arg("d").arg(item).ignore();
                    }
                    pipe.query_async::<()>(&mut c).await
                })
                .await?;
        }
        Ok(())
    }

    async fn take_batch(&self, max: usize, timeout: Option<Duration>) -> Result<Vec<Delivery>> {
        const OP: &str = "queue take";
        crate::queue::check_batch(max)?;
        self.inner.ensure_group().await?;
        let deadline = timeout.map(|t| Instant::now() + t);
        // Come back to reclaim at least this often (entries of crashed consumers, released deliveries).
        let reclaim_every = self.inner.session.options.session.timeout / 4;
        loop {
            let (consumer, _) = self.inner.session.owner(OP)?;
            let mut got = self.inner.try_take(max, &consumer).await?;
            if got.is_empty() {
                let left = deadline.map_or(reclaim_every, |d| d.saturating_duration_since(Instant::now()));
                if left.is_zero() {
                    return Err(crate::queue::take_timed_out(timeout));
                }
                got = self
                    .inner
                    .wait_take(max, &consumer, left.min(reclaim_every))
                    .await?;
            }
            if !got.is_empty() {
                self.inner
                    .session
                    .hold(&self.inner.stream, got.iter().map(|(id, _)| id.clone()));
                let acker: Arc<dyn Acker> = self.inner.clone();
                return Ok(got
                    .into_iter()
                    .map(|(id, payload)| Delivery::new(id, payload, acker.clone()))
                    .collect());
            }
        }
    }

    async fn len(&self) -> Result<usize> {
        let stream = self.inner.stream.clone();
        self.inner
            .session
            .run("queue length", |mut c| async move {
                redis::cmd("XLEN").arg(&stream).query_async::<usize>(&mut c).await
            })
            .await
    }
}
