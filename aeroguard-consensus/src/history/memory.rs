//! The history in one process's memory: the embedded default, with the same fencing as Redis.

use parking_lot::Mutex;
use std::collections::{BTreeMap, HashMap};

use aeroguard_core::Timestamp;
use async_trait::async_trait;

use super::{Bucket, Compacted, HistoryStore, Point, Retention, Writer, check_append, check_range};
use crate::{Error, FencingToken, Result};

#[derive(Debug, Default)]
struct Series {
    fence: u64,
    /// Who wrote with the fence's token.
    owner: String,
    /// Points by time; several per millisecond kept in arrival order.
    points: BTreeMap<i64, Vec<Point>>,
    buckets: BTreeMap<i64, Bucket>,
}

impl Series {
    fn admit(&mut self, series: &str, writer: &Writer) -> Result<()> {
        writer.check()?;
        let token = writer.token.0;
        if token < self.fence {
            return Err(Error::Fenced {
                key: series.to_string(),
                token,
                highest: self.fence,
            });
        }
        if token == self.fence && !self.owner.is_empty() && self.owner != writer.owner {
            return Err(Error::FenceHeld {
                key: series.to_string(),
                token,
                holder: self.owner.clone(),
                writer: writer.owner.clone(),
            });
        }
        self.fence = token;
        self.owner.clone_from(&writer.owner);
        Ok(())
    }
}

/// A [`HistoryStore`] in memory (cheap to share behind an `Arc`).
#[derive(Debug, Default)]
pub struct MemoryHistory {
    series: Mutex<HashMap<String, Series>>,
}

impl MemoryHistory {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(&self, series: &str, f: impl FnOnce(&mut Series) -> T) -> T {
        let mut all = self.series.lock();
        f(all.entry(series.to_string()).or_default())
    }

    /// Reads `series`, or an empty one when it has never been written: a read makes no entry, so reading
    /// unknown names costs no memory.
    fn read<T>(&self, series: &str, f: impl FnOnce(&Series) -> T) -> T {
        let all = self.series.lock();
        match all.get(series) {
            Some(s) => f(s),
            None => f(&Series::default()),
        }
    }

    /// How many series the store holds (each written at least once).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use aeroguard_consensus::history::{HistoryStore, MemoryHistory};
    /// let h = MemoryHistory::new();
    /// assert!(h.latest("never-written", 10).await?.is_empty());
    /// assert_eq!(h.len(), 0);
    /// # Ok::<(), aeroguard_consensus::Error>(()) }).unwrap();
    /// ```
    pub fn len(&self) -> usize {
        self.series.lock().len()
    }

    /// Whether the store holds no series.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl HistoryStore for MemoryHistory {
    async fn append(&self, series: &str, writer: &Writer, points: &[Point]) -> Result<()> {
        check_append(series, points)?;
        self.with(series, |s| {
            s.admit(series, writer)?;
            for p in points {
                let same = s.points.entry(p.at.as_millis()).or_default();
                if !same.contains(p) {
                    same.push(p.clone());
                }
            }
            Ok(())
        })
    }

    async fn range(&self, series: &str, from: Timestamp, to: Timestamp) -> Result<Vec<Point>> {
        check_range(series, from, to)?;
        Ok(self.read(series, |s| {
            s.points
                .range(from.as_millis()..=to.as_millis())
                .flat_map(|(_, ps)| ps.iter().cloned())
                .collect()
        }))
    }

    async fn range_first(
        &self,
        series: &str,
        from: Timestamp,
        to: Timestamp,
        n: usize,
    ) -> Result<Vec<Point>> {
        check_range(series, from, to)?;
        super::check_latest(n)?;
        Ok(self.read(series, |s| {
            s.points
                .range(from.as_millis()..=to.as_millis())
                .flat_map(|(_, ps)| ps.iter().cloned())
                .take(n)
                .collect()
        }))
    }

    async fn latest(&self, series: &str, n: usize) -> Result<Vec<Point>> {
        crate::error::check_name("series", series)?;
        super::check_latest(n)?;
        let mut newest: Vec<Point> = self.read(series, |s| {
            s.points
                .values()
                .rev()
                .flat_map(|ps| ps.iter().rev().cloned())
                .take(n)
                .collect()
        });
        newest.reverse();
        Ok(newest)
    }

    async fn buckets(&self, series: &str, from: Timestamp, to: Timestamp) -> Result<Vec<Bucket>> {
        check_range(series, from, to)?;
        Ok(self.read(series, |s| {
            s.buckets
                .range(from.as_millis()..=to.as_millis())
                .map(|(_, b)| b.clone())
                .collect()
        }))
    }

    async fn fence(&self, series: &str) -> Result<Option<FencingToken>> {
        crate::error::check_name("series", series)?;
        Ok(self.read(series, |s| (s.fence > 0).then_some(FencingToken(s.fence))))
    }

    async fn compact(
        &self,
        series: &str,
        writer: &Writer,
        now: Timestamp,
        retention: &Retention,
    ) -> Result<Compacted> {
        crate::error::check_name("series", series)?;
        retention.validate()?;
        let (drop_before, fold_before, width) = retention.cutoffs(now);
        self.with(series, |s| {
            s.admit(series, writer)?;
            let kept = s.points.split_off(&drop_before);
            let dropped = s.points.values().map(|v| v.len() as u64).sum();
            s.points = kept;
            s.buckets = s.buckets.split_off(&drop_before);
            let mut folded = 0;
            if let Some(before) = fold_before {
                let kept = s.points.split_off(&before);
                let old = std::mem::replace(&mut s.points, kept);
                for (at, ps) in old {
                    let start = at.div_euclid(width) * width;
                    for p in ps {
                        folded += 1;
                        let b = s.buckets.entry(start).or_insert(Bucket {
                            start: Timestamp::from_millis(start),
                            width_ms: u64::try_from(width).unwrap_or(1),
                            min: p.value,
                            max: p.value,
                            mean: 0.0,
                            count: 0,
                        });
                        b.min = b.min.min(p.value);
                        b.max = b.max.max(p.value);
                        b.mean += (p.value - b.mean) / (b.count + 1) as f64;
                        b.count += 1;
                    }
                }
            }
            Ok(Compacted {
                dropped,
                folded,
                steps: 1,
            })
        })
    }
}
