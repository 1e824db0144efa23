//! A long short-term memory layer (Hochreiter & Schmidhuber, with forget gate), stepped one time step at a
//! time so a stream carries its state, and back-propagated through time over a sequence.

use ndarray::{Array2, ArrayView2, Axis, Slice, concatenate};
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

use super::Param;

/// Gates `z = x·W + h·U + b`, split as input, forget, cell, output (`4·hidden` columns).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Lstm {
    pub w: Param,
    pub u: Param,
    pub b: Param,
}

/// What one step keeps for the backward pass.
#[derive(Debug, Clone)]
pub(crate) struct StepCache {
    x: Array2<f64>,
    h_prev: Array2<f64>,
    c_prev: Array2<f64>,
    i: Array2<f64>,
    f: Array2<f64>,
    g: Array2<f64>,
    o: Array2<f64>,
    tanh_c: Array2<f64>,
}

fn sigmoid(v: f64) -> f64 {
    1.0 / (1.0 + (-v).exp())
}

impl Lstm {
    pub fn new(inputs: usize, hidden: usize, rng: &mut Xoshiro256PlusPlus) -> Self {
        let mut b = Param::bias(4 * hidden, 0.0);
        // Forget gate open at the start (Jozefowicz et al.), so gradients flow through time.
        b.w.slice_axis_mut(Axis(1), Slice::from(hidden..2 * hidden))
            .fill(1.0);
        Lstm {
            w: Param::glorot(inputs, 4 * hidden, inputs, hidden, rng),
            u: Param::glorot(hidden, 4 * hidden, hidden, hidden, rng),
            b,
        }
    }

    pub fn inputs(&self) -> usize {
        self.w.w.nrows()
    }

    pub fn hidden(&self) -> usize {
        self.u.w.nrows()
    }

    /// One step for a batch: the new `(h, c)` and the cache for the backward pass.
    pub fn step(
        &self,
        x: ArrayView2<f64>,
        h: ArrayView2<f64>,
        c: ArrayView2<f64>,
    ) -> (Array2<f64>, Array2<f64>, StepCache) {
        let hn = self.hidden();
        let z = x.dot(&self.w.w) + h.dot(&self.u.w) + &self.b.w;
        let part = |k: usize| {
            z.slice_axis(Axis(1), Slice::from(k * hn..(k + 1) * hn))
                .to_owned()
        };
        let i = part(0).mapv(sigmoid);
        let f = part(1).mapv(sigmoid);
        let g = part(2).mapv(f64::tanh);
        let o = part(3).mapv(sigmoid);
        let c_new = &f * &c + &i * &g;
        let tanh_c = c_new.mapv(f64::tanh);
        let h_new = &o * &tanh_c;
        let cache = StepCache {
            x: x.to_owned(),
            h_prev: h.to_owned(),
            c_prev: c.to_owned(),
            i,
            f,
            g,
            o,
            tanh_c,
        };
        (h_new, c_new, cache)
    }

    /// Back-propagation through time: `dhs[t]` is the loss gradient with respect to the output `h` of step
    /// `t`. Accumulates the parameter gradients; returns the gradients with respect to each input.
    pub fn backward(&mut self, caches: &[StepCache], dhs: &[Array2<f64>]) -> Vec<Array2<f64>> {
        self.w.ready();
        self.u.ready();
        self.b.ready();
        let Some(first) = caches.first() else {
            return Vec::new();
        };
        let mut dh_next = Array2::zeros(first.h_prev.raw_dim());
        let mut dc_next = Array2::zeros(first.c_prev.raw_dim());
        let mut dxs = vec![Array2::zeros((0, 0)); caches.len()];
        for (t, s) in caches.iter().enumerate().rev() {
            let dh = &dhs[t] + &dh_next;
            let d_o = &dh * &s.tanh_c * &s.o.mapv(|o| o * (1.0 - o));
            let dc = &dh * &s.o * &s.tanh_c.mapv(|v| 1.0 - v * v) + &dc_next;
            let di = &dc * &s.g * &s.i.mapv(|v| v * (1.0 - v));
            let df = &dc * &s.c_prev * &s.f.mapv(|v| v * (1.0 - v));
            let dg = &dc * &s.i * &s.g.mapv(|v| 1.0 - v * v);
            let dz = concatenate(Axis(1), &[di.view(), df.view(), dg.view(), d_o.view()])
                .unwrap_or_else(|_| Array2::zeros((dh.nrows(), 4 * dh.ncols())));
            self.w.g += &s.x.t().dot(&dz);
            self.u.g += &s.h_prev.t().dot(&dz);
            self.b.g += &dz.sum_axis(Axis(0)).insert_axis(Axis(0));
            dxs[t] = dz.dot(&self.w.w.t());
            dh_next = dz.dot(&self.u.w.t());
            dc_next = &dc * &s.f;
        }
        dxs
    }

    pub fn params(&mut self) -> [&mut Param; 3] {
        [&mut self.w, &mut self.u, &mut self.b]
    }
}
