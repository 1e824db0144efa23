//! Thresholds from scores on normal (training) data, so every member of a vote compares like with like.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// How a detector turns its training scores into a threshold. A row is anomalous when its score is strictly
/// above the threshold.
///
/// ```
/// use aeroguard_detect::Calibration;
/// let scores = [1.0, 2.0, 3.0, 4.0, 5.0];
/// assert_eq!(Calibration::Quantile(0.5).threshold(&scores)?, 3.0);
/// assert_eq!(Calibration::Contamination(0.25).threshold(&scores)?, 4.0);
/// assert_eq!(Calibration::Fixed(0.7).threshold(&scores)?, 0.7);
/// # Ok::<(), aeroguard_detect::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", content = "value", rename_all = "snake_case")]
pub enum Calibration {
    /// The `q`-quantile of the training scores (linear interpolation, as numpy's default).
    Quantile(f64),
    /// scikit-learn's `contamination`: the `1 - c` quantile, so a fraction `c` of training rows is flagged.
    Contamination(f64),
    /// `median + k · 1.4826 · MAD` of the training scores: robust to anomalies hidden in the training data.
    RobustZ(f64),
    /// A fixed threshold.
    Fixed(f64),
}

impl Calibration {
    /// Checks the parameter's domain.
    pub fn validate(&self) -> Result<()> {
        match *self {
            Calibration::Quantile(q) if !(0.0..=1.0).contains(&q) => {
                Err(Error::parameter("calibration", q, "a quantile lies in [0, 1]"))
            }
            Calibration::Contamination(c) if !(c > 0.0 && c <= 0.5) => Err(Error::parameter(
                "calibration",
                c,
                "contamination lies in (0, 0.5]",
            )),
            Calibration::RobustZ(k) if !(k.is_finite() && k > 0.0) => Err(Error::parameter(
                "calibration",
                k,
                "a robust z multiplier is finite and above 0",
            )),
            Calibration::Fixed(t) if !t.is_finite() => {
                Err(Error::parameter("calibration", t, "must be finite"))
            }
            _ => Ok(()),
        }
    }

    /// The threshold for these training scores.
    pub fn threshold(&self, scores: &[f64]) -> Result<f64> {
        self.validate()?;
        if let Calibration::Fixed(t) = *self {
            return Ok(t);
        }
        if scores.is_empty() {
            return Err(Error::NotEnoughRows {
                what: "calibration",
                needed: 1,
                got: 0,
            });
        }
        let mut sorted = scores.to_vec();
        sorted.sort_by(f64::total_cmp);
        Ok(match *self {
            Calibration::Quantile(q) => quantile_sorted(&sorted, q),
            Calibration::Contamination(c) => quantile_sorted(&sorted, 1.0 - c),
            Calibration::RobustZ(k) => {
                let (median, mad) = median_and_mad(&sorted);
                median + k * 1.4826 * mad
            }
            Calibration::Fixed(t) => t,
        })
    }
}

/// The median of `values` and their median absolute deviation from it (`NaN`s for no values). Any order.
///
/// ```
/// use aeroguard_detect::median_and_mad;
/// assert_eq!(median_and_mad(&[3.0, 1.0, 2.0, 100.0]), (2.5, 1.0));
/// ```
pub fn median_and_mad(values: &[f64]) -> (f64, f64) {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let median = quantile_sorted(&sorted, 0.5);
    let mut dev: Vec<f64> = sorted.iter().map(|v| (v - median).abs()).collect();
    dev.sort_by(f64::total_cmp);
    (median, quantile_sorted(&dev, 0.5))
}

/// The `q`-quantile of sorted values, interpolating linearly between neighbours (numpy's `linear`).
pub fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    let frac = pos - lo as f64;
    sorted[lo] + frac * (sorted[hi] - sorted[lo])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_match_numpy() {
        // numpy.quantile([1, 2, 3, 4], 0.9) == 3.7
        assert!((quantile_sorted(&[1.0, 2.0, 3.0, 4.0], 0.9) - 3.7).abs() < 1e-12);
        assert_eq!(quantile_sorted(&[5.0], 0.3), 5.0);
    }

    #[test]
    fn robust_z_ignores_outliers() {
        let mut s: Vec<f64> = (0..100).map(|i| (i % 10) as f64).collect();
        s.push(1e9);
        let t = Calibration::RobustZ(3.0).threshold(&s).unwrap();
        assert!(t > 9.0 && t < 30.0, "{t}");
    }

    #[test]
    fn bad_parameters_are_named() {
        for c in [
            Calibration::Quantile(1.5),
            Calibration::Contamination(0.0),
            Calibration::RobustZ(f64::NAN),
        ] {
            assert!(matches!(
                c.validate(),
                Err(Error::InvalidParameter {
                    name: "calibration",
                    ..
                })
            ));
        }
        assert!(Calibration::Quantile(0.5).threshold(&[]).is_err());
    }
}
