//! Mean squared error: the reconstruction loss of the autoencoders and the prediction loss of the LSTM.

use ndarray::{Array1, Array2, ArrayView2, Axis};

/// The loss `mean((y - t)²)` over every element, and its gradient with respect to `y`.
pub(crate) fn mse(y: ArrayView2<f64>, t: ArrayView2<f64>) -> (f64, Array2<f64>) {
    let diff = &y - &t;
    let n = diff.len().max(1) as f64;
    let loss = diff.iter().map(|d| d * d).sum::<f64>() / n;
    (loss, diff * (2.0 / n))
}

/// The mean squared error of each row.
pub(crate) fn row_mse(y: ArrayView2<f64>, t: ArrayView2<f64>) -> Array1<f64> {
    let diff = &y - &t;
    diff.mapv(|d| d * d)
        .mean_axis(Axis(1))
        .unwrap_or_else(|| Array1::zeros(y.nrows()))
}
