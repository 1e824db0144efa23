//! The Brooks-Iyengar hybrid algorithm.

use super::outcome::{Outcome, majority_of};
use super::sweep::{Meets, Region, sweep, sweep_stretches};
use super::{Estimate, ExclusionReason, Fusion, Interval, Screen, StrategyKind};
use crate::{Error, Reading, Timestamp};

/// Brooks-Iyengar (1996): find the regions covered by at least `n - f` reading intervals; the value is the
/// average of their midpoints weighted by how many intervals cover each, and the interval spans them.
///
/// Regions are the stretches between consecutive interval endpoints. When every qualifying region is a single
/// point (for example exact, zero-width readings that agree), those points are the regions.
///
/// - Guarantee: with at most `f` arbitrarily faulty intervals among `n >= 2f + 1`, every qualifying region is
///   covered by at least `n - 2f >= 1` correct intervals, so the value and the interval lie within the hull of
///   the correct intervals, and the interval contains the true value (as Marzullo's does). The `n >= 3f + 1`
///   of the original paper is what its *distributed* form needs for the nodes to agree with each other when a
///   faulty node sends different values to different peers; one fusing node needs `2f + 1`.
/// - Needs: `2f + 1` usable readings; [`Error::NoAgreement`] when no point lies in `n - f` intervals.
/// - Excludes with [`ExclusionReason::OutsideAgreement`] the readings whose interval misses every qualifying
///   region.
/// - Cost: O(n log n).
///
/// ```
/// use aeroguard_core::{Reading, SensorId, Timestamp, fusion::{Fusion, BrooksIyengar}};
/// let t = Timestamp::from_millis(0);
/// let rs = [("a", 10.0, 1.0), ("b", 10.5, 1.0), ("c", 9.8, 0.5), ("d", 42.0, 0.1)]
///     .map(|(s, v, w)| Reading::new(SensorId::new(s).unwrap(), v, t).with_half_width(w));
/// let e = BrooksIyengar::new(1).fuse(&rs, t)?;
/// assert!((9.5..=10.3).contains(&e.value));
/// assert_eq!(e.excluded[0].sensor.as_str(), "d");
/// # Ok::<(), aeroguard_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct BrooksIyengar {
    f: usize,
    screen: Screen,
}

impl BrooksIyengar {
    /// Brooks-Iyengar tolerating `f` faulty intervals.
    pub fn new(f: usize) -> Self {
        BrooksIyengar {
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

/// `Σ w·mid / Σ w`, with weights and midpoints kept finite, clamped to the regions' span. One division: each
/// weight is scaled by `1 / Σ w` (at most 1, so no product overflows).
fn weighted_midpoint(regions: &[Region]) -> f64 {
    let total: f64 = regions.iter().map(|r| r.count as f64).sum();
    let scale = 1.0 / total;
    let value: f64 = regions
        .iter()
        .map(|r| (r.count as f64 * scale) * Interval::new(r.lo, r.hi).midpoint())
        .sum();
    match (regions.first(), regions.last()) {
        (Some(a), Some(b)) => value.clamp(
            Interval::new(a.lo, a.hi).midpoint(),
            Interval::new(b.lo, b.hi).midpoint(),
        ),
        _ => f64::NAN,
    }
}

impl Fusion for BrooksIyengar {
    fn kind(&self) -> StrategyKind {
        StrategyKind::BrooksIyengar
    }

    fn fault_tolerance(&self) -> usize {
        self.f
    }

    fn fuse(&self, readings: &[Reading], now: Timestamp) -> Result<Estimate, Error> {
        let out = Outcome::screen(StrategyKind::BrooksIyengar, self.f, &self.screen, readings, now);
        out.require(majority_of(self.f))?;
        let n = out.candidates().len();
        let needed = n - self.f;
        // The stretches of agreement, or its points where it has no stretch (then swept again for them).
        let swept = sweep_stretches(out.candidates(), needed);
        let points_only = swept.regions.is_empty() && swept.outline.first.is_some();
        // With no gap in the agreement its stretches join end to end: an open chain, no need to check.
        let open_chain = swept.outline.joined && !points_only;
        let chosen = if points_only {
            sweep(out.candidates(), needed).regions
        } else {
            swept.regions
        };
        let (Some(first), Some(last)) = (chosen.first(), chosen.last()) else {
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
        let value = weighted_midpoint(&chosen);
        let agreement = if open_chain {
            Meets::open_chain(&chosen)
        } else {
            Meets::new(&chosen)
        };
        Ok(out.finish(value, Some(interval), |c| {
            (!agreement.meets(c.lo, c.hi)).then_some(ExclusionReason::OutsideAgreement)
        }))
    }
}
