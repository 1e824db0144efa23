//! A fitted [`Subspace`](super::Subspace): the PCA, the training levels of T² and Q, and the streaming state.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2};
use serde::{Deserialize, Serialize};

use super::Subspace;
use crate::alarm::level_and_scatter;
use crate::settle::{Latch, Settle};
use crate::{FeatureState, FeatureWindow, FittedDetector, Result, Role, input};

/// What a fit hands over to [`FittedSubspace::new`].
pub(super) struct Parts {
    pub features: FeatureWindow,
    pub n_features: usize,
    pub roles: Vec<Role>,
    pub center: Vec<f64>,
    pub scale: Vec<f64>,
    pub offset: Vec<f64>,
    pub components: Array2<f64>,
    pub variances: Vec<f64>,
    pub params: Subspace,
}

/// A fitted [`Subspace`](super::Subspace): each taken sensor's level and scatter, the principal components
/// and their variances, the training level and scatter of T² and of Q, and the streaming state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedSubspace {
    features: FeatureWindow,
    state: FeatureState,
    n_features: usize,
    /// The columns taken are those with [`Role::Level`], in order.
    roles: Vec<Role>,
    center: Vec<f64>,
    scale: Vec<f64>,
    /// The mean of the training rows' standardised means.
    offset: Vec<f64>,
    /// One column per kept component, one row per taken sensor.
    components: Array2<f64>,
    variances: Vec<f64>,
    /// Training level and scatter of T², then of Q.
    t2: (f64, f64),
    q: (f64, f64),
    on: f64,
    release: f64,
    threshold: f64,
    #[serde(default)]
    settle: Option<Settle>,
    #[serde(flatten)]
    latch: Latch,
}

impl FittedSubspace {
    pub(super) fn new(p: Parts) -> Self {
        FittedSubspace {
            state: p.features.state(p.n_features),
            features: p.features,
            n_features: p.n_features,
            roles: p.roles,
            center: p.center,
            scale: p.scale,
            offset: p.offset,
            components: p.components,
            variances: p.variances,
            t2: (0.0, 1.0),
            q: (0.0, 1.0),
            on: p.params.z,
            release: p.params.release,
            threshold: p.params.z,
            settle: p.params.settle,
            latch: Latch::default(),
        }
    }

    /// Sets the training levels and scatters of T² and Q from the training rows' standardised means.
    pub(super) fn calibrate(&mut self, z: &Array2<f64>) {
        let (t2, q): (Vec<f64>, Vec<f64>) = z.outer_iter().map(|r| self.statistics(&r.to_vec())).unzip();
        self.t2 = level_and_scatter(&t2);
        self.q = level_and_scatter(&q);
    }

    /// The taken sensors' standardised means, centred on the training rows' mean.
    fn centred(&self, means: &[f64]) -> Vec<f64> {
        let taken = (0..self.roles.len()).filter(|j| self.roles[*j] == Role::Level);
        taken
            .zip(&self.offset)
            .map(|(j, o)| (means[j] - self.center[j]) / self.scale[j] - o)
            .collect()
    }

    /// T² and Q of centred standardised means `z`.
    fn statistics(&self, z: &[f64]) -> (f64, f64) {
        let z: Vec<f64> = z.iter().zip(&self.offset).map(|(v, o)| v - o).collect();
        self.statistics_centred(&z)
    }

    fn statistics_centred(&self, z: &[f64]) -> (f64, f64) {
        let scores: Vec<f64> = self
            .components
            .columns()
            .into_iter()
            .map(|c| c.iter().zip(z).map(|(a, b)| a * b).sum())
            .collect();
        let t2 = scores.iter().zip(&self.variances).map(|(t, v)| t * t / v).sum();
        let q = z
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let back: f64 = scores
                    .iter()
                    .enumerate()
                    .map(|(c, t)| self.components[[i, c]] * t)
                    .sum();
                (v - back) * (v - back)
            })
            .sum();
        (t2, q)
    }

    /// The larger of T² and Q for one row's means, each in training scatters above its training level.
    fn raw(&self, means: ArrayView1<f64>) -> f64 {
        let z = self.centred(&means.to_vec());
        let (t2, q) = self.statistics_centred(&z);
        ((t2 - self.t2.0) / self.t2.1)
            .max((q - self.q.0) / self.q.1)
            .max(0.0)
    }

    /// Checks a loaded model's internal consistency.
    pub(crate) fn check(&self) -> Result<()> {
        let taken = crate::alarm::Loaded {
            what: "subspace",
            n_features: self.n_features,
            roles: &self.roles,
            center: &self.center,
            scale: &self.scale,
            most: super::MAX_SUBSPACE,
            on: self.on,
            release: self.release,
            threshold: self.threshold,
            settle: self.settle.as_ref(),
            state: &self.state,
            features: &self.features,
        }
        .check()?;
        let bad = |reason: &str| crate::alarm::damaged("subspace", reason);
        let (rows, kept) = self.components.dim();
        if self.offset.len() != taken
            || rows != taken
            || kept == 0
            || kept > taken
            || self.variances.len() != kept
        {
            return Err(bad(
                "one mean and one component row per taken column, one variance per component",
            ));
        }
        let positive = |s: f64| s.is_finite() && s > 0.0;
        let finite = self
            .offset
            .iter()
            .chain(self.components.iter())
            .all(|v| v.is_finite())
            && self.variances.iter().all(|s| positive(*s))
            && self.t2.0.is_finite()
            && positive(self.t2.1)
            && self.q.0.is_finite()
            && positive(self.q.1);
        if !finite {
            return Err(bad(
                "means, components, variances and scatters must be finite, scatters above 0",
            ));
        }
        Ok(())
    }
}

impl FittedDetector for FittedSubspace {
    fn name(&self) -> &str {
        "subspace"
    }

    fn n_features(&self) -> usize {
        self.n_features
    }

    fn threshold(&self) -> f64 {
        self.threshold
    }

    fn set_threshold(&mut self, threshold: f64) {
        self.threshold = threshold;
    }

    fn score(&self, x: ArrayView2<f64>) -> Result<Array1<f64>> {
        input::check("rows to score", x, self.n_features)?;
        let means = self.features.transform(x)?;
        let mut latch = Latch::default();
        Ok(means
            .outer_iter()
            .map(|m| latch.step(self.raw(m), self.on, self.release, self.settle.as_ref()))
            .collect())
    }

    fn update(&mut self, row: ArrayView1<f64>) -> Result<f64> {
        let means = self.state.push(row)?;
        let raw = self.raw(means.view());
        Ok(self.latch.step(raw, self.on, self.release, self.settle.as_ref()))
    }

    fn reset(&mut self) {
        self.state.reset();
        self.latch = Latch::default();
    }

    /// Reconstruction-based contributions (Alcala and Qin, 2009) to T² and to Q, each over its training
    /// scatter: for T² with `D = P Λ⁻¹ Pᵀ`, `(D z)_j² / D_jj`; for Q with `C = I − P Pᵀ`, `(C z)_j² / C_jj`.
    fn explain(&self, _row: ArrayView1<f64>) -> Option<Vec<f64>> {
        let means = self.state.current()?;
        let z = self.centred(&means);
        let d = z.len();
        let p = &self.components;
        let kept = p.ncols();
        let d_entry = |a: usize, b: usize| -> f64 {
            (0..kept).map(|c| p[[a, c]] * p[[b, c]] / self.variances[c]).sum()
        };
        let c_entry = |a: usize, b: usize| -> f64 {
            f64::from(u8::from(a == b)) - (0..kept).map(|c| p[[a, c]] * p[[b, c]]).sum::<f64>()
        };
        let rbc = |m: &dyn Fn(usize, usize) -> f64, j: usize| -> f64 {
            let mz: f64 = (0..d).map(|b| m(j, b) * z[b]).sum();
            let mjj = m(j, j);
            if mjj > 1e-12 { mz * mz / mjj } else { 0.0 }
        };
        let taken: Vec<usize> = (0..self.roles.len())
            .filter(|j| self.roles[*j] == Role::Level)
            .collect();
        let mut by_column = vec![0.0; self.n_features];
        for (k, &j) in taken.iter().enumerate() {
            by_column[j] = rbc(&d_entry, k) / self.t2.1 + rbc(&c_entry, k) / self.q.1;
        }
        crate::detector::shares(by_column)
    }
}
