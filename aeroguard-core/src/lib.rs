//! # aeroguard-core
//!
//! The shared ground of AeroGuard: identifiers ([`SensorId`], [`NodeId`]), [`Timestamp`], the [`Reading`],
//! the one [`Error`] type, and fault-tolerant sensor [`fusion`]: mean, inverse-variance weighted mean, median,
//! trimmed mean, mid-value select, Marzullo and Brooks-Iyengar, each returning an [`fusion::Estimate`] that says
//! which readings it used and why it excluded the others.
//!
//! No I/O, no async: this crate is pure computation that every other AeroGuard crate builds on.
//!
//! ```
//! use aeroguard_core::{Reading, SensorId, Timestamp};
//! use aeroguard_core::fusion::{Fusion, Marzullo};
//!
//! let now = Timestamp::now();
//! // Five redundant pressure transmitters, ±0.2 bar each; "pt-4" is stuck at an old value.
//! let readings: Vec<Reading> = [("pt-1", 4.02), ("pt-2", 3.97), ("pt-3", 4.05), ("pt-4", 6.80), ("pt-5", 4.00)]
//!     .into_iter()
//!     .map(|(id, bar)| Reading::new(SensorId::new(id).unwrap(), bar, now).with_half_width(0.2))
//!     .collect();
//! let estimate = Marzullo::new(1).fuse(&readings, now)?;
//! let interval = estimate.interval.unwrap();
//! assert!(interval.contains(4.0));
//! assert_eq!(estimate.excluded.len(), 1);
//! assert_eq!(estimate.excluded[0].sensor.as_str(), "pt-4");
//! # Ok::<(), aeroguard_core::Error>(())
//! ```
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod error;
pub mod fusion;
mod id;
mod reading;
mod time;

pub use error::{Cause, Error};
pub use id::{MAX_ID_LEN, NodeId, SensorId, identifier_problem};
pub use reading::{Quality, Reading, Uncertainty};
pub use time::Timestamp;
