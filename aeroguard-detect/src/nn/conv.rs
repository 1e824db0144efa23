//! A 1-D convolution over time with "same" zero padding, by unfolding windows into columns (im2col) and one
//! matrix product: input `batch × time × in`, output `batch × time × out`.

use ndarray::{Array2, Array3, ArrayView3, Axis};
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

use super::{Act, Param};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Conv1d {
    /// Kernel width (odd).
    pub k: usize,
    /// `(k · in) × out`: row `j · in + c` weighs input channel `c` at offset `j - k/2`.
    pub w: Param,
    pub b: Param,
    pub act: Act,
}

impl Conv1d {
    pub fn new(inputs: usize, outputs: usize, k: usize, act: Act, rng: &mut Xoshiro256PlusPlus) -> Self {
        Conv1d {
            k,
            w: Param::glorot(k * inputs, outputs, k * inputs, outputs, rng),
            b: Param::bias(outputs, 0.0),
            act,
        }
    }

    pub fn inputs(&self) -> usize {
        self.w.w.nrows() / self.k.max(1)
    }

    pub fn outputs(&self) -> usize {
        self.w.w.ncols()
    }

    /// The unfolded input: row `n · time + t` holds the `k` input rows around `t`, zero beyond the edges.
    fn columns(&self, x: ArrayView3<f64>) -> Array2<f64> {
        let (batch, time, cin) = x.dim();
        let pad = (self.k - 1) / 2;
        let mut cols = Array2::zeros((batch * time, self.k * cin));
        for n in 0..batch {
            for t in 0..time {
                let mut row = cols.row_mut(n * time + t);
                for j in 0..self.k {
                    let Some(src) = (t + j).checked_sub(pad).filter(|&s| s < time) else {
                        continue;
                    };
                    for c in 0..cin {
                        row[j * cin + c] = x[[n, src, c]];
                    }
                }
            }
        }
        cols
    }

    pub fn forward(&self, x: ArrayView3<f64>) -> Array3<f64> {
        let (batch, time, _) = x.dim();
        let mut y = self.columns(x).dot(&self.w.w) + &self.b.w;
        self.act.apply(&mut y);
        y.into_shape_with_order((batch, time, self.outputs()))
            .unwrap_or_else(|_| Array3::zeros((batch, time, self.outputs())))
    }

    /// Accumulates the parameter gradients; returns the gradient with respect to `x`.
    pub fn backward(&mut self, x: ArrayView3<f64>, y: &Array3<f64>, gy: Array3<f64>) -> Array3<f64> {
        let (batch, time, cin) = x.dim();
        let out = self.outputs();
        let flat = |a: Array3<f64>| {
            a.into_shape_with_order((batch * time, out))
                .unwrap_or_else(|_| Array2::zeros((batch * time, out)))
        };
        let y2 = flat(y.clone());
        let mut g = flat(gy);
        self.act.backward(&y2, &mut g);
        let cols = self.columns(x);
        self.w.ready();
        self.b.ready();
        self.w.g += &cols.t().dot(&g);
        self.b.g += &g.sum_axis(Axis(0)).insert_axis(Axis(0));
        let gcols = g.dot(&self.w.w.t());
        let pad = (self.k - 1) / 2;
        let mut gx = Array3::zeros((batch, time, cin));
        for n in 0..batch {
            for t in 0..time {
                let row = gcols.row(n * time + t);
                for j in 0..self.k {
                    let Some(src) = (t + j).checked_sub(pad).filter(|&s| s < time) else {
                        continue;
                    };
                    for c in 0..cin {
                        gx[[n, src, c]] += row[j * cin + c];
                    }
                }
            }
        }
        gx
    }

    pub fn params(&mut self) -> [&mut Param; 2] {
        [&mut self.w, &mut self.b]
    }
}
