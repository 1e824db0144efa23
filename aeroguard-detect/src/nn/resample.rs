//! Halving and doubling the time axis: average pooling by two, and nearest-neighbour upsampling by two.

use ndarray::{Array3, ArrayView3};

/// `batch × time × c` to `batch × time/2 × c`, each output the mean of two inputs (time must be even).
pub(crate) fn pool2(x: ArrayView3<f64>) -> Array3<f64> {
    let (b, t, c) = x.dim();
    Array3::from_shape_fn((b, t / 2, c), |(n, i, k)| {
        0.5 * (x[[n, 2 * i, k]] + x[[n, 2 * i + 1, k]])
    })
}

pub(crate) fn pool2_backward(gy: ArrayView3<f64>) -> Array3<f64> {
    let (b, t, c) = gy.dim();
    Array3::from_shape_fn((b, 2 * t, c), |(n, i, k)| 0.5 * gy[[n, i / 2, k]])
}

/// `batch × time × c` to `batch × 2·time × c`, each input repeated.
pub(crate) fn upsample2(x: ArrayView3<f64>) -> Array3<f64> {
    let (b, t, c) = x.dim();
    Array3::from_shape_fn((b, 2 * t, c), |(n, i, k)| x[[n, i / 2, k]])
}

pub(crate) fn upsample2_backward(gy: ArrayView3<f64>) -> Array3<f64> {
    let (b, t, c) = gy.dim();
    Array3::from_shape_fn((b, t / 2, c), |(n, i, k)| {
        gy[[n, 2 * i, k]] + gy[[n, 2 * i + 1, k]]
    })
}
