//! Adam (Kingma & Ba) with global-norm gradient clipping.

use super::Param;

/// The optimiser's settings and step count.
#[derive(Debug, Clone)]
pub(crate) struct Adam {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    /// Gradients are scaled down so their global L2 norm is at most this.
    pub clip: f64,
    t: i32,
}

impl Adam {
    pub fn new(lr: f64) -> Self {
        Adam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            clip: 5.0,
            t: 0,
        }
    }

    /// Applies the accumulated gradients and zeroes them.
    pub fn step(&mut self, params: &mut [&mut Param]) {
        self.t += 1;
        let norm = params
            .iter()
            .map(|p| p.g.iter().map(|g| g * g).sum::<f64>())
            .sum::<f64>()
            .sqrt();
        let scale = if norm > self.clip { self.clip / norm } else { 1.0 };
        let (b1, b2) = (self.beta1, self.beta2);
        let c1 = 1.0 - b1.powi(self.t);
        let c2 = 1.0 - b2.powi(self.t);
        for p in params.iter_mut() {
            p.ready();
            let Param { w, g, m, v } = &mut **p;
            ndarray::Zip::from(w)
                .and(&mut *g)
                .and(m)
                .and(v)
                .for_each(|w, g, m, v| {
                    let g1 = *g * scale;
                    *m = b1 * *m + (1.0 - b1) * g1;
                    *v = b2 * *v + (1.0 - b2) * g1 * g1;
                    *w -= self.lr * (*m / c1) / ((*v / c2).sqrt() + self.eps);
                    *g = 0.0;
                });
        }
    }
}
