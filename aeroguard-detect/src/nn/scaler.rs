//! Standard scaling fitted on training rows only.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

/// `(x - mean) / std` per column; a constant column gets std 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Scaler {
    pub mean: Array1<f64>,
    pub std: Array1<f64>,
}

impl Scaler {
    pub fn fit(x: ArrayView2<f64>) -> Self {
        let mean = x.mean_axis(Axis(0)).unwrap_or_else(|| Array1::zeros(x.ncols()));
        let std = x.std_axis(Axis(0), 0.0).mapv(|s| if s > 1e-12 { s } else { 1.0 });
        Scaler { mean, std }
    }

    pub fn transform(&self, x: ArrayView2<f64>) -> Array2<f64> {
        (&x - &self.mean) / &self.std
    }

    pub fn transform_row(&self, r: ArrayView1<f64>) -> Array1<f64> {
        (&r - &self.mean) / &self.std
    }

    pub fn width(&self) -> usize {
        self.mean.len()
    }

    pub fn is_valid(&self) -> bool {
        self.mean.len() == self.std.len()
            && self.mean.iter().all(|v| v.is_finite())
            && self.std.iter().all(|v| v.is_finite() && *v > 0.0)
    }
}
