//! A fenced time-series history: fused values and verdicts per series, written only by the current leader.
//!
//! Every write carries its [`Writer`]: the leader's [`FencingToken`] and its identity. The store remembers the
//! highest token it has seen per series and who wrote with it, and refuses atomically a lower token
//! ([`Error::Fenced`]) and the same token from anyone else ([`Error::FenceHeld`]), so a deposed leader that wakes
//! from a pause cannot add to the history after its successor has written, and two writers that claim one grant
//! cannot both write. Range queries by time, retention by age and
//! optional downsampling of old data (min / max / mean per bucket) complete it.
//!
//! Implementations: [`MemoryHistory`] (one process) and `RedisHistory` (feature `redis`: a sorted set per
//! series, the check and the write in one server-side script).
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use aeroguard_consensus::history::{HistoryStore, MemoryHistory, Point, Writer};
//! use aeroguard_consensus::{Error, FencingToken};
//! use aeroguard_core::Timestamp;
//!
//! let store = MemoryHistory::new();
//! let p = |ms, v| Point::new(Timestamp::from_millis(ms), v);
//! store.append("pump-1", &Writer::new(FencingToken(7), "n1"), &[p(1_000, 2.5), p(2_000, 2.6)]).await?;
//! // A deposed leader with an older token is refused, and writes nothing.
//! let err = store.append("pump-1", &Writer::new(FencingToken(6), "n2"), &[p(3_000, 99.0)]).await.unwrap_err();
//! assert!(matches!(err, Error::Fenced { token: 6, highest: 7, .. }));
//! // So is anyone else claiming token 7.
//! let err = store.append("pump-1", &Writer::new(FencingToken(7), "n3"), &[p(3_000, 99.0)]).await.unwrap_err();
//! assert!(matches!(err, Error::FenceHeld { token: 7, .. }));
//! let all = store.range("pump-1", Timestamp::from_millis(0), Timestamp::from_millis(10_000)).await?;
//! assert_eq!(all.len(), 2);
//! # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
//! ```

use std::fmt;
use std::time::Duration;

use aeroguard_core::Timestamp;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::{Error, FencingToken, Result};

mod memory;
mod schedule;

pub use memory::MemoryHistory;
pub use schedule::{Compactor, RetentionSchedule};

/// One entry of a series: a fused value at a time, with the ensemble's verdict if it was scored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// When the value was measured.
    pub at: Timestamp,
    /// The fused value (finite).
    pub value: f64,
    /// The ensemble's verdict: `Some(true)` if it raised an alarm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alarm: Option<bool>,
    /// Anything else worth keeping with it (the round, the vote record...), as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<serde_json::Value>,
}

impl Point {
    /// A point with no verdict or detail.
    pub fn new(at: Timestamp, value: f64) -> Self {
        Point {
            at,
            value,
            alarm: None,
            detail: None,
        }
    }

    /// Adds the ensemble's verdict.
    pub fn with_alarm(mut self, alarm: bool) -> Self {
        self.alarm = Some(alarm);
        self
    }

    /// Adds detail.
    pub fn with_detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = Some(detail);
        self
    }
}

/// Old points folded into one: the span `[start, start + width)` and its min, max, mean and count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bucket {
    /// The start of the span.
    pub start: Timestamp,
    /// The span's width in milliseconds.
    pub width_ms: u64,
    /// The smallest value.
    pub min: f64,
    /// The largest value.
    pub max: f64,
    /// The mean value.
    pub mean: f64,
    /// How many points were folded.
    pub count: u64,
}

/// How long data is kept, and when raw points are folded into buckets.
///
/// ```
/// use std::time::Duration;
/// use aeroguard_consensus::history::Retention;
/// let r = Retention::keep(Duration::from_secs(3 * 86_400)).downsample_after(Duration::from_secs(3_600), Duration::from_secs(60));
/// assert!(r.validate().is_ok());
/// assert!(Retention::keep(Duration::ZERO).validate().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Everything older than this is dropped.
    pub keep: Duration,
    /// Raw points older than this are folded into buckets (`None`: never).
    pub raw: Option<Duration>,
    /// The bucket width.
    pub bucket: Duration,
}

impl Retention {
    /// Keep everything for `keep`, never downsample.
    pub fn keep(keep: Duration) -> Self {
        Retention {
            keep,
            raw: None,
            bucket: Duration::from_secs(60),
        }
    }

    /// Fold raw points older than `raw` into buckets of `bucket`.
    pub fn downsample_after(mut self, raw: Duration, bucket: Duration) -> Self {
        self.raw = Some(raw);
        self.bucket = bucket;
        self
    }

    /// Checks the parameters.
    pub fn validate(&self) -> Result<()> {
        if self.keep.is_zero() {
            return Err(Error::parameter("keep", self.keep, "must be positive"));
        }
        if self.raw.is_some() && self.bucket < Duration::from_millis(1) {
            return Err(Error::parameter("bucket", self.bucket, "must be at least 1 ms"));
        }
        if let Some(raw) = self.raw
            && raw >= self.keep
        {
            return Err(Error::parameter(
                "raw",
                raw,
                "must be shorter than the retention (or nothing would be downsampled)",
            ));
        }
        Ok(())
    }

    /// The cut-offs at `now`: drop before, fold before (aligned down to a bucket boundary), bucket width.
    pub(crate) fn cutoffs(&self, now: Timestamp) -> (i64, Option<i64>, i64) {
        let ms = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        let drop_before = now.as_millis().saturating_sub(ms(self.keep));
        let width = ms(self.bucket).max(1);
        let fold_before = self
            .raw
            .map(|raw| now.as_millis().saturating_sub(ms(raw)).div_euclid(width) * width);
        (drop_before, fold_before, width)
    }
}

/// What a compaction did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Compacted {
    /// Raw points dropped for age.
    pub dropped: u64,
    /// Raw points folded into buckets.
    pub folded: u64,
    /// The bounded steps it took (Redis: one script per step of at most 2,000 points, so the server serves
    /// others between them; memory: 1).
    #[serde(default)]
    pub steps: u32,
}

/// Who writes to a fenced store: the leader's fencing token and its identity (a node id: letters, digits and
/// `_.:-`). Take it from the term with [`Leadership::writer`](crate::Leadership::writer).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Writer {
    /// The fencing token of the writer's term.
    pub token: FencingToken,
    /// Who holds it.
    pub owner: String,
}

impl Writer {
    /// A writer with `token`, held by `owner`.
    pub fn new(token: FencingToken, owner: impl Into<String>) -> Self {
        Writer {
            token,
            owner: owner.into(),
        }
    }

    pub(crate) fn check(&self) -> Result<()> {
        crate::error::check_name("owner", &self.owner)
    }
}

/// A fenced history of series.
#[async_trait]
pub trait HistoryStore: fmt::Debug + Send + Sync + 'static {
    /// Appends `points` to `series` if the writer's token is above the highest seen for it, or equal to it and
    /// held by the same owner (then both are remembered); [`Error::Fenced`] or [`Error::FenceHeld`] otherwise,
    /// with nothing written. Values must be finite.
    async fn append(&self, series: &str, writer: &Writer, points: &[Point]) -> Result<()>;

    /// The raw points with `from <= at <= to`, oldest first.
    async fn range(&self, series: &str, from: Timestamp, to: Timestamp) -> Result<Vec<Point>>;

    /// The newest `n` raw points (at most 10,000), oldest first: what a dashboard or a restarted service reads.
    /// The default reads the whole series; the backends read only what they return.
    async fn latest(&self, series: &str, n: usize) -> Result<Vec<Point>> {
        check_latest(n)?;
        let all = self
            .range(
                series,
                Timestamp::from_millis(i64::MIN),
                Timestamp::from_millis(i64::MAX),
            )
            .await?;
        Ok(all[all.len().saturating_sub(n)..].to_vec())
    }

    /// The oldest `n` raw points (at most [`MAX_LATEST`]) with `from <= at <= to`, oldest first: a bounded
    /// [`range`](Self::range), for a caller that pages through a series or answers a request it cannot size.
    /// The default reads the whole range; the backends read only what they return.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use aeroguard_consensus::FencingToken;
    /// use aeroguard_consensus::history::{HistoryStore, MemoryHistory, Point, Writer};
    /// use aeroguard_core::Timestamp;
    /// let h = MemoryHistory::new();
    /// let points: Vec<Point> = (0..5).map(|i| Point::new(Timestamp::from_millis(i), i as f64)).collect();
    /// h.append("pump-1", &Writer::new(FencingToken(1), "n1"), &points).await?;
    /// let first = h.range_first("pump-1", Timestamp::from_millis(1), Timestamp::from_millis(9), 2).await?;
    /// assert_eq!(first.iter().map(|p| p.value).collect::<Vec<_>>(), [1.0, 2.0]);
    /// assert!(h.range_first("pump-1", Timestamp::from_millis(0), Timestamp::from_millis(9), 10_001).await.is_err());
    /// # Ok::<(), aeroguard_consensus::Error>(()) }).unwrap();
    /// ```
    async fn range_first(
        &self,
        series: &str,
        from: Timestamp,
        to: Timestamp,
        n: usize,
    ) -> Result<Vec<Point>> {
        check_latest(n)?;
        let mut all = self.range(series, from, to).await?;
        all.truncate(n);
        Ok(all)
    }

    /// The downsampled buckets starting in `[from, to]`, oldest first.
    async fn buckets(&self, series: &str, from: Timestamp, to: Timestamp) -> Result<Vec<Bucket>>;

    /// The highest token seen for `series`, if any write was made.
    async fn fence(&self, series: &str) -> Result<Option<FencingToken>>;

    /// Applies `retention` at `now`: drops what is too old, folds old raw points into buckets. Fenced like
    /// [`append`](Self::append).
    async fn compact(
        &self,
        series: &str,
        writer: &Writer,
        now: Timestamp,
        retention: &Retention,
    ) -> Result<Compacted>;
}

/// Checks a series name and the points of an append.
pub(crate) fn check_append(series: &str, points: &[Point]) -> Result<()> {
    crate::error::check_name("series", series)?;
    if let Some((i, p)) = points.iter().enumerate().find(|(_, p)| !p.value.is_finite()) {
        return Err(Error::InvalidParameter {
            name: "points",
            value: format!("points[{i}].value = {}", p.value),
            reason: "values must be finite",
        });
    }
    Ok(())
}

/// The most points one [`HistoryStore::latest`] returns.
pub const MAX_LATEST: usize = 10_000;

pub(crate) fn check_latest(n: usize) -> Result<()> {
    if n > MAX_LATEST {
        return Err(Error::parameter("n", n, "at most 10,000 points per read"));
    }
    Ok(())
}

pub(crate) fn check_range(series: &str, from: Timestamp, to: Timestamp) -> Result<()> {
    crate::error::check_name("series", series)?;
    if from > to {
        return Err(Error::InvalidParameter {
            name: "from",
            value: format!("{from} > to {to}"),
            reason: "the range must not end before it starts",
        });
    }
    Ok(())
}
