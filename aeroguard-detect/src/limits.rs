//! Upper bounds on everything a user, a file or a request sizes: past them comes
//! [`Error::InvalidParameter`] (or, in a model file, [`Error::Model`]), never an allocation that aborts the process.
//!
//! They sit far above any sensible setting (a 4,096-unit LSTM over 10,000-row windows is already days of
//! training on a CPU), and low enough that the largest structure they allow fits in memory.
//!
//! ```
//! use aeroguard_detect::{Error, neural::Lstm};
//! let err = Lstm::builder().hidden(1_000_000_000_000).build().unwrap_err();
//! assert!(matches!(err, Error::InvalidParameter { name: "hidden", .. }), "{err}");
//! ```

use crate::{Error, Result};

/// Rows in a window, a sequence, a lag or a persistence count.
pub const MAX_WINDOW: usize = 10_000;
/// Units in a neural layer (hidden, bottleneck, channels), and the kernel width.
pub const MAX_UNITS: usize = 4_096;
/// Inputs of a dense layer: window rows times columns.
pub const MAX_INPUTS: usize = 1 << 20;
/// Columns of an input.
pub const MAX_COLUMNS: usize = 10_000;
/// Trees in a forest.
pub const MAX_TREES: usize = 10_000;
/// Rows drawn for one tree.
pub const MAX_SAMPLES: usize = 1 << 20;
/// Scoring threads.
pub const MAX_THREADS: usize = 1_024;
/// Clusters in a profile.
pub const MAX_CLUSTERS: usize = 10_000;
/// Lags of a feature window.
pub const MAX_LAGS: usize = 256;
/// Training epochs.
pub const MAX_EPOCHS: usize = 1_000_000;
/// Rows in a training batch.
pub const MAX_BATCH: usize = 1 << 20;
/// Bytes training one neural network may take: its weights with their gradients and optimizer moments, and
/// the activations of the rows one pass holds (each size within its own limit can still multiply past memory).
pub const MAX_TRAINING_BYTES: usize = 2 << 30;
/// Bytes of a saved model or ensemble.
pub const MAX_MODEL_BYTES: usize = 1 << 30;

/// `value` of parameter `name` must be at most `max`.
pub(crate) fn at_most(name: &'static str, value: usize, max: usize) -> Result<()> {
    if value > max {
        return Err(Error::InvalidParameter {
            name,
            value: format!("{value} (the limit is {max})"),
            reason: "past its limit (aeroguard_detect::limits)",
        });
    }
    Ok(())
}

/// The same check for a loaded model: a file past a limit is damaged or hostile.
pub(crate) fn loaded_at_most(what: &'static str, value: usize, max: usize) -> Result<()> {
    if value > max {
        return Err(Error::Model {
            operation: "load",
            reason: format!("{what} {value} is past the limit {max}"),
            cause: None,
        });
    }
    Ok(())
}
