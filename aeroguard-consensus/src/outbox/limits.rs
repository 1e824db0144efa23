//! How big an outbox may grow, what happens when it is full, and what it reports.

use crate::{Error, Result};

/// What [`Outbox::push`](super::Outbox::push) does when the outbox is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WhenFull {
    /// Drop the oldest entries to make room (counted in [`OutboxStats::dropped`]): the newest data, which
    /// operators look at first, survives a long outage.
    #[default]
    DropOldest,
    /// Refuse the new entry with [`Error::Overloaded`]: for data where a gap at the start is worse.
    RefuseNew,
}

/// The bounds of an outbox.
///
/// ```
/// use aeroguard_consensus::outbox::{OutboxLimits, WhenFull};
/// let limits = OutboxLimits::bytes(64 << 20).when_full(WhenFull::RefuseNew);
/// assert!(limits.validate().is_ok());
/// assert!(OutboxLimits::bytes(10).validate().is_err()); // smaller than one entry may be
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboxLimits {
    /// Payload bytes held at most (the file adds redb's pages and its free space on top, about 2× at worst).
    pub max_bytes: u64,
    /// Entries held at most.
    pub max_entries: u64,
    /// The largest entry accepted.
    pub max_entry_bytes: usize,
    /// What happens when full.
    pub when_full: WhenFull,
    /// redb's page cache.
    pub cache_bytes: usize,
}

impl Default for OutboxLimits {
    /// 256 MiB, a million entries, 1 MiB per entry, the oldest dropped first, a 4 MiB cache.
    fn default() -> Self {
        OutboxLimits {
            max_bytes: 256 << 20,
            max_entries: 1_000_000,
            max_entry_bytes: 1 << 20,
            when_full: WhenFull::DropOldest,
            cache_bytes: 4 << 20,
        }
    }
}

impl OutboxLimits {
    /// The defaults with `max_bytes` (and entries no larger than it).
    pub fn bytes(max_bytes: u64) -> Self {
        let d = OutboxLimits::default();
        OutboxLimits {
            max_bytes,
            max_entry_bytes: d
                .max_entry_bytes
                .min(usize::try_from(max_bytes).unwrap_or(usize::MAX)),
            ..d
        }
    }

    /// At most `max_entries` entries.
    pub fn entries(mut self, max_entries: u64) -> Self {
        self.max_entries = max_entries;
        self
    }

    /// Sets the policy when full.
    pub fn when_full(mut self, when_full: WhenFull) -> Self {
        self.when_full = when_full;
        self
    }

    /// Checks the limits: every bound positive, and room for at least one largest entry.
    pub fn validate(&self) -> Result<()> {
        if self.max_entries == 0 {
            return Err(Error::parameter(
                "max_entries",
                self.max_entries,
                "must be positive",
            ));
        }
        if self.max_entry_bytes < 64 {
            return Err(Error::parameter(
                "max_entry_bytes",
                self.max_entry_bytes,
                "must be at least 64",
            ));
        }
        if self.max_bytes < self.max_entry_bytes as u64 {
            return Err(Error::parameter(
                "max_bytes",
                self.max_bytes,
                "must hold at least one entry of max_entry_bytes",
            ));
        }
        Ok(())
    }
}

/// What an outbox holds and has done since it was opened (a program exports these as metrics: the node
/// program's `/metrics` has them as `aeroguard_outbox_*{outbox="history"}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutboxStats {
    /// Entries waiting.
    pub queued: u64,
    /// Their payload bytes.
    pub bytes: u64,
    /// The byte limit.
    pub max_bytes: u64,
    /// Entries pushed.
    pub pushed: u64,
    /// Entries delivered.
    pub sent: u64,
    /// Entries the sink refused for good.
    pub refused: u64,
    /// Entries dropped because the outbox was full.
    pub dropped: u64,
    /// Times the file was opened again after a failed call (a full disk, a failed write).
    pub reopened: u64,
}
