//! Shared bookkeeping: screen, check the count, and account for every reading in the estimate.

use super::screen::{Candidate, Screened};
use super::{Estimate, Exclusion, ExclusionReason, Interval, Screen, StrategyKind};
use crate::{Error, Reading, Timestamp};

/// `2f + 1`, the count that lets the correct readings outnumber `f` faulty ones.
pub(crate) fn majority_of(f: usize) -> usize {
    f.saturating_mul(2).saturating_add(1)
}

pub(crate) struct Outcome<'a> {
    kind: StrategyKind,
    f: usize,
    readings: &'a [Reading],
    screened: Screened,
}

impl<'a> Outcome<'a> {
    pub fn screen(
        kind: StrategyKind,
        f: usize,
        screen: &Screen,
        readings: &'a [Reading],
        now: Timestamp,
    ) -> Self {
        Outcome {
            kind,
            f,
            readings,
            screened: screen.apply(readings, now),
        }
    }

    /// The usable candidates, one per sensor.
    pub fn candidates(&self) -> &[Candidate] {
        &self.screened.candidates
    }

    /// Fails unless at least `needed` readings are usable.
    pub fn require(&self, needed: usize) -> Result<(), Error> {
        let available = self.screened.candidates.len();
        if available >= needed {
            return Ok(());
        }
        let mut excluded = self.screened.excluded.clone();
        excluded.sort_by(|a, b| a.sensor.cmp(&b.sensor));
        Err(Error::InsufficientReadings {
            strategy: self.kind,
            f: self.f,
            needed,
            available,
            given: self.screened.given,
            excluded,
        })
    }

    /// Excludes, before the strategy runs, the candidates `reject` names a reason for.
    pub fn exclude_where(&mut self, mut reject: impl FnMut(&Candidate) -> Option<ExclusionReason>) {
        let readings = self.readings;
        let excluded = &mut self.screened.excluded;
        self.screened.candidates.retain(|c| match reject(c) {
            Some(reason) => {
                excluded.push(Exclusion {
                    sensor: readings[c.index].sensor.clone(),
                    reason,
                });
                false
            }
            None => true,
        });
    }

    pub fn error(&self, kind: impl FnOnce(StrategyKind, usize) -> Error) -> Error {
        kind(self.kind, self.f)
    }

    /// The estimate: every candidate `reject` gives no reason for counts as used.
    pub fn finish(
        self,
        value: f64,
        interval: Option<Interval>,
        mut reject: impl FnMut(&Candidate) -> Option<ExclusionReason>,
    ) -> Estimate {
        let Outcome {
            kind,
            f,
            readings,
            screened,
        } = self;
        let mut excluded = screened.excluded;
        let mut used = Vec::with_capacity(screened.candidates.len());
        for c in &screened.candidates {
            let sensor = readings[c.index].sensor.clone();
            match reject(c) {
                Some(reason) => excluded.push(Exclusion { sensor, reason }),
                None => used.push(sensor),
            }
        }
        // Candidates are in sensor order already (the screen sorts them), so `used` is too.
        debug_assert!(used.is_sorted());
        excluded.sort_by(|a, b| a.sensor.cmp(&b.sensor));
        Estimate {
            strategy: kind,
            value,
            interval,
            fault_tolerance: f,
            used,
            excluded,
        }
    }
}

/// The mean of `values`, computed as `Σ v/n` over the values sorted, so it cannot overflow for finite input
/// and does not depend on their order; clamped to `[min, max]` against rounding.
pub(crate) fn stable_mean(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len() as f64;
    let sum: f64 = values.iter().map(|v| v / n).sum();
    match (values.first(), values.last()) {
        (Some(&lo), Some(&hi)) => sum.clamp(lo, hi),
        _ => f64::NAN,
    }
}
