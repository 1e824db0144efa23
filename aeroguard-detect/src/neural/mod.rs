//! Neural detectors, trained and run in Rust on the crate's own small layers: a dense autoencoder and a 1-D
//! convolutional autoencoder that flag what they cannot reconstruct, and an LSTM that flags what it did not
//! expect to come next, carrying its hidden state from row to row when streaming.
//!
//! All three scale features with statistics of the training rows only, train with Adam on shuffled
//! mini-batches, stop early on a validation split (the last part of the normal rows, in time order) and keep
//! the best weights, and calibrate their threshold on the training scores like every other member.

use std::collections::VecDeque;

use ndarray::{Array1, Array2, ArrayView1, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::limits;
use crate::{Error, Result};

mod autoencoder;
mod budget;
mod conv_autoencoder;
mod conv_net;
mod lstm;

pub use autoencoder::{Autoencoder, AutoencoderBuilder, FittedAutoencoder};
pub use conv_autoencoder::{ConvAutoencoder, ConvAutoencoderBuilder, FittedConvAutoencoder};
pub use lstm::{FittedLstm, Lstm, LstmBuilder};

/// How a neural detector trains.
///
/// ```
/// use aeroguard_detect::neural::Training;
/// let t = Training { epochs: 50, ..Training::default() };
/// assert!(t.validate().is_ok());
/// assert!(Training { learning_rate: -1.0, ..t }.validate().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Training {
    /// The most passes over the training windows.
    pub epochs: usize,
    /// Windows per mini-batch.
    pub batch: usize,
    /// Adam's step size.
    pub learning_rate: f64,
    /// Stop after this many epochs without a better validation loss.
    pub patience: usize,
    /// The fraction of the (time-ordered) windows held out for validation, at the end.
    pub validation: f64,
    /// Print a progress line per epoch to stderr.
    pub verbose: bool,
}

impl Default for Training {
    fn default() -> Self {
        Training {
            epochs: 60,
            batch: 32,
            learning_rate: 3e-3,
            patience: 8,
            validation: 0.2,
            verbose: false,
        }
    }
}

impl Training {
    /// Checks every field's domain.
    pub fn validate(&self) -> Result<()> {
        if self.epochs == 0 {
            return Err(Error::parameter("epochs", self.epochs, "at least 1"));
        }
        limits::at_most("epochs", self.epochs, limits::MAX_EPOCHS)?;
        limits::at_most("batch", self.batch, limits::MAX_BATCH)?;
        if self.batch == 0 {
            return Err(Error::parameter("batch", self.batch, "at least 1"));
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0 && self.learning_rate < 1.0) {
            return Err(Error::parameter("learning_rate", self.learning_rate, "in (0, 1)"));
        }
        if self.patience == 0 {
            return Err(Error::parameter("patience", self.patience, "at least 1"));
        }
        if !(0.0..0.9).contains(&self.validation) {
            return Err(Error::parameter("validation", self.validation, "in [0, 0.9)"));
        }
        Ok(())
    }

    /// Splits `samples` (time-ordered) into training and validation.
    pub(crate) fn split(&self, samples: Vec<usize>) -> (Vec<usize>, Vec<usize>) {
        let held = ((samples.len() as f64) * self.validation).round() as usize;
        let held = if samples.len() - held < 1 { 0 } else { held };
        let mut train = samples;
        let validation = train.split_off(train.len() - held);
        (train, validation)
    }
}

/// The last `window` scaled rows, the oldest first; filled with the first row until the stream is long enough,
/// as the batch path does.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub(crate) struct RowWindow {
    rows: VecDeque<Array1<f64>>,
}

impl RowWindow {
    pub fn push(&mut self, row: Array1<f64>, window: usize) {
        if self.rows.is_empty() {
            self.rows
                .extend(std::iter::repeat_n(row.clone(), window.saturating_sub(1)));
        }
        self.rows.push_back(row);
        while self.rows.len() > window {
            self.rows.pop_front();
        }
    }

    /// The window as a `window × width` matrix.
    pub fn matrix(&self, width: usize) -> Array2<f64> {
        let mut m = Array2::zeros((self.rows.len(), width));
        for (i, r) in self.rows.iter().enumerate() {
            m.row_mut(i).assign(r);
        }
        m
    }

    pub fn clear(&mut self) {
        self.rows.clear();
    }

    pub fn check(&self, window: usize, width: usize) -> Result<()> {
        if self.rows.len() > window
            || self
                .rows
                .iter()
                .any(|r| r.len() != width || !r.iter().all(|v| v.is_finite()))
        {
            return Err(Error::Model {
                operation: "load",
                reason: "streaming window does not match the model".into(),
                cause: None,
            });
        }
        Ok(())
    }
}

/// Row `t` of the causal window ending at `end` (`t < window`), clamping before the first row.
pub(crate) fn window_row<'a>(
    x: ArrayView2<'a, f64>,
    end: usize,
    window: usize,
    t: usize,
) -> ArrayView1<'a, f64> {
    x.index_axis_move(ndarray::Axis(0), (end + t + 1).saturating_sub(window))
}

/// Each channel's share of an autoencoder's error on its window `x` (`window × channels`), by reconstruction-
/// based contribution: how much the squared reconstruction error falls when that channel alone is replaced by
/// what the network rebuilds of it (twice, so it settles where the other channels put it). A fault on one
/// channel also upsets the reconstruction of the channels it is correlated with; replacing the faulty one
/// clears them all, replacing a bystander clears little. Where no replacement lowers the error (the network
/// is not smooth there), each channel's own squared error.
pub(crate) fn rebuilt_shares(
    x: &Array2<f64>,
    rebuild: impl Fn(&Array2<f64>) -> Option<Array2<f64>>,
) -> Option<Vec<f64>> {
    let error =
        |a: &Array2<f64>, b: &Array2<f64>| -> f64 { a.iter().zip(b).map(|(p, q)| (p - q) * (p - q)).sum() };
    let rebuilt = rebuild(x)?;
    let whole = error(&rebuilt, x);
    let contributions = (0..x.ncols())
        .map(|j| {
            let mut y = x.clone();
            for _ in 0..2 {
                let r = rebuild(&y)?;
                y.column_mut(j).assign(&r.column(j));
            }
            Some(whole - error(&rebuild(&y)?, &y))
        })
        .collect::<Option<Vec<f64>>>()?;
    crate::detector::shares(contributions).or_else(|| {
        let own = (0..x.ncols())
            .map(|j| {
                let d = &rebuilt.column(j) - &x.column(j);
                d.iter().map(|v| v * v).sum()
            })
            .collect();
        crate::detector::shares(own)
    })
}

/// How training went, kept with the model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TrainingReport {
    /// Epochs run (early stopping may end before the limit).
    pub epochs: usize,
    /// Mean training loss of the first epoch.
    pub first_loss: f64,
    /// The best validation loss (the weights kept are from that epoch).
    pub best_validation: f64,
}

impl From<crate::nn::train::Report> for TrainingReport {
    fn from(r: crate::nn::train::Report) -> Self {
        TrainingReport {
            epochs: r.epochs,
            first_loss: r.first_loss,
            best_validation: r.best_validation,
        }
    }
}

/// Sets a freshly trained model's threshold from its scores on the training rows.
pub(crate) fn calibrate<M: crate::FittedDetector>(
    mut model: M,
    calibration: &crate::Calibration,
    x: ArrayView2<f64>,
) -> Result<M> {
    let scores = model.score(x)?;
    model.set_threshold(calibration.threshold(&scores.to_vec())?);
    Ok(model)
}

pub(crate) fn damaged(reason: &str) -> Error {
    Error::Model {
        operation: "load",
        reason: reason.to_string(),
        cause: None,
    }
}
