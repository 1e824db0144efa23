//! # aeroguard-eval
//!
//! Scoring AeroGuard's detectors on labelled benchmark data, kept out of the library crates: the data sets are
//! not part of the project (each keeps its own licence; [`data`] says where they are and how to get them) and
//! a user of `aeroguard-detect` needs none of this.
//!
//! - [`data`]: where the data sets are (`AEROGUARD_DATA`), and what to run when they are missing.
//! - [`skab`]: the SKAB loader (CSV through the `csv` crate, times through `jiff`) and its protocol split.
//! - [`Evaluation`]: a detector's predictions pooled over files into the protocol's [`Summary`].
//! - [`metrics`]: F1 / FAR / MAR and NAB-like changepoint scores (SKAB's protocol).
//! - [`nab`]: the Numenta Anomaly Benchmark's own scoring and loader.
//! - [`cmapss`]: NASA's C-MAPSS turbofan run-to-failure files and their true remaining lives.
//! - [`cv`]: cross-validated choice of a vote's settings (leave one file or one folder out).
//!
//! ```
//! use aeroguard_eval::{Evaluation, skab::SkabFile};
//! let mut text = String::from("datetime;a;anomaly;changepoint\n");
//! for i in 0..410 {
//!     let bad = i >= 405;
//!     text += &format!("2020-03-09 10:{:02}:{:02};1.0;{};{}\n", i / 60, i % 60, bad as u8, (i == 405) as u8);
//! }
//! let f = SkabFile::parse("x.csv", &text)?;
//! let mut e = Evaluation::new("perfect");
//! e.add(&f, &f.anomaly[400..])?;
//! let s = e.summary();
//! assert_eq!((s.f1, s.far, s.mar, s.tp, s.tn), (1.0, 0.0, 0.0, 5, 5));
//! assert_eq!(s.nab_standard, 100.0);
//! # Ok::<(), aeroguard_eval::Error>(())
//! ```
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod cmapss;
pub mod cv;
pub mod data;
mod error;
mod evaluation;
pub mod metrics;
pub mod nab;
pub mod skab;

pub use error::{Error, Result};
pub use evaluation::{Evaluation, Summary};
