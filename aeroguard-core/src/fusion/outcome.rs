//! Shared bookkeeping: screen, check the count, and account for every reading in the estimate.

use super::screen::{Candidate, Screened, sort_by_id};
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

    /// The variance of a candidate's reading (computed when asked: most strategies never do).
    pub fn variance(&self, c: &Candidate) -> f64 {
        self.readings[c.index].uncertainty.variance()
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
        sort_by_id(&mut excluded, |e| e.sensor.as_str());
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
    pub fn exclude_where(&mut self, mut reject: impl FnMut(&Candidate, &Reading) -> Option<ExclusionReason>) {
        let readings = self.readings;
        let excluded = &mut self.screened.excluded;
        self.screened
            .candidates
            .retain(|c| match reject(c, &readings[c.index]) {
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
        // The screen's exclusions come in input order; those added below in sensor order.
        let sorted_already = excluded.is_empty();
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
        if !sorted_already {
            sort_by_id(&mut excluded, |e| e.sensor.as_str());
        }
        debug_assert!(excluded.is_sorted_by(|a, b| a.sensor <= b.sensor));
        Estimate {
            strategy: kind,
            value,
            interval,
            fault_tolerance: f,
            used,
            excluded,
            degraded: None,
        }
    }
}

/// The mean of `values`, computed as `Σ v/n`, so it cannot overflow for finite input, with Neumaier's
/// compensated sum, so rounding does not grow with `n`; clamped to `[min, max]`. Callers give the values in an
/// order that does not depend on the input's (candidates are in sensor order), so neither does the result.
pub(crate) fn stable_mean(values: &[f64]) -> f64 {
    let n = values.len() as f64;
    let (mut sum, mut carry, mut lo, mut hi) = (0.0f64, 0.0f64, f64::INFINITY, f64::NEG_INFINITY);
    for &v in values {
        let x = v / n;
        let t = sum + x;
        carry += if sum.abs() >= x.abs() {
            (sum - t) + x
        } else {
            (x - t) + sum
        };
        sum = t;
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if values.is_empty() {
        f64::NAN
    } else {
        // Near the range's ends the running sum can round past f64::MAX; the carry is then meaningless (inf -
        // inf), and the clamp brings the sum back within the values.
        let total = if carry.is_finite() { sum + carry } else { sum };
        total.clamp(lo, hi)
    }
}
