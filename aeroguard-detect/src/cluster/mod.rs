//! Clustering profile detector on `linfa-clustering`: a profile of normal behaviour, and the distance from it.

use std::collections::BTreeMap;

use linfa::{DatasetBase, prelude::Transformer, traits::Fit};
use linfa_clustering::{Dbscan, KMeans};
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256Plus;
use serde::{Deserialize, Serialize};

use crate::limits;
use crate::{Calibration, Detector, Error, FittedDetector, Result, input};

/// How the normal profile is learned.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "algorithm", rename_all = "snake_case")]
pub enum Algorithm {
    /// k-means: the profile is `k` centroids; score = distance to the nearest (in standardised units).
    KMeans {
        /// Number of clusters.
        k: usize,
    },
    /// DBSCAN: the profile is every training row DBSCAN puts in a cluster; score = distance to the nearest
    /// of them in units of `eps`, so a score above 1 is DBSCAN's noise.
    Dbscan {
        /// Neighbourhood radius, in standardised units.
        eps: f64,
        /// Rows within `eps` to make a core point.
        min_points: usize,
    },
}

/// Parameters of a [`ClusterProfile`] detector.
///
/// Columns are standardised with the training mean and standard deviation; with `whiten` they are also
/// decorrelated (multiplied by the inverse Cholesky factor of their correlation matrix, with a small ridge), so
/// that with one cluster the score is the Mahalanobis distance (the square root of Hotelling's T²). With `adapt` set, streaming
/// updates move the nearest k-means centroid towards each row judged normal (online k-means with that
/// learning rate), so the profile follows slow drift; [`FittedClusterProfile::refit`] relearns it from
/// recent normal rows.
///
/// ```
/// use aeroguard_detect::{Algorithm, ClusterProfile, Detector, FittedDetector};
/// use ndarray::{Array2, array};
/// // Two operating points.
/// let normal = Array2::from_shape_fn((200, 2), |(i, j)| (i % 2) as f64 * 10.0 + ((i * 7 + j) % 5) as f64 * 0.1);
/// let model = ClusterProfile::builder().algorithm(Algorithm::KMeans { k: 2 }).build()?.fit(normal.view())?;
/// let s = model.score(array![[0.2, 0.2], [10.2, 10.3], [5.0, 5.0]].view())?;
/// assert!(s[0] <= model.threshold() && s[1] <= model.threshold() && s[2] > model.threshold());
/// # Ok::<(), aeroguard_detect::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterProfile {
    algorithm: Algorithm,
    seed: u64,
    calibration: Calibration,
    adapt: Option<f64>,
    #[serde(default)]
    whiten: bool,
}

/// Builds [`ClusterProfile`] parameters.
#[derive(Debug, Clone)]
pub struct ClusterProfileBuilder(ClusterProfile);

impl ClusterProfile {
    /// The clustering algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// How the threshold is set.
    pub fn calibration(&self) -> Calibration {
        self.calibration
    }

    /// The online adaptation rate, if any.
    pub fn adapt(&self) -> Option<f64> {
        self.adapt
    }

    /// Whether columns are decorrelated.
    pub fn whiten(&self) -> bool {
        self.whiten
    }

    /// k-means with k = 3, seed 0, threshold at the 0.99 quantile of training distances, no adaptation.
    pub fn builder() -> ClusterProfileBuilder {
        ClusterProfileBuilder(ClusterProfile {
            algorithm: Algorithm::KMeans { k: 3 },
            seed: 0,
            calibration: Calibration::Quantile(0.99),
            adapt: None,
            whiten: false,
        })
    }

    /// Fits one profile per named series (or service).
    pub fn fit_each<'a>(
        &self,
        series: impl IntoIterator<Item = (String, ArrayView2<'a, f64>)>,
    ) -> Result<BTreeMap<String, FittedClusterProfile>> {
        series
            .into_iter()
            .map(|(name, x)| Ok((name, self.fit(x)?)))
            .collect()
    }
}

impl ClusterProfileBuilder {
    /// k-means or DBSCAN.
    pub fn algorithm(mut self, a: Algorithm) -> Self {
        self.0.algorithm = a;
        self
    }
    /// Seed of k-means' initialisation.
    pub fn seed(mut self, seed: u64) -> Self {
        self.0.seed = seed;
        self
    }
    /// Threshold from training distances (DBSCAN's natural threshold is `Fixed(1.0)`).
    pub fn calibration(mut self, c: Calibration) -> Self {
        self.0.calibration = c;
        self
    }
    /// Learning rate in (0, 1] for online centroid updates on normal rows; `None` keeps the profile fixed.
    pub fn adapt(mut self, rate: Option<f64>) -> Self {
        self.0.adapt = rate;
        self
    }
    /// Decorrelate the columns as well as standardise them (Mahalanobis distances).
    pub fn whiten(mut self, on: bool) -> Self {
        self.0.whiten = on;
        self
    }
    /// Validates the parameters.
    pub fn build(self) -> Result<ClusterProfile> {
        let p = self.0;
        match p.algorithm {
            Algorithm::KMeans { k: 0 } => return Err(Error::parameter("k", 0, "at least 1 cluster")),
            Algorithm::Dbscan { eps, .. } if !(eps.is_finite() && eps > 0.0) => {
                return Err(Error::parameter("eps", eps, "finite and above 0"));
            }
            Algorithm::Dbscan { min_points: 0, .. } => {
                return Err(Error::parameter("min_points", 0, "at least 1"));
            }
            Algorithm::KMeans { k } => limits::at_most("k", k, limits::MAX_CLUSTERS)?,
            Algorithm::Dbscan { min_points, .. } => {
                limits::at_most("min_points", min_points, limits::MAX_WINDOW)?
            }
        }
        if let Some(r) = p.adapt
            && !(r > 0.0 && r <= 1.0)
        {
            return Err(Error::parameter("adapt", r, "a learning rate lies in (0, 1]"));
        }
        p.calibration.validate()?;
        Ok(p)
    }
}

/// A learned normal profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedClusterProfile {
    params: ClusterProfile,
    mean: Array1<f64>,
    scale: Array1<f64>,
    /// Inverse Cholesky factor of the training correlation matrix, when whitening.
    whitener: Option<Array2<f64>>,
    /// k-means centroids, or DBSCAN's clustered training rows (standardised).
    profile: Array2<f64>,
    /// Distance unit: 1 for k-means, `eps` for DBSCAN.
    unit: f64,
    threshold: f64,
}

impl Detector for ClusterProfile {
    type Fitted = FittedClusterProfile;

    fn fit(&self, x: ArrayView2<f64>) -> Result<FittedClusterProfile> {
        let p = ClusterProfileBuilder(self.clone()).build()?;
        let needed = match p.algorithm {
            Algorithm::KMeans { k } => k.max(2),
            Algorithm::Dbscan { min_points, .. } => min_points.max(2),
        };
        input::training("cluster profile", x, needed)?;
        let mean = x.mean_axis(Axis(0)).ok_or(Error::NotEnoughRows {
            what: "cluster profile",
            needed,
            got: 0,
        })?;
        let scale = x.std_axis(Axis(0), 0.0).mapv(|s| if s > 1e-12 { s } else { 1.0 });
        let mut z = (&x - &mean) / &scale;
        let whitener = if p.whiten {
            Some(inverse_cholesky(&z)?)
        } else {
            None
        };
        if let Some(w) = &whitener {
            z = z.dot(&w.t());
        }
        let (profile, unit) = learn(&p, z)?;
        let mut model = FittedClusterProfile {
            params: p,
            mean,
            scale,
            whitener,
            profile,
            unit,
            threshold: 0.0,
        };
        let train = model.score(x)?;
        model.threshold = model.params.calibration.threshold(&train.to_vec())?;
        Ok(model)
    }
}

/// `L⁻¹` where `L Lᵀ` is the correlation matrix of standardised rows plus a ridge of 1e-3.
fn inverse_cholesky(z: &Array2<f64>) -> Result<Array2<f64>> {
    let d = z.ncols();
    let mut c = z.t().dot(z) / z.nrows() as f64;
    for i in 0..d {
        c[[i, i]] += 1e-3;
    }
    let mut l = Array2::<f64>::zeros((d, d));
    for i in 0..d {
        for j in 0..=i {
            let s = c[[i, j]] - (0..j).map(|k| l[[i, k]] * l[[j, k]]).sum::<f64>();
            if i == j {
                if s.is_nan() || s <= 0.0 {
                    return Err(Error::Fit {
                        what: "cluster profile",
                        reason: "correlation matrix is not positive definite".into(),
                        cause: None,
                    });
                }
                l[[i, i]] = s.sqrt();
            } else {
                l[[i, j]] = s / l[[j, j]];
            }
        }
    }
    // Forward substitution, column by column of the identity.
    let mut inv = Array2::<f64>::zeros((d, d));
    for col in 0..d {
        for i in col..d {
            let rhs = if i == col { 1.0 } else { 0.0 };
            let s = rhs - (col..i).map(|k| l[[i, k]] * inv[[k, col]]).sum::<f64>();
            inv[[i, col]] = s / l[[i, i]];
        }
    }
    Ok(inv)
}

fn learn(p: &ClusterProfile, z: Array2<f64>) -> Result<(Array2<f64>, f64)> {
    let fail = |reason: String| Error::Fit {
        what: "cluster profile",
        reason,
        cause: None,
    };
    match p.algorithm {
        Algorithm::KMeans { k } => {
            let model = KMeans::params_with_rng(k, Xoshiro256Plus::seed_from_u64(p.seed))
                .n_runs(3)
                .max_n_iterations(200)
                .tolerance(1e-6)
                .fit(&DatasetBase::from(z))
                .map_err(|e| fail(e.to_string()))?;
            Ok((model.centroids().clone(), 1.0))
        }
        Algorithm::Dbscan { eps, min_points } => {
            let labels = Dbscan::params(min_points)
                .tolerance(eps)
                .transform(&z)
                .map_err(|e| fail(e.to_string()))?;
            let keep: Vec<usize> = labels
                .iter()
                .enumerate()
                .filter_map(|(i, l)| l.map(|_| i))
                .collect();
            if keep.is_empty() {
                return Err(fail(format!(
                    "DBSCAN put every training row in noise: raise `eps` ({eps}) or lower `min_points` ({min_points})"
                )));
            }
            Ok((z.select(Axis(0), &keep), eps))
        }
    }
}

impl FittedClusterProfile {
    fn nearest(&self, z: &[f64]) -> (usize, f64) {
        let mut best = (0, f64::INFINITY);
        for (i, c) in self.profile.outer_iter().enumerate() {
            let d: f64 = c.iter().zip(z).map(|(a, b)| (a - b) * (a - b)).sum();
            if d < best.1 {
                best = (i, d);
            }
        }
        (best.0, best.1.sqrt() / self.unit)
    }

    fn standardise(&self, row: ArrayView1<f64>) -> Vec<f64> {
        let z: Vec<f64> = row
            .iter()
            .zip(&self.mean)
            .zip(&self.scale)
            .map(|((v, m), s)| (v - m) / s)
            .collect();
        match &self.whitener {
            None => z,
            Some(w) => w
                .outer_iter()
                .map(|r| r.iter().zip(&z).map(|(a, b)| a * b).sum())
                .collect(),
        }
    }

    /// Relearns the profile from recent normal rows, keeping the parameters, and recalibrates the threshold.
    pub fn refit(&mut self, x: ArrayView2<f64>) -> Result<()> {
        input::check("rows to refit on", x, self.mean.len())?;
        *self = self.params.fit(x)?;
        Ok(())
    }

    /// Checks a loaded model's shapes.
    pub(crate) fn check(&self) -> Result<()> {
        let d = self.mean.len();
        let square = self.whitener.as_ref().is_none_or(|w| w.dim() == (d, d));
        if d == 0
            || self.scale.len() != d
            || self.profile.ncols() != d
            || self.profile.nrows() == 0
            || !square
        {
            return Err(Error::Model {
                operation: "load",
                reason: "cluster profile: inconsistent shapes".into(),
                cause: None,
            });
        }
        ClusterProfileBuilder(self.params.clone()).build().map(|_| ())
    }

    /// The profile: k-means centroids or DBSCAN's clustered rows, in standardised units.
    pub fn profile(&self) -> &Array2<f64> {
        &self.profile
    }
}

impl FittedDetector for FittedClusterProfile {
    fn name(&self) -> &str {
        match self.params.algorithm {
            Algorithm::KMeans { .. } => "kmeans",
            Algorithm::Dbscan { .. } => "dbscan",
        }
    }
    fn n_features(&self) -> usize {
        self.mean.len()
    }
    fn threshold(&self) -> f64 {
        self.threshold
    }
    fn set_threshold(&mut self, threshold: f64) {
        self.threshold = threshold;
    }
    fn score(&self, x: ArrayView2<f64>) -> Result<Array1<f64>> {
        input::check("rows to score", x, self.mean.len())?;
        Ok(x.outer_iter()
            .map(|r| self.nearest(&self.standardise(r)).1)
            .collect())
    }
    fn update(&mut self, row: ArrayView1<f64>) -> Result<f64> {
        input::check_row("row to score", row, self.mean.len())?;
        let z = self.standardise(row);
        let (i, score) = self.nearest(&z);
        if let (Some(rate), Algorithm::KMeans { .. }) = (self.params.adapt, self.params.algorithm)
            && score <= self.threshold
        {
            for (c, v) in self.profile.row_mut(i).iter_mut().zip(&z) {
                *c += rate * (v - *c);
            }
        }
        Ok(score)
    }
    fn reset(&mut self) {}
    /// Reconstruction-based contributions to the distance from the profile (see `explain.rs`).
    fn explain(&self, row: ArrayView1<f64>) -> Option<Vec<f64>> {
        self.contributions(row)
    }
}

mod explain;
#[cfg(test)]
mod tests;
