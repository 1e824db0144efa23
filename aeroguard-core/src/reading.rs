//! One measurement from one sensor channel.

use serde::{Deserialize, Serialize};

use crate::{SensorId, Timestamp};

/// How uncertain a reading is.
///
/// Interval-based fusion ([`Marzullo`](crate::fusion::Marzullo), [`BrooksIyengar`](crate::fusion::BrooksIyengar))
/// turns it into an interval `[value - w, value + w]`: `w` is the half-width itself, or the standard deviation
/// times the screen's `sigma_multiplier`. Variance-based fusion
/// ([`WeightedMean`](crate::fusion::WeightedMean)) uses `σ²`, or `w² / 3` for a half-width (the variance of a
/// uniform error on `[-w, w]`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Uncertainty {
    /// The true value lies within `value ± half_width` (a datasheet accuracy bound).
    HalfWidth(f64),
    /// The error is roughly normal with this standard deviation.
    StdDev(f64),
}

impl Uncertainty {
    /// The half-width of the reading's interval; `sigma_multiplier` scales a standard deviation.
    pub fn half_width(self, sigma_multiplier: f64) -> f64 {
        match self {
            Uncertainty::HalfWidth(w) => w,
            Uncertainty::StdDev(s) => s * sigma_multiplier,
        }
    }

    /// The error variance this uncertainty stands for.
    pub fn variance(self) -> f64 {
        match self {
            Uncertainty::HalfWidth(w) => w * w / 3.0,
            Uncertainty::StdDev(s) => s * s,
        }
    }

    /// The raw number (half-width or standard deviation).
    pub fn magnitude(self) -> f64 {
        match self {
            Uncertainty::HalfWidth(x) | Uncertainty::StdDev(x) => x,
        }
    }
}

impl Default for Uncertainty {
    fn default() -> Self {
        Uncertainty::HalfWidth(0.0)
    }
}

/// The quality a source attaches to a reading, as OPC UA and most SCADA protocols do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Quality {
    /// The source vouches for the value.
    #[default]
    Good,
    /// The source has doubts (for example a sensor out of calibration) but the value is usable.
    Uncertain,
    /// The source says the value is not to be used; fusion always excludes it.
    Bad,
}

/// One measurement: which sensor, what value, when, how uncertain, and how good the source says it is.
///
/// The fields are public plain data, so a reading can hold anything the field sends, NaN included; fusion
/// screens each reading and excludes the unusable ones with a reason (see [`crate::fusion`]).
///
/// ```
/// use aeroguard_core::{Quality, Reading, SensorId, Timestamp, Uncertainty};
/// let r = Reading::new(SensorId::new("tt-101")?, 71.3, Timestamp::from_millis(1_000))
///     .with_std_dev(0.2)
///     .with_quality(Quality::Uncertain);
/// assert_eq!(r.uncertainty, Uncertainty::StdDev(0.2));
/// # Ok::<(), aeroguard_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reading {
    /// The channel that produced the value.
    pub sensor: SensorId,
    /// The measured value, in the channel's engineering unit.
    pub value: f64,
    /// When the value was measured.
    pub timestamp: Timestamp,
    /// How uncertain the value is (default: an exact value, half-width 0).
    #[serde(default)]
    pub uncertainty: Uncertainty,
    /// The source's own quality flag (default: good).
    #[serde(default)]
    pub quality: Quality,
}

impl Reading {
    /// A good reading with no stated uncertainty.
    pub fn new(sensor: SensorId, value: f64, timestamp: Timestamp) -> Self {
        Reading {
            sensor,
            value,
            timestamp,
            uncertainty: Uncertainty::default(),
            quality: Quality::Good,
        }
    }

    /// Sets the uncertainty to an interval half-width.
    pub fn with_half_width(mut self, half_width: f64) -> Self {
        self.uncertainty = Uncertainty::HalfWidth(half_width);
        self
    }

    /// Sets the uncertainty to a standard deviation.
    pub fn with_std_dev(mut self, std_dev: f64) -> Self {
        self.uncertainty = Uncertainty::StdDev(std_dev);
        self
    }

    /// Sets the quality flag.
    pub fn with_quality(mut self, quality: Quality) -> Self {
        self.quality = quality;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_round_trip_with_defaults() {
        let json = r#"{"sensor":"a","value":1.5,"timestamp":7}"#;
        let r: Reading = serde_json::from_str(json).unwrap();
        assert_eq!(r.uncertainty, Uncertainty::HalfWidth(0.0));
        assert_eq!(r.quality, Quality::Good);
        let r = r.with_std_dev(0.5);
        let back: Reading = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn variance_of_half_width_is_uniform() {
        assert_eq!(Uncertainty::HalfWidth(3.0).variance(), 3.0);
        assert_eq!(Uncertainty::StdDev(2.0).half_width(3.0), 6.0);
    }
}
