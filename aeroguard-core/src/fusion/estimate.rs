//! What fusion returns: the value, its interval, and an account of every reading.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::SensorId;

/// The fusion strategies, by name (serde: `snake_case`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum StrategyKind {
    /// [`Mean`](super::Mean).
    Mean,
    /// [`WeightedMean`](super::WeightedMean).
    WeightedMean,
    /// [`Median`](super::Median).
    Median,
    /// [`TrimmedMean`](super::TrimmedMean).
    TrimmedMean,
    /// [`MidValueSelect`](super::MidValueSelect).
    MidValueSelect,
    /// [`Marzullo`](super::Marzullo).
    Marzullo,
    /// [`BrooksIyengar`](super::BrooksIyengar).
    BrooksIyengar,
}

impl StrategyKind {
    /// Every strategy, in the order the docs present them.
    pub const ALL: [StrategyKind; 7] = [
        StrategyKind::Mean,
        StrategyKind::WeightedMean,
        StrategyKind::Median,
        StrategyKind::TrimmedMean,
        StrategyKind::MidValueSelect,
        StrategyKind::Marzullo,
        StrategyKind::BrooksIyengar,
    ];

    /// The human name, as used in messages.
    pub fn name(self) -> &'static str {
        match self {
            StrategyKind::Mean => "mean",
            StrategyKind::WeightedMean => "weighted mean",
            StrategyKind::Median => "median",
            StrategyKind::TrimmedMean => "trimmed mean",
            StrategyKind::MidValueSelect => "mid-value select",
            StrategyKind::Marzullo => "Marzullo",
            StrategyKind::BrooksIyengar => "Brooks-Iyengar",
        }
    }
}

impl fmt::Display for StrategyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A closed interval `[lo, hi]`.
///
/// ```
/// use aeroguard_core::fusion::Interval;
/// let i = Interval::new(11.0, 12.0);
/// assert!(i.contains(11.0) && i.contains(12.0) && !i.contains(12.5));
/// assert_eq!(i.width(), 1.0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// Lower bound (inclusive).
    pub lo: f64,
    /// Upper bound (inclusive).
    pub hi: f64,
}

impl Interval {
    /// An interval from its bounds (the caller keeps `lo <= hi`).
    pub const fn new(lo: f64, hi: f64) -> Self {
        Interval { lo, hi }
    }

    /// Whether `x` lies in the interval, bounds included.
    pub fn contains(&self, x: f64) -> bool {
        self.lo <= x && x <= self.hi
    }

    /// `hi - lo`.
    pub fn width(&self) -> f64 {
        self.hi - self.lo
    }

    /// The midpoint, computed without overflow.
    pub fn midpoint(&self) -> f64 {
        (self.lo / 2.0 + self.hi / 2.0).clamp(self.lo, self.hi)
    }
}

/// Why a reading did not contribute to an estimate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ExclusionReason {
    /// The source flagged the reading [`Quality::Bad`](crate::Quality::Bad).
    BadQuality,
    /// The value is NaN or infinite.
    NonFiniteValue {
        /// The value as received.
        value: f64,
    },
    /// The uncertainty is NaN, infinite or negative.
    InvalidUncertainty {
        /// The half-width or standard deviation as received.
        uncertainty: f64,
    },
    /// `value ± half-width` overflows to infinity.
    IntervalOverflow,
    /// The reading is older than the screen's maximum age.
    Stale {
        /// Its age at fusion time, in milliseconds.
        age_ms: u64,
        /// The maximum age allowed, in milliseconds.
        max_age_ms: u64,
    },
    /// A newer (or, at the same instant, a lower) reading of the same sensor was used instead: each sensor
    /// counts once, or one faulty sensor could outvote the others.
    Duplicate,
    /// Variance weighting needs a variance that is finite and above zero.
    Unweightable {
        /// The variance the uncertainty stands for.
        variance: f64,
    },
    /// Cut off as one of the `f` lowest or `f` highest values.
    Trimmed,
    /// Its interval misses every region where `n - f` intervals agree.
    OutsideAgreement,
    /// Mid-value select took another channel's value.
    NotSelected,
}

impl fmt::Display for ExclusionReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExclusionReason::BadQuality => f.write_str("quality flagged bad"),
            ExclusionReason::NonFiniteValue { value } => write!(f, "non-finite value {value}"),
            ExclusionReason::InvalidUncertainty { uncertainty } => {
                write!(f, "invalid uncertainty {uncertainty}")
            }
            ExclusionReason::IntervalOverflow => f.write_str("interval overflows"),
            ExclusionReason::Stale { age_ms, max_age_ms } => {
                write!(f, "stale: {age_ms} ms old, max {max_age_ms} ms")
            }
            ExclusionReason::Duplicate => f.write_str("duplicate of a newer reading"),
            ExclusionReason::Unweightable { variance } => {
                write!(
                    f,
                    "variance {variance} cannot be weighted (must be finite and above 0)"
                )
            }
            ExclusionReason::Trimmed => f.write_str("trimmed"),
            ExclusionReason::OutsideAgreement => f.write_str("outside the agreement region"),
            ExclusionReason::NotSelected => f.write_str("not the middle value"),
        }
    }
}

/// One reading that did not contribute, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Exclusion {
    /// The sensor whose reading was excluded.
    pub sensor: SensorId,
    /// Why.
    #[serde(flatten)]
    pub reason: ExclusionReason,
}

impl fmt::Display for Exclusion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.sensor, self.reason)
    }
}

/// The fused value with an account of every reading given: each one is either in `used` or in `excluded`.
///
/// `used` and `excluded` are sorted by sensor id, so the estimate does not depend on the order of the input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// The strategy that produced it.
    pub strategy: StrategyKind,
    /// The fused value.
    pub value: f64,
    /// The interval the strategy vouches for, where it gives one (Marzullo, Brooks-Iyengar, weighted mean).
    pub interval: Option<Interval>,
    /// The number of arbitrarily faulty readings the strategy was asked to tolerate.
    pub fault_tolerance: usize,
    /// The sensors whose readings contributed.
    pub used: Vec<SensorId>,
    /// The readings that did not contribute, with the reason.
    pub excluded: Vec<Exclusion>,
    /// Why the estimate is degraded, when it is: the strategy asked for could not vouch for a value with the
    /// readings usable (its error), and a [`Degrading`](super::Degrading) fusion's fallback gave this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub degraded: Option<String>,
}
