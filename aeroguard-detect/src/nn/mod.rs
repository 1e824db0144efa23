//! Small neural layers on ndarray, written for the autoencoder and LSTM detectors (not a framework).
//!
//! Every layer has a forward pass and a backward pass that accumulates parameter gradients; each is proven by
//! an f64 finite-difference gradient check (`tests` below). Parameters are `Array2` (biases `1 × n`), trained by
//! [`Adam`] with global-norm clipping.

pub(crate) mod adam;
pub(crate) mod conv;
pub(crate) mod dense;
pub(crate) mod loss;
pub(crate) mod lstm;
pub(crate) mod param;
pub(crate) mod resample;
pub(crate) mod scaler;
pub(crate) mod train;

#[cfg(test)]
mod gradcheck;

pub(crate) use adam::Adam;
pub(crate) use conv::Conv1d;
pub(crate) use dense::{Act, Dense};
pub(crate) use lstm::Lstm;
pub(crate) use param::Param;
pub(crate) use scaler::Scaler;
