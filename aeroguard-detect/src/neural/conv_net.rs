//! The convolutional autoencoder's network: its layers, their forward and backward passes, and the batches of
//! windows it trains on.

use ndarray::{Array1, Array3, ArrayView2, ArrayView3};
use serde::{Deserialize, Serialize};

use super::window_row;
use crate::nn::resample::{pool2, pool2_backward, upsample2, upsample2_backward};
use crate::nn::train::Net;
use crate::nn::{Conv1d, Param};

/// conv → pool → conv (bottleneck) → upsample → conv → conv (linear, back to the input width).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Layers {
    pub encode: Conv1d,
    pub squeeze: Conv1d,
    pub expand: Conv1d,
    pub decode: Conv1d,
}

pub(super) struct Acts {
    pub a1: Array3<f64>,
    pub p1: Array3<f64>,
    pub a2: Array3<f64>,
    pub u2: Array3<f64>,
    pub a3: Array3<f64>,
    pub out: Array3<f64>,
}

impl Layers {
    pub(super) fn forward(&self, x: ArrayView3<f64>) -> Acts {
        let a1 = self.encode.forward(x);
        let p1 = pool2(a1.view());
        let a2 = self.squeeze.forward(p1.view());
        let u2 = upsample2(a2.view());
        let a3 = self.expand.forward(u2.view());
        let out = self.decode.forward(a3.view());
        Acts {
            a1,
            p1,
            a2,
            u2,
            a3,
            out,
        }
    }

    fn backward(&mut self, x: ArrayView3<f64>, a: &Acts, g: Array3<f64>) {
        let g = self.decode.backward(a.a3.view(), &a.out, g);
        let g = self.expand.backward(a.u2.view(), &a.a3, g);
        let g = upsample2_backward(g.view());
        let g = self.squeeze.backward(a.p1.view(), &a.a2, g);
        let g = pool2_backward(g.view());
        self.encode.backward(x, &a.a1, g);
    }
}

/// Windows ending at `ends`, `ends × window × width`.
pub(super) fn gather(x: ArrayView2<f64>, ends: &[usize], window: usize) -> Array3<f64> {
    let d = x.ncols();
    let mut out = Array3::zeros((ends.len(), window, d));
    for (i, &end) in ends.iter().enumerate() {
        for t in 0..window {
            let row = window_row(x, end, window, t);
            for c in 0..d {
                out[[i, t, c]] = row[c];
            }
        }
    }
    out
}

/// `mean((out - x)²)` over every element, and its gradient with respect to `out`.
pub(super) fn mse3(out: &Array3<f64>, x: &Array3<f64>) -> (f64, Array3<f64>) {
    let diff = out - x;
    let n = diff.len().max(1) as f64;
    (diff.iter().map(|d| d * d).sum::<f64>() / n, diff * (2.0 / n))
}

/// Mean squared error of each window.
pub(super) fn window_mse(out: &Array3<f64>, x: &Array3<f64>) -> Array1<f64> {
    let (b, t, c) = x.dim();
    let n = (t * c).max(1) as f64;
    Array1::from_shape_fn(b, |i| {
        let mut s = 0.0;
        for j in 0..t {
            for k in 0..c {
                let d = out[[i, j, k]] - x[[i, j, k]];
                s += d * d;
            }
        }
        s / n
    })
}

pub(super) struct Data {
    pub x: ndarray::Array2<f64>,
    pub window: usize,
}

impl Net for Layers {
    type Data = Data;

    fn train_batch(&mut self, data: &Data, samples: &[usize]) -> f64 {
        let x = gather(data.x.view(), samples, data.window);
        let acts = self.forward(x.view());
        let (loss, g) = mse3(&acts.out, &x);
        self.backward(x.view(), &acts, g);
        loss
    }

    fn eval(&self, data: &Data, samples: &[usize]) -> f64 {
        let x = gather(data.x.view(), samples, data.window);
        mse3(&self.forward(x.view()).out, &x).0
    }

    fn params(&mut self) -> Vec<&mut Param> {
        let Layers {
            encode,
            squeeze,
            expand,
            decode,
        } = self;
        let mut out = Vec::with_capacity(8);
        for l in [encode, squeeze, expand, decode] {
            out.extend(l.params());
        }
        out
    }
}
