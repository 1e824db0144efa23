//! What training a network will allocate, checked before anything is: each weight with its gradient and
//! Adam's two moments (four numbers), and the activations of the rows one pass holds at once (a batch, the
//! validation split, a chunk of rows being scored), forward and back. Each size is bounded on its own
//! ([`limits`](crate::limits)); this bounds their product.

use crate::{Error, Result, limits};

/// What one network needs: its weights, and the numbers one row (a window, a sequence) holds through the layers.
struct Budget {
    /// The network, as errors name it.
    what: &'static str,
    /// Its sizes, as errors name them (`window 1000 x 8 columns, hidden 4096`).
    sizes: String,
    /// Weights and biases.
    weights: u128,
    /// Numbers one row holds through the layers (inputs, activations, outputs).
    per_row: u128,
    /// Rows one pass holds at once.
    rows: u128,
}

impl Budget {
    /// Bytes training needs: four numbers per weight, and twice the activations (forward and back) of `rows`.
    fn bytes(&self) -> u128 {
        let numbers = self
            .weights
            .saturating_mul(4)
            .saturating_add(self.per_row.saturating_mul(self.rows).saturating_mul(2));
        numbers.saturating_mul(8)
    }

    /// Refuses a network past [`MAX_TRAINING_BYTES`](limits::MAX_TRAINING_BYTES), naming its sizes.
    fn check(&self) -> Result<()> {
        let bytes = self.bytes();
        if bytes <= limits::MAX_TRAINING_BYTES as u128 {
            return Ok(());
        }
        Err(Error::InvalidParameter {
            name: "network size",
            value: format!(
                "{} with {}: about {:.1} GiB to train (the limit is {} GiB)",
                self.what,
                self.sizes,
                bytes as f64 / f64::from(1u32 << 30),
                limits::MAX_TRAINING_BYTES >> 30
            ),
            reason: "past its limit (aeroguard_detect::limits::MAX_TRAINING_BYTES): fewer units, a shorter window \
                     or sequence, a smaller batch, or fewer rows",
        })
    }
}

/// Rows of one scoring or validation pass: the larger of a batch and all of `rows` (the validation split and
/// the calibration's scores see every training row).
fn rows_at_once(batch: usize, rows: usize) -> u128 {
    batch.max(rows) as u128
}

/// The dense autoencoder on `cols` columns and `rows` training rows: four dense layers over windows of
/// `window × cols` inputs.
pub(super) fn autoencoder(a: &super::Autoencoder, cols: usize, rows: usize) -> Result<()> {
    let (d, h, b) = (
        (a.window() * cols) as u128,
        a.hidden() as u128,
        a.bottleneck() as u128,
    );
    Budget {
        what: "autoencoder",
        sizes: format!(
            "window {} x {cols} columns, hidden {}, bottleneck {}",
            a.window(),
            a.hidden(),
            a.bottleneck()
        ),
        weights: 2 * d * h + 2 * h * b + 2 * h + b + d,
        per_row: 3 * d + 2 * h + b,
        rows: rows_at_once(a.training().batch, rows),
    }
    .check()
}

/// The convolutional autoencoder: four convolutions over windows of `window` rows (scored 256 windows at once).
pub(super) fn conv_autoencoder(a: &super::ConvAutoencoder, cols: usize, rows: usize) -> Result<()> {
    let (d, c, b, k, w) = (
        cols as u128,
        a.channels() as u128,
        a.bottleneck() as u128,
        a.kernel() as u128,
        a.window() as u128,
    );
    Budget {
        what: "conv autoencoder",
        sizes: format!(
            "window {} x {cols} columns, {} channels, bottleneck {}, kernel {}",
            a.window(),
            a.channels(),
            a.bottleneck(),
            a.kernel()
        ),
        weights: k * (2 * d * c + 2 * c * b) + 2 * c + b + d,
        per_row: w * (3 * d + 2 * c + b),
        rows: rows_at_once(a.training().batch, rows.min(256)),
    }
    .check()
}

/// The LSTM: back-propagation through time keeps every step's gates and states of each sequence.
pub(super) fn lstm(l: &super::Lstm, cols: usize, rows: usize) -> Result<()> {
    let (d, h, t) = (cols as u128, l.hidden() as u128, l.sequence() as u128);
    Budget {
        what: "LSTM",
        sizes: format!("{cols} columns, hidden {}, sequence {}", l.hidden(), l.sequence()),
        weights: 4 * h * (d + h) + 4 * h + h * d + d,
        per_row: t * (2 * d + 8 * h),
        rows: rows_at_once(l.training().batch, rows),
    }
    .check()
}

#[cfg(test)]
mod tests {
    use ndarray::Array2;
    use proptest::prelude::*;

    use crate::neural::{Autoencoder, ConvAutoencoder, Lstm, Training};
    use crate::{Detector, Error};

    fn rows(n: usize, cols: usize) -> Array2<f64> {
        Array2::from_shape_fn((n, cols), |(i, j)| ((i * 7 + j * 13) % 17) as f64)
    }

    #[test]
    fn each_network_past_the_budget_is_refused_before_its_rows_are_checked() {
        let x = rows(30, 64);
        let conv = ConvAutoencoder::builder()
            .window(10_000)
            .channels(4_096)
            .build()
            .unwrap()
            .fit(x.view());
        let lstm = Lstm::builder()
            .hidden(4_096)
            .sequence(10_000)
            .build()
            .unwrap()
            .fit(x.view());
        for e in [conv.map(|_| ()), lstm.map(|_| ())] {
            let e = e.unwrap_err();
            assert!(
                matches!(
                    e,
                    Error::InvalidParameter {
                        name: "network size",
                        ..
                    }
                ),
                "{e}"
            );
        }
    }

    #[test]
    fn the_network_that_once_asked_for_32_gib_is_refused_naming_its_sizes() {
        let x = rows(1_200, 8);
        let err = Autoencoder::builder()
            .window(1_000)
            .hidden(4_096)
            .build()
            .unwrap()
            .fit(x.view())
            .unwrap_err();
        let Error::InvalidParameter { name, value, reason } = &err else {
            panic!("{err}")
        };
        assert_eq!(*name, "network size");
        assert!(
            value.contains("window 1000 x 8 columns") && value.contains("GiB"),
            "{value}"
        );
        assert!(reason.contains("MAX_TRAINING_BYTES"), "{reason}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Sizes each within its own limit, together past the budget: refused at once, before any allocation
        /// (an allocation of many GiB would abort the test process).
        #[test]
        fn products_past_the_budget_are_refused_before_allocating(
            window in 1usize..=10_000,
            units in 1usize..=4_096,
            batch in 1usize..=(1 << 20),
            cols in 1usize..=64,
            which in 0usize..3,
        ) {
            let x = rows(64, cols);
            let training = Training { epochs: 1, batch, ..Training::default() };
            let result = match which {
                0 => Autoencoder::builder().window(window).hidden(units).bottleneck(units.min(4)).training(training)
                    .build().and_then(|m| m.fit(x.view())).map(|_| ()),
                1 => ConvAutoencoder::builder().window(window).channels(units).training(training)
                    .build().and_then(|m| m.fit(x.view())).map(|_| ()),
                _ => Lstm::builder().hidden(units).sequence(window.max(2)).warmup(0).training(training)
                    .build().and_then(|m| m.fit(x.view())).map(|_| ()),
            };
            // Most draws need far more rows than 64 or far more memory than the limit: either way an error,
            // never an abort. Those that fit train (one epoch) and succeed.
            if let Err(e) = result {
                let refused = matches!(e, Error::InvalidParameter { .. } | Error::NotEnoughRows { .. } | Error::Fit { .. });
                prop_assert!(refused, "{e}");
            }
        }
    }
}
