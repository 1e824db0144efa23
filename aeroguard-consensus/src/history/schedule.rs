//! Retention on a schedule held in config: the leader compacts its series every so often, by the schedule in
//! force, fenced by its own term.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use aeroguard_consensus::history::{Compactor, HistoryStore, MemoryHistory, Point, RetentionSchedule};
//! use aeroguard_consensus::{Coordinator, Expect, memory::MemoryCluster};
//! use aeroguard_core::Timestamp;
//!
//! let cluster = MemoryCluster::new();
//! let lead = cluster.connect("lead".parse()?)?;
//! let term = lead.election("pump")?.campaign().await?;
//! // Three days hot, then hourly buckets, a year kept; compact every ten minutes.
//! let schedule = RetentionSchedule { keep_ms: 365 * 86_400_000, raw_ms: Some(3 * 86_400_000), bucket_ms: 3_600_000, every_ms: 600_000 };
//! let config = RetentionSchedule::config(lead.config(), "retention")?;
//! config.set(&schedule, Expect::Any).await?;
//!
//! let history: Arc<dyn HistoryStore> = Arc::new(MemoryHistory::new());
//! let day = 86_400_000;
//! let points: Vec<Point> = (0..10).map(|d| Point::new(Timestamp::from_millis(d * day), d as f64)).collect();
//! history.append("pump-1", &term.writer()?, &points).await?;
//! let mut compactor = Compactor::new(history.clone(), config);
//! let now = Timestamp::from_millis(10 * day);
//! let done = compactor.tick(&term, &["pump-1"], now).await?.expect("the first tick compacts");
//! assert_eq!(done.folded, 7, "days 0-6 are older than three days");
//! assert!(compactor.tick(&term, &["pump-1"], now).await?.is_none(), "not again before ten minutes");
//! # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
//! ```

use std::sync::Arc;
use std::time::Duration;

use aeroguard_core::Timestamp;
use serde::{Deserialize, Serialize};

use super::{Compacted, HistoryStore, Retention};
use crate::{Config, ConfigStore, Leadership, Result};

/// The retention schedule as config holds it (JSON), in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionSchedule {
    /// Everything older is dropped.
    pub keep_ms: u64,
    /// Raw points older than this are folded into buckets (`null`: never).
    pub raw_ms: Option<u64>,
    /// The bucket width.
    pub bucket_ms: u64,
    /// How often the leader compacts (at least one second).
    pub every_ms: u64,
}

impl RetentionSchedule {
    /// The [`Retention`] it applies.
    pub fn retention(&self) -> Retention {
        let ms = Duration::from_millis;
        let r = Retention::keep(ms(self.keep_ms));
        match self.raw_ms {
            Some(raw) => r.downsample_after(ms(raw), ms(self.bucket_ms)),
            None => r,
        }
    }

    /// Checks the schedule: a valid retention, compacting at most once a second.
    pub fn validate(&self) -> std::result::Result<(), String> {
        if self.every_ms < 1_000 {
            return Err(format!("every_ms = {} must be at least 1000", self.every_ms));
        }
        self.retention().validate().map_err(|e| e.to_string())
    }

    /// The schedule at `key` of `store`, validated on every read and write: a bad schedule written there is
    /// refused, and the last good one stays in force for a [`Compactor`].
    pub fn config(store: Arc<dyn ConfigStore>, key: &str) -> Result<Config<RetentionSchedule>> {
        Ok(Config::new(store, key)?.with_validator(RetentionSchedule::validate))
    }
}

/// Runs retention for a leader: at most once per the schedule's `every_ms`, over its series, with its term's
/// writer (a deposed leader's compaction is fenced like its appends).
#[derive(Debug)]
pub struct Compactor {
    history: Arc<dyn HistoryStore>,
    config: Config<RetentionSchedule>,
    /// The schedule last read that validated.
    in_force: Option<RetentionSchedule>,
    last: Option<Timestamp>,
}

impl Compactor {
    /// Compacts `history` by the schedule in `config` ([`RetentionSchedule::config`]).
    pub fn new(history: Arc<dyn HistoryStore>, config: Config<RetentionSchedule>) -> Self {
        Compactor {
            history,
            config,
            in_force: None,
            last: None,
        }
    }

    /// The schedule in force (the last good one read).
    pub fn schedule(&self) -> Option<RetentionSchedule> {
        self.in_force
    }

    /// If the schedule's period has passed since the last compaction (or none ran yet), compacts each of
    /// `series` under `leadership` at `now` and returns the total; `None` when it is not time yet or no
    /// schedule is set. A schedule that fails to validate leaves the last good one in force.
    pub async fn tick(
        &mut self,
        leadership: &Leadership,
        series: &[&str],
        now: Timestamp,
    ) -> Result<Option<Compacted>> {
        match self.config.get().await {
            Ok(Some(v)) => self.in_force = Some(v.value),
            Ok(None) => {}
            Err(crate::Error::Invalid { .. }) => {
                tracing::warn!(
                    key = self.config.key(),
                    "retention schedule refused; the last good one stays"
                );
            }
            Err(e) => return Err(e),
        }
        let Some(schedule) = self.in_force else {
            return Ok(None);
        };
        let due = self.last.is_none_or(|last| {
            now.as_millis().saturating_sub(last.as_millis())
                >= i64::try_from(schedule.every_ms).unwrap_or(i64::MAX)
        });
        if !due {
            return Ok(None);
        }
        let writer = leadership.writer()?;
        let retention = schedule.retention();
        let mut total = Compacted::default();
        for s in series {
            let c = self.history.compact(s, &writer, now, &retention).await?;
            total.dropped += c.dropped;
            total.folded += c.folded;
            total.steps += c.steps;
        }
        self.last = Some(now);
        Ok(Some(total))
    }
}
