//! Remaining useful life: how many cycles a unit has left, estimated after each of its cycles from that cycle
//! and the ones before it, with an interval calibrated on units the estimating model never saw.
//!
//! - [`RulModel`]: fitted on run-to-failure histories ([`RulOptions`]); [`RulStream`] takes one unit's cycles.
//! - [`FeatureSpec`] and [`Features`]: the causal features.
//! - [`Conformal`]: the intervals.
//! - [`score`]: RMSE, NASA's asymmetric score, coverage and width.
//!
//! ```
//! use aeroguard_prognostics::rul::{RulModel, RulOptions};
//! use ndarray::Array2;
//! // Twelve units whose one sensor climbs as they wear, failing after 60 to 115 cycles.
//! let units: Vec<Array2<f64>> = (0..12)
//!     .map(|u| {
//!         let life = 60 + 5 * u;
//!         Array2::from_shape_fn((life, 2), |(i, c)| if c == 0 { 1.0 } else { (i as f64 / life as f64).powi(2) + 0.01 * ((i * 7 + u) % 5) as f64 })
//!     })
//!     .collect();
//! let views: Vec<_> = units.iter().map(|u| u.view()).collect();
//! let model = RulModel::fit(&views, &RulOptions { folds: 3, bins: 2, ..RulOptions::default() })?;
//! assert_eq!(model.spec().columns, vec![1]); // the flat column carries nothing
//! let last = model.predict_unit(units[5].view())?.pop().unwrap();
//! assert!(last.rul < 20.0 && last.low <= last.rul && last.rul <= last.high, "{last:?}");
//! # Ok::<(), aeroguard_prognostics::Error>(())
//! ```

mod conformal;
mod features;
mod forest;
mod model;
mod options;
pub mod score;

pub use conformal::Conformal;
pub use features::{FeatureSpec, Features};
pub use model::{RulEstimate, RulModel, RulOptions, RulStream, Trees};
