//! Data-quality screening shared by every strategy.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Exclusion, ExclusionReason};
use crate::{Error, Quality, Reading, Timestamp};

/// The data-quality rules applied to readings before any strategy sees them.
///
/// In this order, a reading is excluded (never an error) when:
/// 1. its quality is [`Quality::Bad`];
/// 2. its value is NaN or infinite;
/// 3. its uncertainty is NaN, infinite or negative;
/// 4. it is older than `max_age` at fusion time (when a maximum age is set);
/// 5. `value ± half-width` overflows;
/// 6. the same sensor has another usable reading that is newer (at the same instant, the lower value is kept),
///    so each sensor counts once.
///
/// ```
/// use std::time::Duration;
/// use aeroguard_core::fusion::Screen;
/// let screen = Screen::default().with_max_age(Duration::from_secs(5)).with_sigma_multiplier(2.0)?;
/// assert_eq!(screen.max_age(), Some(Duration::from_secs(5)));
/// assert!(Screen::default().with_sigma_multiplier(f64::NAN).is_err());
/// # Ok::<(), aeroguard_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ScreenRaw", into = "ScreenRaw")]
pub struct Screen {
    max_age: Option<Duration>,
    sigma_multiplier: f64,
}

/// The serde form of [`Screen`]: `{"max_age_ms": 5000, "sigma_multiplier": 3.0}`, both optional.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct ScreenRaw {
    max_age_ms: Option<u64>,
    sigma_multiplier: f64,
}

impl Default for ScreenRaw {
    fn default() -> Self {
        let s = Screen::default();
        ScreenRaw {
            max_age_ms: None,
            sigma_multiplier: s.sigma_multiplier,
        }
    }
}

impl TryFrom<ScreenRaw> for Screen {
    type Error = Error;
    fn try_from(raw: ScreenRaw) -> Result<Self, Error> {
        let screen = Screen {
            max_age: raw.max_age_ms.map(Duration::from_millis),
            ..Screen::default()
        };
        screen.with_sigma_multiplier(raw.sigma_multiplier)
    }
}

impl From<Screen> for ScreenRaw {
    fn from(s: Screen) -> Self {
        ScreenRaw {
            max_age_ms: s
                .max_age
                .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            sigma_multiplier: s.sigma_multiplier,
        }
    }
}

impl Default for Screen {
    /// No maximum age; a standard deviation becomes a 3σ interval.
    fn default() -> Self {
        Screen {
            max_age: None,
            sigma_multiplier: 3.0,
        }
    }
}

impl Screen {
    /// Excludes readings older than `max_age` at fusion time.
    pub fn with_max_age(mut self, max_age: Duration) -> Self {
        self.max_age = Some(max_age);
        self
    }

    /// How many standard deviations make an interval's half-width (default 3). Must be finite and above 0.
    pub fn with_sigma_multiplier(mut self, k: f64) -> Result<Self, Error> {
        if !(k.is_finite() && k > 0.0) {
            return Err(Error::parameter(
                "sigma_multiplier",
                k,
                "must be finite and greater than 0",
            ));
        }
        self.sigma_multiplier = k;
        Ok(self)
    }

    /// The maximum age, if one is set.
    pub fn max_age(&self) -> Option<Duration> {
        self.max_age
    }

    /// The standard-deviation multiplier.
    pub fn sigma_multiplier(&self) -> f64 {
        self.sigma_multiplier
    }

    /// Screens `readings` at time `now`.
    pub(crate) fn apply(&self, readings: &[Reading], now: Timestamp) -> Screened {
        let mut excluded = Vec::new();
        let mut candidates = Vec::with_capacity(readings.len());
        for (index, r) in readings.iter().enumerate() {
            match self.check(r, now) {
                Ok((lo, hi)) => candidates.push(Candidate {
                    index,
                    value: r.value,
                    lo,
                    hi,
                    variance: r.uncertainty.variance(),
                }),
                Err(reason) => excluded.push(Exclusion {
                    sensor: r.sensor.clone(),
                    reason,
                }),
            }
        }
        // Each sensor once: its newest reading, then its lowest value, then its first.
        candidates.sort_by(|a, b| {
            let (ra, rb) = (&readings[a.index], &readings[b.index]);
            ra.sensor
                .cmp(&rb.sensor)
                .then(rb.timestamp.cmp(&ra.timestamp))
                .then(a.value.total_cmp(&b.value))
                .then(a.index.cmp(&b.index))
        });
        let mut kept: Vec<Candidate> = Vec::with_capacity(candidates.len());
        for c in candidates {
            match kept.last() {
                Some(last) if readings[last.index].sensor == readings[c.index].sensor => {
                    excluded.push(Exclusion {
                        sensor: readings[c.index].sensor.clone(),
                        reason: ExclusionReason::Duplicate,
                    });
                }
                _ => kept.push(c),
            }
        }
        Screened {
            candidates: kept,
            excluded,
            given: readings.len(),
        }
    }

    fn check(&self, r: &Reading, now: Timestamp) -> Result<(f64, f64), ExclusionReason> {
        if r.quality == Quality::Bad {
            return Err(ExclusionReason::BadQuality);
        }
        if !r.value.is_finite() {
            return Err(ExclusionReason::NonFiniteValue { value: r.value });
        }
        let u = r.uncertainty.magnitude();
        if !(u.is_finite() && u >= 0.0) {
            return Err(ExclusionReason::InvalidUncertainty { uncertainty: u });
        }
        if let Some(max_age) = self.max_age {
            let age = r.timestamp.age_at(now);
            if age > max_age {
                return Err(ExclusionReason::Stale {
                    age_ms: u64::try_from(age.as_millis()).unwrap_or(u64::MAX),
                    max_age_ms: u64::try_from(max_age.as_millis()).unwrap_or(u64::MAX),
                });
            }
        }
        let w = r.uncertainty.half_width(self.sigma_multiplier);
        let (lo, hi) = (r.value - w, r.value + w);
        if !(lo.is_finite() && hi.is_finite()) {
            return Err(ExclusionReason::IntervalOverflow);
        }
        Ok((lo, hi))
    }
}

/// A reading that passed the screen.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Candidate {
    /// Its index in the caller's slice.
    pub index: usize,
    pub value: f64,
    pub lo: f64,
    pub hi: f64,
    pub variance: f64,
}

/// The outcome of screening: usable candidates (one per sensor, sorted by sensor id) and exclusions.
#[derive(Debug)]
pub(crate) struct Screened {
    pub candidates: Vec<Candidate>,
    pub excluded: Vec<Exclusion>,
    pub given: usize,
}
