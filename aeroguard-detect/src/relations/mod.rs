//! A relations detector: each sensor's rolling mean predicted from the other sensors' (a linear regression on
//! the training rows), scored on how far the prediction misses, in training scatters of the miss. A fault that
//! breaks how the sensors move together (a valve closing: flow falls while the pump's current does not) shows
//! here before any one sensor leaves its own range.

use ndarray::{Array1, ArrayView1, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::alarm::{self, level_and_scatter};
use crate::settle::{Latch, Settle};
use crate::{Detector, Error, FeatureState, FeatureWindow, FittedDetector, Result, Role, input};

mod solve;
#[cfg(test)]
mod tests;

/// Most sensors one relations model relates (each is regressed on all the others: the fit grows with the cube).
pub const MAX_RELATED: usize = 64;

/// Unfitted parameters of a relations detector, validated by [`Relations::builder`].
///
/// Each sensor's mean over the last `window` rows is standardised by its training level and scatter (median,
/// 1.4826 MAD), then predicted from the other sensors' standardised means by a ridge regression fitted on the
/// training rows. A row's score is the largest, over the sensors, of the prediction's miss in training scatters
/// of the miss. An alarm starts above `z` and holds until the score falls to `z · release` (the hysteresis is
/// in the score, as in [`LevelShift`](crate::LevelShift)); a [`Settle`] ends it under a fraction of its peak
/// instead and holds off the next for a while. Sensors slow through the training rows (`var(diff) / (2 var)`
/// under `slow_below`) drift for reasons of their own and are left out, unless all are.
///
/// ```
/// use aeroguard_detect::{Detector, FittedDetector, Relations};
/// use ndarray::{Array2, array};
/// // Flow follows the pump's current (flow = 2 current + noise), both wandering over the training rows.
/// let x = Array2::from_shape_fn((400, 2), |(i, j)| {
///     let current = 10.0 + (i as f64 * 0.05).sin();
///     let noise = ((i * 7919 + j * 104_729) % 100) as f64 / 1000.0;
///     if j == 0 { current + noise } else { 2.0 * current + noise }
/// });
/// let m = Relations::builder().window(5).z(8.0).build()?.fit(x.view())?;
/// // Both move, together: quiet. Flow drops while the current holds: the relation breaks.
/// assert!(m.score(array![[10.8, 21.6]].view())?[0] <= m.threshold());
/// assert!(m.score(array![[10.8, 19.0]].view())?[0] > m.threshold());
/// # Ok::<(), aeroguard_detect::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Relations {
    window: usize,
    z: f64,
    release: f64,
    slow_below: Option<f64>,
    ridge: f64,
    #[serde(default)]
    settle: Option<Settle>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
}

impl Default for Relations {
    fn default() -> Self {
        Relations {
            window: 15,
            z: 11.5,
            release: 0.6,
            slow_below: Some(0.3),
            ridge: 1e-3,
            settle: None,
            name: None,
        }
    }
}

/// Builds a [`Relations`]; [`build`](RelationsBuilder::build) checks every parameter.
#[derive(Debug, Clone)]
pub struct RelationsBuilder(Relations);

impl Relations {
    /// Defaults: 15-row means, alarm above z 11.5, released at 0.6 of that, sensors with `var(diff) / (2 var)`
    /// under 0.3 left out as slow, ridge 0.001 per training row.
    pub fn builder() -> RelationsBuilder {
        RelationsBuilder(Relations::default())
    }

    /// The score an alarm starts above.
    pub fn z(&self) -> f64 {
        self.z
    }

    /// Rows of the rolling mean.
    pub fn window(&self) -> usize {
        self.window
    }

    /// The fraction of `z` an alarm holds down to.
    pub fn release(&self) -> f64 {
        self.release
    }

    /// The slowness below which a sensor is left out.
    pub fn slow_below(&self) -> Option<f64> {
        self.slow_below
    }

    /// The ridge penalty per training row.
    pub fn ridge(&self) -> f64 {
        self.ridge
    }

    /// How an alarm ends after a fault and how soon another may start, if set.
    pub fn settle(&self) -> Option<Settle> {
        self.settle
    }

    /// The name the fitted member votes under (`relations` unless set).
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or(NAME)
    }
}

/// The name a relations member votes under unless it is given another.
const NAME: &str = "relations";

/// The longest name a relations member may be given.
const MAX_NAME: usize = 64;

impl RelationsBuilder {
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

    /// The fraction of `z` an alarm holds down to (in `(0, 1]`; 1 is no hysteresis).
    pub fn release(mut self, fraction: f64) -> Self {
        self.0.release = fraction;
        self
    }

    /// Leave out sensors slower than this (in `(0, 1]`); `None` relates every sensor.
    pub fn slow_below(mut self, ratio: Option<f64>) -> Self {
        self.0.slow_below = ratio;
        self
    }

    /// The ridge penalty per training row (finite, at least 0): larger keeps the regression from leaning on
    /// sensors that moved together only by chance in the training rows.
    pub fn ridge(mut self, ridge: f64) -> Self {
        self.0.ridge = ridge;
        self
    }

    /// End an alarm under a fraction of its peak and hold off the next for a while ([`Settle`]); `None`, the
    /// default, ends it at `z · release` and starts the next above `z`.
    pub fn settle(mut self, settle: Option<Settle>) -> Self {
        self.0.settle = settle;
        self
    }

    /// The name the fitted member votes under, so that two relations members (over different windows, say)
    /// can vote side by side: 1 to 64 ASCII letters, digits, `_` or `-`.
    ///
    /// ```
    /// use aeroguard_detect::{Detector, FittedDetector, Relations};
    /// use ndarray::Array2;
    /// let x = Array2::from_shape_fn((200, 2), |(i, j)| (i as f64 * 0.1).sin() * (j + 1) as f64 + (i * j % 7) as f64 * 0.01);
    /// let short = Relations::builder().window(5).name("relations_short").build()?;
    /// assert_eq!(short.fit(x.view())?.name(), "relations_short");
    /// assert!(Relations::builder().name("no spaces").build().is_err());
    /// # Ok::<(), aeroguard_detect::Error>(())
    /// ```
    pub fn name(mut self, name: &str) -> Self {
        self.0.name = Some(name.to_string());
        self
    }

    /// The parameters, checked.
    pub fn build(self) -> Result<Relations> {
        let p = self.0;
        if let Some(name) = &p.name {
            let fits = (1..=MAX_NAME).contains(&name.len())
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !fits {
                return Err(Error::parameter(
                    "name",
                    name,
                    "has 1 to 64 ASCII letters, digits, '_' or '-'",
                ));
            }
        }
        alarm::check(p.window, p.z, p.release, p.slow_below, p.settle.as_ref())?;
        if !(p.ridge.is_finite() && p.ridge >= 0.0) {
            return Err(Error::parameter("ridge", p.ridge, "is finite and at least 0"));
        }
        Ok(p)
    }
}

impl Detector for Relations {
    type Fitted = FittedRelations;

    fn fit(&self, x: ArrayView2<f64>) -> Result<FittedRelations> {
        let p = RelationsBuilder(self.clone()).build()?;
        input::training("relations", x, (2 * p.window).max(8))?;
        let roles = alarm::roles(x, p.slow_below);
        let related: Vec<usize> = (0..roles.len()).filter(|j| roles[*j] == Role::Level).collect();
        if related.len() > MAX_RELATED {
            return Err(Error::parameter(
                "sensors related",
                related.len(),
                "is at most 64 (leave some out, or fit one model per group)",
            ));
        }
        let (features, means, from) = alarm::training_means(x, p.window)?;
        let (mut center, mut scale) = (vec![0.0; roles.len()], vec![1.0; roles.len()]);
        for &j in &related {
            let col: Vec<f64> = means.column(j).iter().skip(from).copied().collect();
            (center[j], scale[j]) = level_and_scatter(&col);
        }
        let z: Vec<Vec<f64>> = means
            .outer_iter()
            .skip(from)
            .map(|m| related.iter().map(|&j| (m[j] - center[j]) / scale[j]).collect())
            .collect();
        let coefficients = solve::regressions(&z, p.ridge * z.len() as f64)?;
        let mut fitted = FittedRelations {
            state: features.state(x.ncols()),
            features,
            n_features: x.ncols(),
            roles,
            center,
            scale,
            coefficients,
            miss_center: Vec::new(),
            miss_scale: Vec::new(),
            on: p.z,
            release: p.release,
            threshold: p.z,
            settle: p.settle,
            name: p.name.clone(),
            latch: Latch::default(),
        };
        for k in 0..related.len() {
            let misses: Vec<f64> = z.iter().map(|row| fitted.miss(k, row)).collect();
            let (c, s) = level_and_scatter(&misses);
            fitted.miss_center.push(c);
            fitted.miss_scale.push(s);
        }
        Ok(fitted)
    }
}

/// A fitted [`Relations`]: each related sensor's level and scatter, its regression on the others, the level
/// and scatter of its training misses, and the streaming state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedRelations {
    features: FeatureWindow,
    state: FeatureState,
    n_features: usize,
    /// The columns related are those with [`Role::Level`], in order.
    roles: Vec<Role>,
    center: Vec<f64>,
    scale: Vec<f64>,
    /// Per related sensor: the intercept, then one coefficient per related sensor (its own is 0).
    coefficients: Vec<Vec<f64>>,
    miss_center: Vec<f64>,
    miss_scale: Vec<f64>,
    on: f64,
    release: f64,
    threshold: f64,
    #[serde(default)]
    settle: Option<Settle>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(flatten)]
    latch: Latch,
}

impl FittedRelations {
    /// Each sensor's role, learned from the training rows (slow ones are left out).
    pub fn roles(&self) -> &[Role] {
        &self.roles
    }

    /// Per related sensor: the intercept and the coefficients of its prediction from the standardised means
    /// of the related sensors (its own coefficient is 0).
    pub fn coefficients(&self) -> &[Vec<f64>] {
        &self.coefficients
    }

    /// Related sensor `k`'s prediction miss, for standardised means `z` (one per related sensor).
    fn miss(&self, k: usize, z: &[f64]) -> f64 {
        let c = &self.coefficients[k];
        z[k] - c[0] - c[1..].iter().zip(z).map(|(b, v)| b * v).sum::<f64>()
    }

    /// The largest miss of one row's means, in training scatters of the miss. Streamed rows allocate nothing:
    /// the standardised means fit on the stack (at most [`MAX_RELATED`]).
    fn raw(&self, means: ArrayView1<f64>) -> f64 {
        let mut z = [0.0; MAX_RELATED];
        let related = self.roles.iter().enumerate().filter(|(_, r)| **r == Role::Level);
        for (zk, (j, _)) in z.iter_mut().zip(related) {
            *zk = (means[j] - self.center[j]) / self.scale[j];
        }
        let z = &z[..self.coefficients.len()];
        (0..z.len())
            .map(|k| (self.miss(k, z) - self.miss_center[k]).abs() / self.miss_scale[k])
            .fold(0.0, f64::max)
    }

    /// The score of one row's means, moving the latch.
    fn step(&self, latch: &mut Latch, means: ArrayView1<f64>) -> f64 {
        latch.step(self.raw(means), self.on, self.release, self.settle.as_ref())
    }

    /// Checks a loaded model's internal consistency.
    pub(crate) fn check(&self) -> Result<()> {
        let k = alarm::Loaded {
            what: "relations",
            n_features: self.n_features,
            roles: &self.roles,
            center: &self.center,
            scale: &self.scale,
            most: MAX_RELATED,
            on: self.on,
            release: self.release,
            threshold: self.threshold,
            settle: self.settle.as_ref(),
            state: &self.state,
            features: &self.features,
        }
        .check()?;
        let finite = |v: &[f64]| v.iter().all(|x| x.is_finite());
        if self.coefficients.len() != k
            || !self.coefficients.iter().all(|c| c.len() == k + 1 && finite(c))
            || self.miss_center.len() != k
            || self.miss_scale.len() != k
            || !finite(&self.miss_center)
            || !self.miss_scale.iter().all(|s| s.is_finite() && *s > 0.0)
        {
            return Err(alarm::damaged(
                "relations",
                "one regression and one finite miss level and scatter above 0 per related column",
            ));
        }
        Ok(())
    }
}

impl FittedDetector for FittedRelations {
    fn name(&self) -> &str {
        self.name.as_deref().unwrap_or(NAME)
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
        Ok(means.outer_iter().map(|m| self.step(&mut latch, m)).collect())
    }

    fn update(&mut self, row: ArrayView1<f64>) -> Result<f64> {
        let means = self.state.push(row)?;
        let mut latch = self.latch;
        let s = self.step(&mut latch, means.view());
        self.latch = latch;
        Ok(s)
    }

    fn reset(&mut self) {
        self.state.reset();
        self.latch = Latch::default();
    }
    /// Reconstruction-based contributions (Alcala and Qin, 2009): for each related sensor, how much the sum
    /// of squared misses (each in its training scatters) falls when that sensor's rolling mean alone is moved
    /// to the value that fits the others best. A fault on one sensor upsets the predictions that use it too;
    /// moving the faulty one explains them all, moving a bystander explains only its own.
    fn explain(&self, _row: ArrayView1<f64>) -> Option<Vec<f64>> {
        let means = self.state.current()?;
        let related: Vec<usize> = (0..self.roles.len())
            .filter(|j| self.roles[*j] == Role::Level)
            .collect();
        let z: Vec<f64> = related
            .iter()
            .map(|&j| (means[j] - self.center[j]) / self.scale[j])
            .collect();
        let misses: Vec<f64> = (0..z.len())
            .map(|k| (self.miss(k, &z) - self.miss_center[k]) / self.miss_scale[k])
            .collect();
        let mut by_column = vec![0.0; self.n_features];
        for (i, &j) in related.iter().enumerate() {
            // How miss k moves with sensor i's standardised mean: 1 for its own, minus its coefficient in k's.
            let (mut along, mut norm) = (0.0, 0.0);
            for (k, m) in misses.iter().enumerate() {
                let g = (f64::from(u8::from(k == i)) - self.coefficients[k][1 + i]) / self.miss_scale[k];
                along += m * g;
                norm += g * g;
            }
            if norm > 0.0 {
                by_column[j] = along * along / norm;
            }
        }
        crate::detector::shares(by_column)
    }
}
