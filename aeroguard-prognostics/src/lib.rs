#![doc = include_str!("../README.md")]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod error;
pub mod forecast;
pub mod health;
pub mod rul;

pub use error::{Error, Result};
