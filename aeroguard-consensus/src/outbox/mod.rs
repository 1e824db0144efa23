//! Store-and-forward: what a node must deliver is first written to an embedded on-disk log, then forwarded in
//! order when the link is up, so a link that drops, a server that restarts or a `kill -9` loses nothing.
//!
//! An [`Outbox`] is one [redb](https://docs.rs/redb) file: ACID, crash-safe (a commit is on disk when
//! [`push`](Outbox::push) returns, and a torn write is rolled back on the next open), pure Rust with no C
//! library to build, and one exclusive file lock, so two processes cannot forward the same log. Entries are
//! kept in push order under a sequence number; [`forward`](Outbox::forward) hands them to a sink oldest first
//! and removes each one the sink took ([`Outcome::Sent`]) or refused for good ([`Outcome::Refused`]: a fenced
//! write, a malformed entry); the first [`Outcome::Retry`] stops the pass and keeps it and everything after it.
//!
//! Delivery is at least once: a crash between the sink taking an entry and its removal sends it again. Sinks
//! make that harmless by keying what they store on the entry's series, time and token: the fenced history
//! stores a point once however often it is appended ([`forward_appends`]), and the analysis service skips
//! readings at or before the last time it stored for a series.
//!
//! Disk use is bounded by [`OutboxLimits`]: entries and bytes at most, and a policy when full ([`WhenFull`]);
//! what the policy dropped is counted in [`OutboxStats`]. Entries pushed as precious
//! ([`push_precious`](Outbox::push_precious): an alert firing, say) are dropped only once no other entry is left
//! to drop. A disk that fills up fails the push that found it full (the caller keeps what it could not write)
//! and nothing committed before; the file is opened again on the next call, so the outbox works again once space
//! returns, without a restart.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use aeroguard_consensus::outbox::{Outbox, OutboxLimits, Outcome};
//!
//! let dir = std::env::temp_dir().join(format!("outbox-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! let outbox: Outbox<String> = Outbox::open(dir.join("posts.redb"), OutboxLimits::default())?;
//! outbox.push(&"round 1".to_string())?;
//! outbox.push(&"round 2".to_string())?;
//! // The link is down: the first entry is kept, and so is everything after it.
//! let pass = outbox.forward(|_item: &String| async { Outcome::Retry("link down".into()) }).await?;
//! assert_eq!((pass.sent, outbox.stats().queued), (0, 2));
//! // The link is back: both go, in order.
//! let mut seen = Vec::new();
//! let pass = outbox.forward(|item: &String| { seen.push(item.clone()); async { Outcome::Sent } }).await?;
//! assert_eq!(pass.sent, 2);
//! assert_eq!(seen, ["round 1", "round 2"]);
//! assert_eq!(outbox.stats().queued, 0);
//! # drop(outbox); std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
//! ```

use std::marker::PhantomData;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use redb::{Durability, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{Error, Result};

mod bulk;
mod forward;
mod history;
mod limits;
mod store;
#[cfg(test)]
mod tests;

use store::{Store, storage};

pub use history::{Append, forward_appends};
pub use limits::{OutboxLimits, OutboxStats, WhenFull};

const ENTRIES: TableDefinition<u64, &[u8]> = TableDefinition::new("entries");
/// `next` (the next sequence number) and `bytes` (the payload bytes held).
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
/// The sequence numbers of the precious entries.
const PRECIOUS: TableDefinition<u64, u8> = TableDefinition::new("precious");

/// The tables a write transaction works on.
struct Tables<'t> {
    entries: redb::Table<'t, u64, &'static [u8]>,
    meta: redb::Table<'t, &'static str, u64>,
    precious: redb::Table<'t, u64, u8>,
}

/// What a sink did with an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Delivered: the entry leaves the outbox.
    Sent,
    /// Refused for good (a fenced write, an entry the sink can never take): the entry leaves, counted and logged.
    Refused(String),
    /// Not now (the link is down, the server is busy): the entry and everything after it stay, in order.
    Retry(String),
}

/// What one [`Outbox::forward`] pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pass {
    /// Entries delivered.
    pub sent: u64,
    /// Entries refused for good and removed.
    pub refused: u64,
    /// Why the pass stopped early, if a sink asked to retry.
    pub stopped: Option<String>,
}

/// A durable, bounded, ordered log of entries `T` waiting for delivery.
pub struct Outbox<T> {
    store: Store,
    limits: OutboxLimits,
    pushed: AtomicU64,
    sent: AtomicU64,
    refused: AtomicU64,
    dropped: AtomicU64,
    wake: tokio::sync::Notify,
    _entries: PhantomData<fn(T) -> T>,
}

impl<T> std::fmt::Debug for Outbox<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox")
            .field("path", &self.store.path())
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl<T: Serialize + DeserializeOwned> Outbox<T> {
    /// Opens the outbox at `path`, creating it if missing; entries left by an earlier run (or a crash) are kept.
    /// Fails if another process holds it open.
    pub fn open(path: impl AsRef<Path>, limits: OutboxLimits) -> Result<Self> {
        limits.validate()?;
        let store = Store::open(path.as_ref(), limits.cache_bytes)?;
        let outbox = Outbox {
            store,
            limits,
            pushed: AtomicU64::new(0),
            sent: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            wake: tokio::sync::Notify::new(),
            _entries: PhantomData,
        };
        // Create the tables, so that readers find them.
        outbox.write(Durability::Immediate, "open", |_| Ok(()))?;
        Ok(outbox)
    }

    /// The file.
    pub fn path(&self) -> &Path {
        self.store.path()
    }

    /// Appends `item`; it is on disk when this returns (one fsync; blocking). When the outbox is full, the
    /// limits' policy applies: the oldest entries are dropped (and counted) or the push is refused with
    /// [`Error::Overloaded`]. An entry larger than [`OutboxLimits::max_entry_bytes`] is refused with
    /// [`Error::InvalidParameter`].
    pub fn push(&self, item: &T) -> Result<u64> {
        self.push_all(std::slice::from_ref(item))
            .map(|last| last.unwrap_or_default())
    }

    /// Appends `items` in one commit; the last sequence number, if any.
    pub fn push_all(&self, items: &[T]) -> Result<Option<u64>> {
        self.push_entries(items, false)
    }

    /// Appends `item` as precious: when the outbox is full, the oldest entries that are not precious are
    /// dropped first, and a precious one only when no other is left (an alert firing outlives the history
    /// points and the resolved alerts pushed before it).
    ///
    /// ```
    /// use aeroguard_consensus::outbox::{Outbox, OutboxLimits};
    /// let dir = std::env::temp_dir().join(format!("outbox-precious-doc-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// let outbox: Outbox<String> = Outbox::open(dir.join("alerts.redb"), OutboxLimits::default().entries(2))?;
    /// outbox.push_precious(&"firing".to_string())?;
    /// outbox.push(&"resolved".to_string())?;
    /// outbox.push(&"resolved again".to_string())?; // full: the oldest entry not precious goes
    /// let kept: Vec<String> = outbox.oldest(10)?.into_iter().filter_map(|(_, e)| e.ok()).collect();
    /// assert_eq!(kept, ["firing", "resolved again"]);
    /// # drop(outbox); std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn push_precious(&self, item: &T) -> Result<u64> {
        self.push_entries(std::slice::from_ref(item), true)
            .map(|last| last.unwrap_or_default())
    }

    fn push_entries(&self, items: &[T], precious: bool) -> Result<Option<u64>> {
        let encoded = items
            .iter()
            .map(|item| {
                let bytes = serde_json::to_vec(item).map_err(|e| Error::InvalidParameter {
                    name: "entry",
                    value: e.to_string(),
                    reason: "encodes as JSON",
                })?;
                if bytes.len() > self.limits.max_entry_bytes {
                    return Err(Error::InvalidParameter {
                        name: "entry",
                        value: format!("{} bytes", bytes.len()),
                        reason: "larger than the outbox's max_entry_bytes",
                    });
                }
                Ok(bytes)
            })
            .collect::<Result<Vec<_>>>()?;
        let mut last = None;
        let mut dropped = 0;
        self.write(Durability::Immediate, "push", |t| {
            for bytes in &encoded {
                dropped += self.make_room(t, bytes.len() as u64)?;
                let seq = get(&t.meta, "next")?;
                t.entries
                    .insert(seq, bytes.as_slice())
                    .map_err(|e| storage("push", self.path(), e))?;
                if precious {
                    t.precious
                        .insert(seq, 1)
                        .map_err(|e| storage("push", self.path(), e))?;
                }
                set(&mut t.meta, "next", seq + 1)?;
                let held = get(&t.meta, "bytes")?;
                set(&mut t.meta, "bytes", held + bytes.len() as u64)?;
                last = Some(seq);
            }
            Ok(())
        })?;
        self.pushed.fetch_add(items.len() as u64, Ordering::Relaxed);
        if dropped > 0 {
            self.dropped.fetch_add(dropped, Ordering::Relaxed);
            tracing::warn!(
                "outbox {}: full, dropped the {dropped} oldest entries",
                self.path().display()
            );
        }
        self.wake.notify_one();
        Ok(last)
    }

    /// Drops the oldest entries, precious ones last, until `incoming` more bytes fit (or refuses, by the
    /// policy); how many it dropped.
    fn make_room(&self, t: &mut Tables<'_>, incoming: u64) -> Result<u64> {
        let fail = |e: redb::StorageError| storage("push", self.path(), e);
        let mut dropped = 0;
        loop {
            let bytes = get(&t.meta, "bytes")?;
            let count = t.entries.len().map_err(fail)?;
            if bytes + incoming <= self.limits.max_bytes && count < self.limits.max_entries {
                return Ok(dropped);
            }
            if self.limits.when_full == WhenFull::RefuseNew {
                return Err(Error::Overloaded {
                    backend: "outbox",
                    operation: "push",
                    reason: format!(
                        "{} holds {count} entries, {bytes} bytes (limits {}, {})",
                        self.path().display(),
                        self.limits.max_entries,
                        self.limits.max_bytes
                    ),
                });
            }
            let Some(seq) = self.to_drop(t)? else {
                return Ok(dropped);
            };
            let freed = match t.entries.remove(seq).map_err(fail)? {
                Some(old) => old.value().len() as u64,
                None => 0,
            };
            t.precious.remove(seq).map_err(fail)?;
            set(&mut t.meta, "bytes", bytes.saturating_sub(freed))?;
            dropped += 1;
        }
    }

    /// The entry to drop first: the oldest that is not precious, else the oldest.
    fn to_drop(&self, t: &Tables<'_>) -> Result<Option<u64>> {
        let fail = |e: redb::StorageError| storage("push", self.path(), e);
        let mut oldest = None;
        for row in t.entries.iter().map_err(fail)? {
            let seq = row.map_err(fail)?.0.value();
            oldest = oldest.or(Some(seq));
            if t.precious.get(seq).map_err(fail)?.is_none() {
                return Ok(Some(seq));
            }
        }
        Ok(oldest)
    }

    /// The oldest `n` entries with their sequence numbers (an entry that no longer decodes comes as `Err`).
    pub fn oldest(&self, n: usize) -> Result<Vec<(u64, std::result::Result<T, String>)>> {
        let path = self.path();
        self.store.with(|db| {
            let read = db.begin_read().map_err(|e| storage("read", path, e))?;
            let entries = read.open_table(ENTRIES).map_err(|e| storage("read", path, e))?;
            let mut out = Vec::new();
            for row in entries.iter().map_err(|e| storage("read", path, e))?.take(n) {
                let (seq, bytes) = row.map_err(|e| storage("read", path, e))?;
                let item = serde_json::from_slice(bytes.value()).map_err(|e| e.to_string());
                out.push((seq.value(), item));
            }
            Ok(out)
        })
    }

    /// Removes entry `seq` (a no-op if the limits' policy dropped it meanwhile). The removal is not synced by
    /// itself: a crash may bring it back (delivered twice, which sinks absorb); the end of the pass, or the next
    /// push, syncs it.
    fn remove(&self, seq: u64) -> Result<()> {
        self.write(Durability::None, "remove", |t| self.remove_in(t, seq))
    }

    fn remove_in(&self, t: &mut Tables<'_>, seq: u64) -> Result<()> {
        let fail = |e: redb::StorageError| storage("remove", self.path(), e);
        if let Some(old) = t.entries.remove(seq).map_err(fail)? {
            let freed = old.value().len() as u64;
            drop(old);
            t.precious.remove(seq).map_err(fail)?;
            let held = get(&t.meta, "bytes")?;
            set(&mut t.meta, "bytes", held.saturating_sub(freed))?;
        }
        Ok(())
    }

    /// What the outbox holds and has done since it was opened.
    pub fn stats(&self) -> OutboxStats {
        let (queued, bytes) = self.held().unwrap_or((0, 0));
        OutboxStats {
            queued,
            bytes,
            max_bytes: self.limits.max_bytes,
            pushed: self.pushed.load(Ordering::Relaxed),
            sent: self.sent.load(Ordering::Relaxed),
            refused: self.refused.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            reopened: self.store.reopened(),
        }
    }

    fn held(&self) -> Result<(u64, u64)> {
        let path = self.path();
        self.store.with(|db| {
            let fail = |e: redb::Error| storage("read", path, e);
            let read = db.begin_read().map_err(|e| fail(e.into()))?;
            let entries = read.open_table(ENTRIES).map_err(|e| fail(e.into()))?;
            let meta = read.open_table(META).map_err(|e| fail(e.into()))?;
            let count = entries.len().map_err(|e| fail(e.into()))?;
            let bytes = meta
                .get("bytes")
                .map_err(|e| fail(e.into()))?
                .map_or(0, |v| v.value());
            Ok((count, bytes))
        })
    }

    fn write(
        &self,
        durability: Durability,
        operation: &'static str,
        f: impl FnOnce(&mut Tables<'_>) -> Result<()>,
    ) -> Result<()> {
        let path = self.path();
        self.store.with(|db| {
            let fail = |e: redb::Error| storage(operation, path, e);
            let mut txn = db.begin_write().map_err(|e| fail(e.into()))?;
            txn.set_durability(durability).map_err(|e| fail(e.into()))?;
            {
                let mut tables = Tables {
                    entries: txn.open_table(ENTRIES).map_err(|e| fail(e.into()))?,
                    meta: txn.open_table(META).map_err(|e| fail(e.into()))?,
                    precious: txn.open_table(PRECIOUS).map_err(|e| fail(e.into()))?,
                };
                f(&mut tables)?;
            }
            txn.commit().map_err(|e| fail(e.into()))
        })
    }
}

fn get(meta: &redb::Table<&str, u64>, key: &str) -> Result<u64> {
    Ok(meta
        .get(key)
        .map_err(|e| Error::backend("outbox", "read", e))?
        .map_or(0, |v| v.value()))
}

fn set(meta: &mut redb::Table<&str, u64>, key: &str, value: u64) -> Result<()> {
    meta.insert(key, value)
        .map_err(|e| Error::backend("outbox", "write", e))?;
    Ok(())
}
