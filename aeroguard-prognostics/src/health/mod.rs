//! Sensor health from fusion: per sensor, how far its readings sit from the others' (bias: against the median
//! of the other readings, since a drifting sensor pulls the fused value it would be measured against), how
//! fast that gap grows (drift), how often fusion leaves it out (exclusion rate), and when the gap will leave its
//! tolerance at the pace it has ("leaves its tolerance in about N rounds"), so a drifting sensor is flagged
//! while fusion still trusts it.
//!
//! ```
//! use aeroguard_prognostics::health::{HealthOptions, HealthTracker, Status};
//! let mut tracker = HealthTracker::new(HealthOptions { tolerance: 0.16, ..HealthOptions::default() })?;
//! let mut warnings = Vec::new(); // (round, rounds to tolerance)
//! for round in 0..40u32 {
//!     let wobble = 0.005 * f64::from(round * 7 % 5) - 0.01;
//!     // s3 drifts 0.01 a round from round 10: its gap reaches 0.16 in round 25.
//!     let s3 = 4.0 + if round >= 10 { 0.01 * f64::from(round - 9) } else { 0.0 } + wobble;
//!     let readings = [("s1", 4.0 - wobble), ("s2", 4.0 + wobble / 2.0), ("s3", s3), ("s4", 4.0), ("s5", 4.0 + wobble)];
//!     for h in tracker.observe(4.0, &readings, &[])? {
//!         assert!(h.sensor == "s3" || h.status == Status::Healthy);
//!         if h.status == Status::Drifting {
//!             warnings.push((round as usize, h.time_to_tolerance.unwrap().steps));
//!         }
//!     }
//! }
//! assert!(warnings[0].0 < 20, "first flagged in round {}", warnings[0].0);
//! let (_, steps) = warnings.iter().find(|w| w.0 == 20).unwrap();
//! assert!(steps.abs_diff(5) <= 2, "in round 20 it says {steps} rounds");
//! # Ok::<(), aeroguard_prognostics::Error>(())
//! ```

mod drift;

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

use crate::forecast::Crossing;
use crate::{Error, Result};
use drift::Line;

/// What the tracker watches for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthOptions {
    /// How far a reading may sit from the fused value (in its units): past it, the sensor is out of tolerance.
    pub tolerance: f64,
    /// Rounds of history per sensor (bias, drift and exclusion rate are over these).
    pub window: usize,
    /// Flag a sensor whose gap will leave the tolerance within this many rounds.
    pub warn_within: usize,
    /// A drift counts once its slope is this many standard errors from zero.
    pub min_t: f64,
    /// Rounds of history before a drift is judged.
    pub min_rounds: usize,
    /// The coverage of the interval on the time to tolerance.
    pub coverage: f64,
}

impl Default for HealthOptions {
    fn default() -> Self {
        HealthOptions {
            tolerance: 1.0,
            window: 20,
            warn_within: 50,
            min_t: 6.0,
            min_rounds: 8,
            coverage: 0.9,
        }
    }
}

/// A sensor's state of health.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Within tolerance, no drift that will take it out soon.
    Healthy,
    /// Within tolerance now, drifting out within `warn_within` rounds.
    Drifting,
    /// Its last reading was past the tolerance.
    OutOfTolerance,
    /// Fusion left its last reading out.
    Excluded,
}

/// One sensor's health after a round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SensorHealth {
    /// The sensor.
    pub sensor: String,
    /// Rounds of history behind the figures.
    pub rounds: usize,
    /// Mean gap over the window: reading minus the other readings' median (the fused value with fewer than
    /// three readings).
    pub bias: f64,
    /// The gap's change per round (least squares over the window).
    pub drift: f64,
    /// The share of the window's rounds in which fusion left it out.
    pub exclusion_rate: f64,
    /// When the gap leaves the tolerance at this drift (`None`: no significant drift towards it).
    pub time_to_tolerance: Option<Crossing>,
    /// The verdict.
    pub status: Status,
}

#[derive(Debug, Clone, Default)]
struct Track {
    gaps: VecDeque<f64>,
    excluded: VecDeque<bool>,
}

/// Per sensor, the recent gaps between its readings and the fused value. One tracker per measured quantity.
#[derive(Debug, Clone)]
pub struct HealthTracker {
    options: HealthOptions,
    z: f64,
    sensors: BTreeMap<String, Track>,
}

/// What a reading is measured against: the median of the other readings when there are two or more (a
/// drifting sensor pulls the fused value, and with it every other sensor's gap), else the fused value.
fn reference(fused: f64, finite: &[f64], own: f64) -> f64 {
    let mut others: Vec<f64> = finite.to_vec();
    if let Some(i) = others.iter().position(|&v| v.to_bits() == own.to_bits()) {
        others.swap_remove(i);
    }
    if others.len() < 2 {
        return fused;
    }
    others.sort_by(f64::total_cmp);
    let mid = others.len() / 2;
    if others.len() % 2 == 1 {
        others[mid]
    } else {
        (others[mid - 1] + others[mid]) / 2.0
    }
}

/// Most sensors one tracker follows.
pub const MAX_SENSORS: usize = 10_000;
/// Most gaps one tracker keeps (sensors × window).
pub const MAX_GAPS: usize = 10_000_000;

impl HealthTracker {
    /// A tracker; the options are checked.
    pub fn new(options: HealthOptions) -> Result<HealthTracker> {
        let bad = |name, value: String, reason| Err(Error::InvalidParameter { name, value, reason });
        if !(options.tolerance.is_finite() && options.tolerance > 0.0) {
            return bad(
                "tolerance",
                options.tolerance.to_string(),
                "must be a positive number",
            );
        }
        if !(3..=10_000).contains(&options.window) {
            return bad("window", options.window.to_string(), "must be 3 to 10000 rounds");
        }
        if !(1..=1_000_000).contains(&options.warn_within) {
            return bad(
                "warn_within",
                options.warn_within.to_string(),
                "must be 1 to 1000000 rounds",
            );
        }
        if !(3..=options.window).contains(&options.min_rounds) {
            return bad(
                "min_rounds",
                options.min_rounds.to_string(),
                "must be 3 up to the window",
            );
        }
        if !(options.min_t.is_finite() && options.min_t >= 0.0) {
            return bad(
                "min_t",
                options.min_t.to_string(),
                "must be a finite number, 0 or more",
            );
        }
        let z = crate::forecast::z_for(options.coverage)?;
        Ok(HealthTracker {
            options,
            z,
            sensors: BTreeMap::new(),
        })
    }

    /// Takes one round: the fused value, each sensor's reading, and the sensors fusion left out. A non-finite
    /// reading counts as an exclusion with no gap; a non-finite fused value is refused and changes nothing.
    pub fn observe(
        &mut self,
        fused: f64,
        readings: &[(&str, f64)],
        excluded: &[&str],
    ) -> Result<Vec<SensorHealth>> {
        if !fused.is_finite() {
            return Err(Error::NonFinite {
                what: "fused value",
                index: 0,
                column: 0,
            });
        }
        let new = readings
            .iter()
            .filter(|(s, _)| !self.sensors.contains_key(*s))
            .count();
        // The gaps kept are sensors × window: both bounded, and their product.
        if self.sensors.len() + new > MAX_SENSORS
            || (self.sensors.len() + new) * self.options.window > MAX_GAPS
        {
            let value = (self.sensors.len() + new).to_string();
            return Err(Error::InvalidParameter {
                name: "sensors",
                value,
                reason: "at most 10000 per tracker",
            });
        }
        let window = self.options.window;
        let finite: Vec<f64> = readings.iter().map(|r| r.1).filter(|v| v.is_finite()).collect();
        readings
            .iter()
            .map(|&(sensor, value)| {
                let reference = reference(fused, &finite, value);
                let track = self.sensors.entry(sensor.to_string()).or_default();
                let out = excluded.contains(&sensor) || !value.is_finite();
                if value.is_finite() {
                    track.gaps.push_back(value - reference);
                    if track.gaps.len() > window {
                        track.gaps.pop_front();
                    }
                }
                track.excluded.push_back(out);
                if track.excluded.len() > window {
                    track.excluded.pop_front();
                }
                Ok(self.health(sensor, out))
            })
            .collect()
    }

    /// Observes one channel's fusion: the estimate and the readings it fused.
    pub fn observe_fusion(
        &mut self,
        estimate: &aeroguard_core::fusion::Estimate,
        readings: &[aeroguard_core::Reading],
    ) -> Result<Vec<SensorHealth>> {
        let pairs: Vec<(&str, f64)> = readings.iter().map(|r| (r.sensor.as_str(), r.value)).collect();
        let out: Vec<&str> = estimate.excluded.iter().map(|e| e.sensor.as_str()).collect();
        self.observe(estimate.value, &pairs, &out)
    }

    fn health(&self, sensor: &str, out_now: bool) -> SensorHealth {
        let o = &self.options;
        let track = &self.sensors[sensor];
        let gaps: Vec<f64> = track.gaps.iter().copied().collect();
        let bias = if gaps.is_empty() {
            0.0
        } else {
            gaps.iter().sum::<f64>() / gaps.len() as f64
        };
        let enough = gaps.len() >= o.min_rounds;
        // The hinge's bend is chosen to fit, so noise alone gives it larger t than a straight line's: `min_t`
        // is high (6 by default: pure noise passed it in none of 20,000 windows of 20, its 99.99th percentile is 5.7), and the straight line
        // must lean the same way; and a step (a gap that jumped) must not fit as well: that is no drift.
        let leans = Line::straight(&gaps).map_or(0.0, |l| l.slope);
        let line = Line::fit(&gaps).filter(|_| enough);
        let step = Line::step_sse(&gaps);
        let significant = line.filter(|l| {
            l.slope * leans > 0.0
                && (l.slope_se == 0.0 || l.slope.abs() >= o.min_t * l.slope_se)
                && l.sse < step
        });
        let last = gaps.last().copied().unwrap_or(0.0);
        let time_to_tolerance = significant
            .filter(|l| last.abs() < o.tolerance && l.now * l.slope >= 0.0)
            .and_then(|l| l.leaves(o.tolerance, o.warn_within.max(1) * 4, self.z));
        let status = if out_now {
            Status::Excluded
        } else if last.abs() >= o.tolerance {
            Status::OutOfTolerance
        } else if time_to_tolerance.is_some_and(|c| c.steps <= o.warn_within) {
            Status::Drifting
        } else {
            Status::Healthy
        };
        SensorHealth {
            sensor: sensor.to_string(),
            rounds: gaps.len(),
            bias,
            drift: line.map_or(0.0, |l| l.slope),
            exclusion_rate: track.excluded.iter().filter(|&&e| e).count() as f64
                / track.excluded.len().max(1) as f64,
            time_to_tolerance,
            status,
        }
    }
}
