//! A trainable matrix with its gradient and Adam moments.

use ndarray::Array2;
use rand::Rng;
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

/// A parameter matrix. Only the value is saved; gradient and moments are rebuilt when training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Param {
    /// The value.
    pub w: Array2<f64>,
    /// The accumulated gradient.
    #[serde(skip)]
    pub g: Array2<f64>,
    #[serde(skip)]
    pub m: Array2<f64>,
    #[serde(skip)]
    pub v: Array2<f64>,
}

impl Param {
    /// A parameter holding `w`, with zero gradient.
    pub fn new(w: Array2<f64>) -> Self {
        let zeros = Array2::zeros(w.raw_dim());
        Param {
            g: zeros.clone(),
            m: zeros.clone(),
            v: zeros,
            w,
        }
    }

    /// Glorot-uniform initialisation of a `fan_in × fan_out` matrix.
    pub fn glorot(
        rows: usize,
        cols: usize,
        fan_in: usize,
        fan_out: usize,
        rng: &mut Xoshiro256PlusPlus,
    ) -> Self {
        let limit = (6.0 / (fan_in + fan_out) as f64).sqrt();
        Param::new(Array2::from_shape_fn((rows, cols), |_| {
            rng.gen_range(-limit..limit)
        }))
    }

    /// A `1 × n` bias filled with `value`.
    pub fn bias(n: usize, value: f64) -> Self {
        Param::new(Array2::from_elem((1, n), value))
    }

    /// Makes sure gradient and moments have the value's shape (after loading).
    pub fn ready(&mut self) {
        if self.g.raw_dim() != self.w.raw_dim() {
            self.g = Array2::zeros(self.w.raw_dim());
        }
        if self.m.raw_dim() != self.w.raw_dim() {
            self.m = Array2::zeros(self.w.raw_dim());
            self.v = Array2::zeros(self.w.raw_dim());
        }
    }

    /// Whether every value is finite.
    pub fn is_finite(&self) -> bool {
        self.w.iter().all(|v| v.is_finite())
    }
}
