//! # aeroguard-detect
//!
//! Anomaly detectors for sensor data and an M-of-N voter that records who voted what. Rows are samples,
//! columns are sensors or features.
#![warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod calibrate;
mod detector;
mod error;
mod iforest;
mod input;
pub mod metrics;

pub use calibrate::{Calibration, quantile_sorted};
pub use detector::{Detector, FittedDetector};
pub use error::{Error, Result};
pub use iforest::{
    FittedIsolationForest, IsolationForest, IsolationForestBuilder, MaxSamples, average_path_length,
};
