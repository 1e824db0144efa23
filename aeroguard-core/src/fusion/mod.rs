//! Fault-tolerant fusion: many redundant readings in, one trustworthy value out.
//!
//! Every strategy implements [`Fusion`] and returns an [`Estimate`] that accounts for each reading given:
//! it is either `used` or `excluded` with an [`ExclusionReason`].
//!
//! | strategy | tolerates | needs | result | cost |
//! |---|---|---|---|---|
//! | [`Mean`] | no fault | 1 | value | O(n log n) |
//! | [`WeightedMean`] | no fault | 1 with σ > 0 | value, ±kσ interval | O(n log n) |
//! | [`Median`] | `f` arbitrary | `2f + 1` | value | O(n log n) |
//! | [`TrimmedMean`] | `f` arbitrary | `2f + 1` | value | O(n log n) |
//! | [`MidValueSelect`] | 1 of 3 | exactly 3 | value | O(1) |
//! | [`Marzullo`] | `f` intervals | `2f + 1` | interval containing the truth | O(n log n) |
//! | [`BrooksIyengar`] | `f` intervals | `2f + 1` | weighted value and interval | O(n log n) |
//!
//! ## Bad data is excluded, bad requests are errors
//! A reading is data from the field, so a bad one (NaN or infinite value, invalid uncertainty, flagged bad,
//! older than the maximum age, a second reading of the same sensor) is *excluded with a reason* by the
//! [`Screen`], never an error and never silently used. The call fails with a typed [`Error`] only when the
//! readings that remain cannot support a trustworthy answer: too few for the requested `f`
//! ([`Error::InsufficientReadings`], which says how many were needed, how many there were, and why the rest
//! were excluded), or intervals that disagree beyond `f` faults ([`Error::NoAgreement`]).
//!
//! ```
//! use std::time::Duration;
//! use aeroguard_core::{Reading, SensorId, Timestamp};
//! use aeroguard_core::fusion::{BrooksIyengar, ExclusionReason, Fusion, Screen};
//!
//! let now = Timestamp::from_millis(60_000);
//! let r = |s: &str, v: f64, t: i64| Reading::new(SensorId::new(s).unwrap(), v, Timestamp::from_millis(t))
//!     .with_half_width(0.5);
//! let readings = [r("a", 10.0, 59_900), r("b", 10.2, 59_950), r("c", 9.9, 59_990),
//!                 r("d", 55.0, 59_990), r("e", f64::NAN, 59_990), r("f", 10.1, 1_000)];
//! let fusion = BrooksIyengar::new(1).with_screen(Screen::default().with_max_age(Duration::from_secs(5)));
//! let est = fusion.fuse(&readings, now)?;
//! assert!((9.9..=10.2).contains(&est.value));
//! let why: Vec<String> = est.excluded.iter().map(|x| x.to_string()).collect();
//! assert_eq!(why, ["d: outside the agreement region", "e: non-finite value NaN",
//!                  "f: stale: 59000 ms old, max 5000 ms"]);
//! # Ok::<(), aeroguard_core::Error>(())
//! ```

use std::fmt;

use crate::{Error, Reading, Timestamp};

mod brooks_iyengar;
mod config;
mod degrade;
mod estimate;
mod marzullo;
mod mean;
mod mvs;
mod order;
mod outcome;
mod screen;
mod sweep;

pub use brooks_iyengar::BrooksIyengar;
pub use config::FusionConfig;
pub use degrade::Degrading;
pub use estimate::{Estimate, Exclusion, ExclusionReason, Interval, StrategyKind};
pub use marzullo::Marzullo;
pub use mean::{Mean, WeightedMean};
pub use mvs::{MidValueSelect, median_of_three};
pub use order::{Median, TrimmedMean};
pub use screen::Screen;

/// A fusion strategy: redundant readings of one quantity in, one [`Estimate`] out.
///
/// Object-safe: hold strategies as `Box<dyn Fusion>` or `Arc<dyn Fusion>` (see [`FusionConfig::build`]).
pub trait Fusion: fmt::Debug + Send + Sync {
    /// Which strategy this is.
    fn kind(&self) -> StrategyKind;

    /// How many arbitrarily faulty readings it tolerates.
    fn fault_tolerance(&self) -> usize;

    /// Fuses `readings` as of `now` (the time the screen measures ages against).
    fn fuse(&self, readings: &[Reading], now: Timestamp) -> Result<Estimate, Error>;
}
