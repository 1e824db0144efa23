//! Order statistics: the median and the trimmed mean.

use std::collections::HashSet;

use super::outcome::{Outcome, majority_of, stable_mean};
use super::screen::Candidate;
use super::{Estimate, ExclusionReason, Fusion, Screen, StrategyKind};
use crate::{Error, Reading, Timestamp};

/// Candidates sorted by value, ties broken by their position in the caller's slice after screening
/// (which is by sensor id), so the order does not depend on the input order.
fn by_value(candidates: &[Candidate]) -> Vec<Candidate> {
    let mut sorted = candidates.to_vec();
    sorted.sort_by(|a, b| a.value.total_cmp(&b.value));
    sorted
}

/// The median of the usable readings (for an even count, the midpoint of the two middle values).
///
/// - Guarantee: with at most `f` arbitrarily faulty readings among `n >= 2f + 1`, the median lies within
///   `[min, max]` of the correct readings: a faulty value can move it only as far as a correct one.
/// - Needs: `2f + 1` usable readings.
/// - Cost: O(n log n).
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
        let sorted = by_value(out.candidates());
        let n = sorted.len();
        let value = if n % 2 == 1 {
            sorted[n / 2].value
        } else {
            let (a, b) = (sorted[n / 2 - 1].value, sorted[n / 2].value);
            (a / 2.0 + b / 2.0).clamp(a, b)
        };
        Ok(out.finish(value, None, |_| None))
    }
}

/// The mean after dropping the `f` lowest and `f` highest values.
///
/// - Guarantee: with at most `f` arbitrarily faulty readings among `n >= 2f + 1`, the result lies within
///   `[min, max]` of the correct readings (every value that survives the trim is bracketed by correct ones).
/// - Needs: `2f + 1` usable readings.
/// - Cost: O(n log n).
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
        let sorted = by_value(out.candidates());
        let n = sorted.len();
        let kept = &sorted[self.f..n - self.f];
        let mut values: Vec<f64> = kept.iter().map(|c| c.value).collect();
        let value = stable_mean(&mut values);
        let kept: HashSet<usize> = kept.iter().map(|c| c.index).collect();
        Ok(out.finish(value, None, |c| {
            (!kept.contains(&c.index)).then_some(ExclusionReason::Trimmed)
        }))
    }
}
