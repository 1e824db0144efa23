//! The arithmetic mean and the inverse-variance weighted mean.

use super::outcome::{Outcome, stable_mean};
use super::{Estimate, ExclusionReason, Fusion, Interval, Screen, StrategyKind};
use crate::{Error, Reading, Timestamp};

/// The arithmetic mean of the usable readings.
///
/// - Guarantee: none against faults. One wrong reading moves the mean without bound (`f = 0`).
///   It is the best estimate for independent, equally noisy, healthy channels.
/// - Needs: at least 1 usable reading.
/// - Cost: O(n log n) for the screen's sort by sensor id; the sum is one pass, in sensor order (so the result
///   does not depend on the input order), as `Σ v/n` (so it cannot overflow for finite input).
///
/// ```
/// use aeroguard_core::{Reading, SensorId, Timestamp, fusion::{Fusion, Mean}};
/// let now = Timestamp::from_millis(0);
/// let rs: Vec<Reading> = [1.0, 2.0, 6.0].iter().enumerate()
///     .map(|(i, v)| Reading::new(SensorId::new(format!("s{i}")).unwrap(), *v, now)).collect();
/// assert_eq!(Mean::new().fuse(&rs, now)?.value, 3.0);
/// # Ok::<(), aeroguard_core::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct Mean {
    screen: Screen,
}

impl Mean {
    /// The mean with the default screen.
    pub fn new() -> Self {
        Mean::default()
    }

    /// Replaces the data-quality screen.
    pub fn with_screen(mut self, screen: Screen) -> Self {
        self.screen = screen;
        self
    }
}

impl Fusion for Mean {
    fn kind(&self) -> StrategyKind {
        StrategyKind::Mean
    }

    fn fault_tolerance(&self) -> usize {
        0
    }

    fn fuse(&self, readings: &[Reading], now: Timestamp) -> Result<Estimate, Error> {
        let out = Outcome::screen(StrategyKind::Mean, 0, &self.screen, readings, now);
        out.require(1)?;
        let values: Vec<f64> = out.candidates().iter().map(|c| c.value).collect();
        let value = stable_mean(&values);
        Ok(out.finish(value, None, |_| None))
    }
}

/// The inverse-variance weighted mean: `Σ (v_i / σ_i²) / Σ (1 / σ_i²)`.
///
/// A standard deviation gives `σ²`; a half-width `w` gives `w² / 3`. Readings whose variance is zero or
/// overflows are excluded ([`ExclusionReason::Unweightable`]): an exact reading would take all the weight.
///
/// - Guarantee: the minimum-variance unbiased combination of independent unbiased readings; none against faults
///   (`f = 0`). The interval is `value ± k·σ_fused` with `σ_fused² = 1 / Σ (1/σ_i²)` and `k` the screen's sigma
///   multiplier.
/// - Needs: at least 1 usable reading with uncertainty above zero.
/// - Cost: O(n log n) for the screen's sort by sensor id; the sums are one pass, in sensor order.
///
/// ```
/// use aeroguard_core::{Reading, SensorId, Timestamp, fusion::{Fusion, WeightedMean}};
/// let t = Timestamp::from_millis(0);
/// let a = Reading::new(SensorId::new("a")?, 10.0, t).with_std_dev(1.0);
/// let b = Reading::new(SensorId::new("b")?, 13.0, t).with_std_dev(2.0);
/// let e = WeightedMean::new().fuse(&[a, b], t)?;
/// assert!((e.value - 10.6).abs() < 1e-12); // weights 1 and 1/4
/// # Ok::<(), aeroguard_core::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct WeightedMean {
    screen: Screen,
}

impl WeightedMean {
    /// The weighted mean with the default screen.
    pub fn new() -> Self {
        WeightedMean::default()
    }

    /// Replaces the data-quality screen.
    pub fn with_screen(mut self, screen: Screen) -> Self {
        self.screen = screen;
        self
    }
}

impl Fusion for WeightedMean {
    fn kind(&self) -> StrategyKind {
        StrategyKind::WeightedMean
    }

    fn fault_tolerance(&self) -> usize {
        0
    }

    fn fuse(&self, readings: &[Reading], now: Timestamp) -> Result<Estimate, Error> {
        let mut out = Outcome::screen(StrategyKind::WeightedMean, 0, &self.screen, readings, now);
        out.exclude_where(|_, r| {
            let variance = r.uncertainty.variance();
            let ok = variance.is_finite() && variance > 0.0;
            (!ok).then_some(ExclusionReason::Unweightable { variance })
        });
        out.require(1)?;
        // Weights relative to the smallest variance lie in (0, 1], so nothing overflows. Candidates are in
        // sensor order, so the sums do not depend on the input's order.
        let pairs: Vec<(f64, f64)> = out
            .candidates()
            .iter()
            .map(|c| (c.value, out.variance(c)))
            .collect();
        let min_var = pairs.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
        let total: f64 = pairs.iter().map(|p| min_var / p.1).sum();
        let value: f64 = pairs.iter().map(|p| (min_var / p.1 / total) * p.0).sum();
        let lo = pairs.iter().map(|p| p.0).fold(f64::INFINITY, f64::min);
        let hi = pairs.iter().map(|p| p.0).fold(f64::NEG_INFINITY, f64::max);
        let value = value.clamp(lo, hi);
        let half = self.screen.sigma_multiplier() * (min_var / total).sqrt();
        let interval = Interval::new(value - half, value + half);
        let interval = (interval.lo.is_finite() && interval.hi.is_finite()).then_some(interval);
        Ok(out.finish(value, interval, |_| None))
    }
}
