//! A fully connected layer `y = x·W + b` and the activations used after it.

use ndarray::{Array2, ArrayView2, Axis};
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

use super::Param;

/// An activation applied element-wise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Act {
    Identity,
    Tanh,
    Relu,
}

impl Act {
    /// Applies in place.
    pub fn apply(self, y: &mut Array2<f64>) {
        match self {
            Act::Identity => {}
            Act::Tanh => y.mapv_inplace(f64::tanh),
            Act::Relu => y.mapv_inplace(|v| v.max(0.0)),
        }
    }

    /// The gradient before the activation, from its output `y` and the gradient after it.
    pub fn backward(self, y: &Array2<f64>, gy: &mut Array2<f64>) {
        match self {
            Act::Identity => {}
            Act::Tanh => ndarray::Zip::from(gy).and(y).for_each(|g, &y| *g *= 1.0 - y * y),
            Act::Relu => ndarray::Zip::from(gy).and(y).for_each(|g, &y| {
                if y <= 0.0 {
                    *g = 0.0;
                }
            }),
        }
    }
}

/// `y = act(x·W + b)`, `W` of shape `inputs × outputs`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Dense {
    pub w: Param,
    pub b: Param,
    pub act: Act,
}

impl Dense {
    pub fn new(inputs: usize, outputs: usize, act: Act, rng: &mut Xoshiro256PlusPlus) -> Self {
        Dense {
            w: Param::glorot(inputs, outputs, inputs, outputs, rng),
            b: Param::bias(outputs, 0.0),
            act,
        }
    }

    pub fn inputs(&self) -> usize {
        self.w.w.nrows()
    }

    pub fn outputs(&self) -> usize {
        self.w.w.ncols()
    }

    /// The output for a batch (`batch × inputs`).
    pub fn forward(&self, x: ArrayView2<f64>) -> Array2<f64> {
        let mut y = x.dot(&self.w.w) + &self.b.w;
        self.act.apply(&mut y);
        y
    }

    /// Accumulates the parameter gradients from the input `x`, the output `y` and the gradient `gy` of the
    /// loss with respect to `y`; returns the gradient with respect to `x`.
    pub fn backward(&mut self, x: ArrayView2<f64>, y: &Array2<f64>, mut gy: Array2<f64>) -> Array2<f64> {
        self.act.backward(y, &mut gy);
        self.w.ready();
        self.b.ready();
        self.w.g += &x.t().dot(&gy);
        self.b.g += &gy.sum_axis(Axis(0)).insert_axis(Axis(0));
        gy.dot(&self.w.w.t())
    }

    pub fn params(&mut self) -> [&mut Param; 2] {
        [&mut self.w, &mut self.b]
    }
}
