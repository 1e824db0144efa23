//! Order statistics: the median and the trimmed mean.

use super::outcome::{Outcome, majority_of, stable_mean};
use super::screen::Candidate;
use super::{Estimate, ExclusionReason, Fusion, Screen, StrategyKind};
use crate::{Error, Reading, Timestamp};

/// The order the order statistics use: by value, ties by position among the candidates (which are in sensor
/// order), so which of equal values is trimmed does not depend on the input order. It is total, so a selection
/// under it picks the same set as a full sort.
fn by_value(a: &(f64, usize), b: &(f64, usize)) -> std::cmp::Ordering {
    a.0.total_cmp(&b.0).then(a.1.cmp(&b.1))
}

/// The candidates' values with their positions.
fn ranked(candidates: &[Candidate]) -> Vec<(f64, usize)> {
    candidates.iter().enumerate().map(|(i, c)| (c.value, i)).collect()
}

/// The median of the usable readings (for an even count, the midpoint of the two middle values).
///
/// - Guarantee: with at most `f` arbitrarily faulty readings among `n >= 2f + 1`, the median lies within
///   `[min, max]` of the correct readings: a faulty value can move it only as far as a correct one.
/// - Needs: `2f + 1` usable readings.
/// - Cost: O(n log n) for the screen's sort by sensor id; the selection itself is O(n).
///
/// ```
/// use aeroguard_core::{Reading, SensorId, Timestamp, fusion::{Fusion, Median}};
/// let t = Timestamp::from_millis(0);
/// let rs: Vec<Reading> = [20.1, 20.3, 999.0].iter().enumerate()
///     .map(|(i, v)| Reading::new(SensorId::new(format!("t{i}")).unwrap(), *v, t)).collect();
/// assert_eq!(Median::new(1).fuse(&rs, t)?.value, 20.3);
/// # Ok::<(), aeroguard_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Median {
    f: usize,
    screen: Screen,
}

impl Median {
    /// A median that tolerates `f` faulty readings.
    pub fn new(f: usize) -> Self {
        Median {
            f,
            screen: Screen::default(),
        }
    }

    /// Replaces the data-quality screen.
    pub fn with_screen(mut self, screen: Screen) -> Self {
        self.screen = screen;
        self
    }
}

impl Fusion for Median {
    fn kind(&self) -> StrategyKind {
        StrategyKind::Median
    }

    fn fault_tolerance(&self) -> usize {
        self.f
    }

    fn fuse(&self, readings: &[Reading], now: Timestamp) -> Result<Estimate, Error> {
        let out = Outcome::screen(StrategyKind::Median, self.f, &self.screen, readings, now);
        out.require(majority_of(self.f).max(1))?;
        // Selection, not a sort: O(n).
        let mut ranked = ranked(out.candidates());
        let n = ranked.len();
        let (below, &mut (upper, _), _) = ranked.select_nth_unstable_by(n / 2, by_value);
        let value = if n % 2 == 1 {
            upper
        } else {
            let lower = below.iter().map(|r| r.0).fold(f64::NEG_INFINITY, f64::max);
            (lower / 2.0 + upper / 2.0).clamp(lower, upper)
        };
        Ok(out.finish(value, None, |_| None))
    }
}

/// The mean after dropping the `f` lowest and `f` highest values.
///
/// - Guarantee: with at most `f` arbitrarily faulty readings among `n >= 2f + 1`, the result lies within
///   `[min, max]` of the correct readings (every value that survives the trim is bracketed by correct ones).
/// - Needs: `2f + 1` usable readings.
/// - Cost: O(n log n) for the screen's sort by sensor id; the selection itself is O(n).
///
/// ```
/// use aeroguard_core::{Reading, SensorId, Timestamp, fusion::{Fusion, TrimmedMean}};
/// let t = Timestamp::from_millis(0);
/// let rs: Vec<Reading> = [-50.0, 4.0, 5.0, 6.0, 1e6].iter().enumerate()
///     .map(|(i, v)| Reading::new(SensorId::new(format!("p{i}")).unwrap(), *v, t)).collect();
/// let e = TrimmedMean::new(1).fuse(&rs, t)?;
/// assert_eq!(e.value, 5.0);
/// assert_eq!(e.excluded.len(), 2);
/// # Ok::<(), aeroguard_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct TrimmedMean {
    f: usize,
    screen: Screen,
}

impl TrimmedMean {
    /// A trimmed mean dropping `f` values at each end.
    pub fn new(f: usize) -> Self {
        TrimmedMean {
            f,
            screen: Screen::default(),
        }
    }

    /// Replaces the data-quality screen.
    pub fn with_screen(mut self, screen: Screen) -> Self {
        self.screen = screen;
        self
    }
}

impl Fusion for TrimmedMean {
    fn kind(&self) -> StrategyKind {
        StrategyKind::TrimmedMean
    }

    fn fault_tolerance(&self) -> usize {
        self.f
    }

    fn fuse(&self, readings: &[Reading], now: Timestamp) -> Result<Estimate, Error> {
        let out = Outcome::screen(StrategyKind::TrimmedMean, self.f, &self.screen, readings, now);
        out.require(majority_of(self.f))?;
        // Two selections, not a sort: the f lowest, then the f highest of the rest, under a total order.
        let mut ranked = ranked(out.candidates());
        let n = ranked.len();
        if self.f > 0 {
            ranked.select_nth_unstable_by(self.f - 1, by_value);
            ranked[self.f..].select_nth_unstable_by(n - 2 * self.f, by_value);
        }
        let mut trimmed = vec![false; n];
        for &(_, position) in ranked[..self.f].iter().chain(&ranked[n - self.f..]) {
            trimmed[position] = true;
        }
        // By index in the caller's slice, for the accounting.
        let mut trimmed_reading = vec![false; readings.len()];
        for (c, t) in out.candidates().iter().zip(&trimmed) {
            trimmed_reading[c.index] = *t;
        }
        // The kept values in candidate (sensor) order, so the sum does not depend on the input's order.
        let values: Vec<f64> = out
            .candidates()
            .iter()
            .zip(&trimmed)
            .filter(|(_, t)| !**t)
            .map(|(c, _)| c.value)
            .collect();
        let value = stable_mean(&values);
        Ok(out.finish(value, None, |c| {
            trimmed_reading[c.index].then_some(ExclusionReason::Trimmed)
        }))
    }
}
