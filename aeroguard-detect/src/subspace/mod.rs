//! A principal-subspace detector: Hotelling's T² and the Q statistic (squared prediction error) of the
//! sensors' rolling means on a PCA of the training rows, the pair behind the T²+Q entry of the SKAB
//! leaderboard. T² grows when the sensors move together further than they did in training; Q when they stop
//! moving together the way they did.

use linfa_linalg::eigh::Eigh;
use ndarray::{Array1, Array2, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

use crate::alarm::{self, level_and_scatter};
use crate::settle::Settle;
use crate::{Detector, Error, Result, Role, input};

mod fitted;
#[cfg(test)]
mod tests;

pub use fitted::FittedSubspace;

/// Most sensors one subspace model takes (its eigen-decomposition grows with the cube).
pub const MAX_SUBSPACE: usize = 64;

/// Unfitted parameters of a subspace detector, validated by [`Subspace::builder`].
///
/// Each sensor's mean over the last `window` rows is standardised by its training level and scatter (median,
/// 1.4826 MAD); a PCA of the training rows keeps the components that explain `variance` of their variance
/// (at least one, and one fewer than the sensors, so Q has room). A row's score is the larger of its T² and
/// its Q, each in training scatters above its training level. Alarms start above `z`, hold down to
/// `z · release`, and settle after a fault as [`Settle`] says, as in [`Relations`](crate::Relations); slow
/// sensors are left out the same way.
///
/// ```
/// use aeroguard_detect::{Detector, FittedDetector, Subspace};
/// use ndarray::{Array2, array};
/// // Three sensors driven by one wandering state: they move together.
/// let x = Array2::from_shape_fn((400, 3), |(i, j)| {
///     let state = (i as f64 * 0.05).sin();
///     let noise = ((i * 7919 + j * 104_729) % 100) as f64 / 1000.0;
///     [1.0, 2.0, -1.0][j] * state + noise
/// });
/// let m = Subspace::builder().window(5).z(8.0).build()?.fit(x.view())?;
/// assert!(m.score(array![[0.55, 1.05, -0.45]].view())?[0] <= m.threshold(), "together: quiet");
/// assert!(m.score(array![[0.55, -0.95, -0.45]].view())?[0] > m.threshold(), "one breaks away");
/// # Ok::<(), aeroguard_detect::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subspace {
    window: usize,
    z: f64,
    release: f64,
    slow_below: Option<f64>,
    variance: f64,
    #[serde(default)]
    settle: Option<Settle>,
}

impl Default for Subspace {
    fn default() -> Self {
        Subspace {
            window: 15,
            z: 10.0,
            release: 0.6,
            slow_below: Some(0.3),
            variance: 0.9,
            settle: None,
        }
    }
}

/// Builds a [`Subspace`]; [`build`](SubspaceBuilder::build) checks every parameter.
#[derive(Debug, Clone)]
pub struct SubspaceBuilder(Subspace);

impl Subspace {
    /// Defaults: 15-row means, alarm above 10, released at 0.6 of that, sensors with `var(diff) / (2 var)`
    /// under 0.3 left out as slow, components that explain 90 % of the variance.
    pub fn builder() -> SubspaceBuilder {
        SubspaceBuilder(Subspace::default())
    }

    /// The score an alarm starts above.
    pub fn z(&self) -> f64 {
        self.z
    }

    /// The share of the training variance the kept components explain.
    pub fn variance(&self) -> f64 {
        self.variance
    }
}

impl SubspaceBuilder {
    /// Rows of the rolling mean (1 to [`limits::MAX_WINDOW`](crate::limits::MAX_WINDOW)).
    pub fn window(mut self, rows: usize) -> Self {
        self.0.window = rows;
        self
    }

    /// The score an alarm starts above (finite, above 0).
    pub fn z(mut self, z: f64) -> Self {
        self.0.z = z;
        self
    }

    /// The fraction of `z` an alarm holds down to (in `(0, 1]`).
    pub fn release(mut self, fraction: f64) -> Self {
        self.0.release = fraction;
        self
    }

    /// Leave out sensors slower than this (in `(0, 1]`); `None` takes every sensor.
    pub fn slow_below(mut self, ratio: Option<f64>) -> Self {
        self.0.slow_below = ratio;
        self
    }

    /// The share of the training variance the kept components explain (in `(0, 1)`).
    pub fn variance(mut self, share: f64) -> Self {
        self.0.variance = share;
        self
    }

    /// End an alarm under a fraction of its peak and hold off the next for a while ([`Settle`]).
    pub fn settle(mut self, settle: Option<Settle>) -> Self {
        self.0.settle = settle;
        self
    }

    /// The parameters, checked.
    pub fn build(self) -> Result<Subspace> {
        let p = self.0;
        alarm::check(p.window, p.z, p.release, p.slow_below, p.settle.as_ref())?;
        if !(p.variance > 0.0 && p.variance < 1.0) {
            return Err(Error::parameter("variance", p.variance, "lies in (0, 1)"));
        }
        Ok(p)
    }
}

impl Detector for Subspace {
    type Fitted = FittedSubspace;

    fn fit(&self, x: ArrayView2<f64>) -> Result<FittedSubspace> {
        let p = SubspaceBuilder(self.clone()).build()?;
        input::training("subspace", x, (2 * p.window).max(8))?;
        let roles = alarm::roles(x, p.slow_below);
        let taken: Vec<usize> = (0..roles.len()).filter(|j| roles[*j] == Role::Level).collect();
        crate::limits::at_most("sensors in one subspace model", taken.len(), MAX_SUBSPACE)?;
        let (features, means, from) = alarm::training_means(x, p.window)?;
        let (mut center, mut scale) = (vec![0.0; roles.len()], vec![1.0; roles.len()]);
        for &j in &taken {
            let col: Vec<f64> = means.column(j).iter().skip(from).copied().collect();
            (center[j], scale[j]) = level_and_scatter(&col);
        }
        let z = Array2::from_shape_fn((means.nrows() - from, taken.len()), |(i, k)| {
            let j = taken[k];
            (means[[i + from, j]] - center[j]) / scale[j]
        });
        let (components, variances, offset) = principal(&z, p.variance)?;
        let mut fitted = FittedSubspace::new(fitted::Parts {
            features,
            n_features: x.ncols(),
            roles,
            center,
            scale,
            offset,
            components,
            variances,
            params: p,
        });
        fitted.calibrate(&z);
        Ok(fitted)
    }
}

/// The principal components of `z`'s rows (columns of the result, largest variance first) that explain
/// `share` of the variance, at least one and at most one fewer than the columns, with their variances and the
/// rows' mean.
fn principal(z: &Array2<f64>, share: f64) -> Result<(Array2<f64>, Vec<f64>, Vec<f64>)> {
    let (n, d) = z.dim();
    let mean = z.mean_axis(Axis(0)).unwrap_or_else(|| Array1::zeros(d));
    let centred = z - &mean;
    let cov = centred.t().dot(&centred) / (n.max(2) - 1) as f64;
    let (values, vectors) = cov.eigh().map_err(|e| Error::Model {
        operation: "fit",
        reason: format!("subspace: the training rows' covariance has no eigen-decomposition ({e})"),
        cause: None,
    })?;
    let mut order: Vec<usize> = (0..d).collect();
    order.sort_by(|a, b| values[*b].total_cmp(&values[*a]));
    let total: f64 = values.iter().map(|v| v.max(0.0)).sum();
    let most = if d > 1 { d - 1 } else { 1 };
    let (mut kept, mut explained) = (0, 0.0);
    while kept < most && (kept == 0 || explained < share * total) {
        explained += values[order[kept]].max(0.0);
        kept += 1;
    }
    let floor = (total / d.max(1) as f64 * 1e-6).max(f64::MIN_POSITIVE);
    let components = Array2::from_shape_fn((d, kept), |(r, c)| vectors[[r, order[c]]]);
    let variances = order[..kept].iter().map(|&i| values[i].max(floor)).collect();
    Ok((components, variances, mean.to_vec()))
}
