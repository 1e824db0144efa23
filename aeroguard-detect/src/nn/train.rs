//! The training loop shared by the neural detectors: shuffled mini-batches, Adam, early stopping on a
//! validation split (the best weights are kept), an optional progress line per epoch.

use rand::seq::SliceRandom;
use rand_xoshiro::Xoshiro256PlusPlus;

use super::{Adam, Param};
use crate::neural::Training;
use crate::{Error, Result};

/// A network with its own notion of a sample (an index into its data).
pub(crate) trait Net: Clone {
    /// The training data the sample indices point into.
    type Data;
    /// Mean loss over the samples, accumulating gradients.
    fn train_batch(&mut self, data: &Self::Data, samples: &[usize]) -> f64;
    /// Mean loss over the samples, without gradients.
    fn eval(&self, data: &Self::Data, samples: &[usize]) -> f64;
    /// Every trainable parameter.
    fn params(&mut self) -> Vec<&mut Param>;
}

/// What training did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Report {
    pub epochs: usize,
    pub first_loss: f64,
    pub best_validation: f64,
}

/// Trains `net` in place; the weights of the epoch with the lowest validation loss are kept.
pub(crate) fn fit<N: Net>(
    net: &mut N,
    data: &N::Data,
    mut train: Vec<usize>,
    validation: &[usize],
    t: &Training,
    rng: &mut Xoshiro256PlusPlus,
    name: &'static str,
) -> Result<Report> {
    let mut adam = Adam::new(t.learning_rate);
    let mut best = (f64::INFINITY, net.clone());
    let (mut stale, mut first_loss, mut epochs) = (0, f64::NAN, 0);
    for epoch in 0..t.epochs {
        train.shuffle(rng);
        let mut total = 0.0;
        for chunk in train.chunks(t.batch.max(1)) {
            total += net.train_batch(data, chunk) * chunk.len() as f64;
            adam.step(&mut net.params());
        }
        let loss = total / train.len().max(1) as f64;
        if !loss.is_finite() {
            return Err(Error::Fit {
                what: name,
                reason: format!("training loss became {loss} at epoch {epoch}; lower the learning rate"),
                cause: None,
            });
        }
        if epoch == 0 {
            first_loss = loss;
        }
        let val = if validation.is_empty() {
            loss
        } else {
            net.eval(data, validation)
        };
        epochs = epoch + 1;
        if t.verbose {
            tracing::info!(
                detector = name,
                epoch = epochs,
                train = loss,
                validation = val,
                "training"
            );
        }
        if val < best.0 {
            best = (val, net.clone());
            stale = 0;
        } else {
            stale += 1;
            if stale >= t.patience {
                break;
            }
        }
    }
    *net = best.1;
    Ok(Report {
        epochs,
        first_loss,
        best_validation: best.0,
    })
}
