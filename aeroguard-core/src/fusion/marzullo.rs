//! Marzullo's interval intersection.

use super::outcome::{Outcome, majority_of};
use super::sweep::{Meets, sweep, sweep_outline};
use super::{Estimate, ExclusionReason, Fusion, Interval, Screen, StrategyKind};
use crate::{Error, Reading, Timestamp};

/// Marzullo's algorithm (1984; the core of NTP's clock selection): the smallest interval that covers every
/// point lying inside at least `n - f` of the `n` reading intervals. The value is its midpoint.
///
/// - Guarantee: if at most `f` of the `n` intervals are wrong (miss the true value), the result interval
///   contains the true value, since the true value lies in all `n - f` correct intervals. With `n >= 2f + 1`
///   every point of the result is also inside some correct interval, so the result lies within the hull of the
///   correct intervals: faulty sensors can neither exclude the truth nor widen the answer past the correct ones.
/// - Needs: `2f + 1` usable readings; [`Error::NoAgreement`] when no point lies in `n - f` intervals (then more
///   than `f` are faulty and no answer can be trusted).
/// - Excludes with [`ExclusionReason::OutsideAgreement`] the readings whose interval misses every point of
///   `n - f` coverage.
/// - Cost: O(n log n) (one sort of the endpoints and a sweep).
///
/// ```
/// use aeroguard_core::{Reading, SensorId, Timestamp, fusion::{Fusion, Marzullo}};
/// let t = Timestamp::from_millis(0);
/// // Marzullo's textbook example: [8, 12], [11, 13], [14, 15] with one faulty source.
/// let rs = [("a", 10.0, 2.0), ("b", 12.0, 1.0), ("c", 14.5, 0.5)]
///     .map(|(s, v, w)| Reading::new(SensorId::new(s).unwrap(), v, t).with_half_width(w));
/// let e = Marzullo::new(1).fuse(&rs, t)?;
/// assert_eq!(e.interval.map(|i| (i.lo, i.hi)), Some((11.0, 12.0)));
/// assert_eq!(e.value, 11.5);
/// assert_eq!(e.excluded[0].sensor.as_str(), "c");
/// # Ok::<(), aeroguard_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Marzullo {
    f: usize,
    screen: Screen,
}

impl Marzullo {
    /// Marzullo's algorithm tolerating `f` faulty intervals.
    pub fn new(f: usize) -> Self {
        Marzullo {
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

impl Fusion for Marzullo {
    fn kind(&self) -> StrategyKind {
        StrategyKind::Marzullo
    }

    fn fault_tolerance(&self) -> usize {
        self.f
    }

    fn fuse(&self, readings: &[Reading], now: Timestamp) -> Result<Estimate, Error> {
        let out = Outcome::screen(StrategyKind::Marzullo, self.f, &self.screen, readings, now);
        out.require(majority_of(self.f))?;
        let n = out.candidates().len();
        let needed = n - self.f;
        // The interval is the hull of what `n - f` intervals agree on; when that is one closed block (the usual
        // case) the regions in between are never needed, else they are swept out for the exclusions.
        let swept = sweep_outline(out.candidates(), needed);
        let (Some(first), Some(last)) = (swept.outline.first, swept.outline.last) else {
            let max_overlap = swept.max_count;
            return Err(out.error(|strategy, f| Error::NoAgreement {
                strategy,
                f,
                needed,
                available: n,
                max_overlap,
            }));
        };
        let interval = Interval::new(first.lo, last.hi);
        let regions;
        let agreement = match swept.outline.closed_hull() {
            Some((lo, hi)) => Meets::closed(lo, hi),
            None => {
                regions = sweep(out.candidates(), needed).regions;
                Meets::new(&regions)
            }
        };
        Ok(out.finish(interval.midpoint(), Some(interval), |c| {
            (!agreement.meets(c.lo, c.hi)).then_some(ExclusionReason::OutsideAgreement)
        }))
    }
}
