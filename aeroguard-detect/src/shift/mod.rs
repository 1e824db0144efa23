//! A level-shift detector: each sensor's causal rolling mean against the level and scatter it had in the
//! training rows, with hysteresis; sensors that drift slowly through the training rows are learned as such and
//! left out or damped, so the drift that follows does not raise alarms.

use ndarray::{Array1, ArrayView1, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::alarm::{self, level_and_scatter};
use crate::settle::{Latch, Settle};
use crate::{Detector, Error, FeatureState, FeatureWindow, FittedDetector, Result, input};

#[cfg(test)]
mod tests;

/// What a sensor column is scored on, learned from the training rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Its rolling mean's distance from the training level, in training scatters.
    Level,
    /// Damped or left out: it moves slowly through the training rows (a temperature drifting with the day), so
    /// its training level says little about where it will be next. A level shift counts its shift at its
    /// `slow_weight` (0 by default: left out), so only a jump far beyond any drift raises an alarm; a
    /// [`Relations`](crate::Relations) model leaves it out.
    Slow,
}

/// Unfitted parameters of a level-shift detector, validated by [`LevelShift::builder`].
///
/// A row's score is the largest, over the sensors scored on their level, of `|m - c| / s`: `m` the sensor's
/// mean over the last `window` rows, `c` the median and `s` the robust scatter (1.4826 MAD) of that mean over
/// the training rows. An alarm starts when the score passes `z` and holds until it falls to `z · release`
/// (hysteresis: a shift that wavers does not chatter). A sensor is slow when, over the training rows, its
/// changes from row to row are small against its spread: `var(diff) / (2 var)` below `slow_below` (white
/// noise gives 1, a drift or a random walk near 0). A slow sensor's shift counts at `slow_weight` of its value
/// (0, the default, leaves it out). When every sensor is slow (smooth signals sampled fast), none is.
///
/// ```
/// use aeroguard_detect::{Detector, FittedDetector, LevelShift, Role};
/// use ndarray::Array2;
/// // Column 0 is noise around 5, column 1 drifts upward through the training rows.
/// let x = Array2::from_shape_fn((400, 2), |(i, j)| match j {
///     0 => 5.0 + ((i * 7919) % 13) as f64 / 13.0,
///     _ => 20.0 + i as f64 * 0.01,
/// });
/// let mut m = LevelShift::builder().window(10).z(8.0).build()?.fit(x.view())?;
/// assert_eq!(m.roles(), &[Role::Level, Role::Slow]);
/// // The drift goes on (column 1) and nothing is flagged; then column 0 steps up by 3 and it is.
/// let quiet = m.update(ndarray::array![5.5, 30.0].view())?;
/// assert!(quiet <= m.threshold(), "{quiet}");
/// let mut last = 0.0;
/// for _ in 0..10 {
///     last = m.update(ndarray::array![8.5, 30.0].view())?;
/// }
/// assert!(last > m.threshold(), "{last}");
/// # Ok::<(), aeroguard_detect::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LevelShift {
    window: usize,
    z: f64,
    release: f64,
    slow_below: Option<f64>,
    #[serde(default)]
    follow: Option<usize>,
    #[serde(default)]
    slow_weight: f64,
    #[serde(default)]
    settle: Option<Settle>,
}

/// Builds a [`LevelShift`]; [`build`](LevelShiftBuilder::build) checks every parameter.
#[derive(Debug, Clone)]
pub struct LevelShiftBuilder(LevelShift);

impl Default for LevelShift {
    fn default() -> Self {
        LevelShift {
            window: 15,
            z: 10.0,
            release: 0.5,
            slow_below: Some(0.3),
            follow: None,
            slow_weight: 0.0,
            settle: None,
        }
    }
}

impl LevelShift {
    /// Defaults: 15-row means, alarm above z 10, released at half that, sensors with `var(diff) / (2 var)`
    /// under 0.3 left out as slow.
    pub fn builder() -> LevelShiftBuilder {
        LevelShiftBuilder(LevelShift::default())
    }
}

impl LevelShift {
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

    /// The rows over which the level follows the rolling mean, if it does.
    pub fn follow(&self) -> Option<usize> {
        self.follow
    }

    /// How an alarm ends after a fault and how soon another may start, if set.
    pub fn settle(&self) -> Option<Settle> {
        self.settle
    }

    /// What a slow sensor's shift counts for (0: left out).
    pub fn slow_weight(&self) -> f64 {
        self.slow_weight
    }
}

impl LevelShiftBuilder {
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

    /// Leave out sensors slower than this (in `(0, 1]`); `None` scores every sensor.
    pub fn slow_below(mut self, ratio: Option<f64>) -> Self {
        self.0.slow_below = ratio;
        self
    }

    /// Let each sensor's level follow its rolling mean, an exponential average over about `rows` rows, while no
    /// alarm holds and the score stays at or under the release level (`z · release`), so a slow drift of
    /// normal operation is learned and a shift is not. `None` (the default) keeps the training level.
    pub fn follow(mut self, rows: Option<usize>) -> Self {
        self.0.follow = rows;
        self
    }

    /// What a slow sensor's shift counts for, in `[0, 1]`: 0 (the default) leaves slow sensors out, 0.1 lets
    /// a slow sensor raise an alarm only when it moves ten times as far as a level sensor must.
    pub fn slow_weight(mut self, weight: f64) -> Self {
        self.0.slow_weight = weight;
        self
    }

    /// End an alarm under a fraction of its peak and hold off the next for a while ([`Settle`]): a plant that
    /// does not come back to its training level after a fault raises no alarm through the after-effect.
    /// `None`, the default, ends an alarm at `z · release` and starts the next above `z`.
    pub fn settle(mut self, settle: Option<Settle>) -> Self {
        self.0.settle = settle;
        self
    }

    /// The parameters, checked.
    pub fn build(self) -> Result<LevelShift> {
        let p = self.0;
        alarm::check(p.window, p.z, p.release, p.slow_below, p.settle.as_ref())?;
        if let Some(rows) = p.follow
            && !(1..=1_000_000).contains(&rows)
        {
            return Err(Error::parameter("follow", rows, "lies in 1..=1000000 rows"));
        }
        if !(0.0..=1.0).contains(&p.slow_weight) {
            return Err(Error::parameter("slow_weight", p.slow_weight, "lies in [0, 1]"));
        }
        Ok(p)
    }
}

impl Detector for LevelShift {
    type Fitted = FittedLevelShift;

    fn fit(&self, x: ArrayView2<f64>) -> Result<FittedLevelShift> {
        let p = LevelShiftBuilder(self.clone()).build()?;
        input::training("level shift", x, (2 * p.window).max(8))?;
        let roles = alarm::roles(x, p.slow_below);
        let (features, means, from) = alarm::training_means(x, p.window)?;
        let (mut center, mut scale) = (Vec::new(), Vec::new());
        for c in means.columns() {
            let (m, s) = level_and_scatter(&c.iter().skip(from).copied().collect::<Vec<_>>());
            center.push(m);
            scale.push(s);
        }
        Ok(FittedLevelShift {
            state: features.state(x.ncols()),
            features,
            n_features: x.ncols(),
            roles,
            center,
            scale,
            on: p.z,
            release: p.release,
            threshold: p.z,
            follow: p.follow.map(|rows| 1.0 / rows as f64),
            slow_weight: p.slow_weight,
            level: Vec::new(),
            settle: p.settle,
            latch: Latch::default(),
        })
    }
}

/// A fitted [`LevelShift`]: the training level and scatter of each sensor's rolling mean, the sensors' roles,
/// and the streaming state (the window and whether an alarm holds).
///
/// The hysteresis is in the score: while a shift holds (it passed the fitted `z` and has not fallen to
/// `z · release`), the score is the raw one divided by `release`; with a [`Settle`], the score is
/// `z · raw / level`, `level` the raw level the alarm turns at on that row. So the score passes `z` exactly
/// on the rows an alarm holds, it does not depend on the threshold, and
/// [`set_threshold`](FittedDetector::set_threshold) moves only where alarms are drawn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedLevelShift {
    features: FeatureWindow,
    state: FeatureState,
    n_features: usize,
    roles: Vec<Role>,
    center: Vec<f64>,
    scale: Vec<f64>,
    on: f64,
    release: f64,
    threshold: f64,
    /// The weight of each new mean in the level that follows (`1 / rows`); `None`: the level is fixed.
    #[serde(default)]
    follow: Option<f64>,
    /// What a slow sensor's shift counts for (0: left out).
    #[serde(default)]
    slow_weight: f64,
    /// The level now, when it follows (empty until the first streamed row).
    #[serde(default)]
    level: Vec<f64>,
    #[serde(default)]
    settle: Option<Settle>,
    #[serde(flatten)]
    latch: Latch,
}

impl FittedLevelShift {
    /// Each sensor's role, learned from the training rows.
    pub fn roles(&self) -> &[Role] {
        &self.roles
    }

    /// Each sensor's training level (the median of its rolling mean).
    pub fn center(&self) -> &[f64] {
        &self.center
    }

    /// Each sensor's training scatter (1.4826 MAD of its rolling mean).
    pub fn scale(&self) -> &[f64] {
        &self.scale
    }

    /// The largest shift from `level`, in training scatters, over the sensors scored on their level and the
    /// slow ones at their weight.
    fn raw(&self, level: &[f64], means: ArrayView1<f64>) -> f64 {
        (0..self.roles.len())
            .map(|j| self.shift(j, level, means))
            .fold(0.0, f64::max)
    }

    /// Sensor `j`'s shift from `level`, in training scatters, at its role's weight (0 when left out).
    fn shift(&self, j: usize, level: &[f64], means: ArrayView1<f64>) -> f64 {
        let weight = match self.roles[j] {
            Role::Level => 1.0,
            Role::Slow => self.slow_weight,
        };
        if weight > 0.0 {
            weight * (means[j] - level[j]).abs() / self.scale[j]
        } else {
            0.0
        }
    }

    /// The score of one row's means, moving the latch and, when it follows, the level. The guard: the level
    /// moves only while no alarm holds and the score is at or under the release level.
    fn step(&self, latch: &mut Latch, level: &mut [f64], means: ArrayView1<f64>) -> f64 {
        let raw = self.raw(level, means);
        let score = latch.step(raw, self.on, self.release, self.settle.as_ref());
        if let Some(a) = self.follow
            && !latch.latched
            && raw <= self.on * self.release
        {
            for (j, role) in self.roles.iter().enumerate() {
                if *role == Role::Level {
                    level[j] += a * (means[j] - level[j]);
                }
            }
        }
        score
    }

    /// Checks a loaded model's internal consistency.
    pub(crate) fn check(&self) -> Result<()> {
        let bad = |reason: &str| Error::Model {
            operation: "load",
            reason: format!("level shift: {reason}"),
            cause: None,
        };
        let n = self.n_features;
        if self.roles.len() != n || self.center.len() != n || self.scale.len() != n {
            return Err(bad("roles, levels and scatters must have one entry per column"));
        }
        if !self.roles.contains(&Role::Level) {
            return Err(bad("no column is scored on its level"));
        }
        if !self.center.iter().all(|c| c.is_finite()) || !self.scale.iter().all(|s| s.is_finite() && *s > 0.0)
        {
            return Err(bad("levels must be finite and scatters finite and above 0"));
        }
        if !(self.on.is_finite() && self.on > 0.0 && self.threshold.is_finite()) {
            return Err(bad("z and the threshold must be finite"));
        }
        if !(self.release > 0.0 && self.release <= 1.0) {
            return Err(bad("release must lie in (0, 1]"));
        }
        if !(0.0..=1.0).contains(&self.slow_weight) {
            return Err(bad("the slow sensors' weight must lie in [0, 1]"));
        }
        if self.follow.is_some_and(|a| !(a > 0.0 && a <= 1.0)) {
            return Err(bad("the following weight must lie in (0, 1]"));
        }
        if let Some(s) = &self.settle {
            s.check()?;
        }
        if !(self.level.is_empty() || self.level.len() == n && self.level.iter().all(|v| v.is_finite())) {
            return Err(bad("the level now must be empty or one finite value per column"));
        }
        self.state.check(n)?;
        if self.state.spec() != &self.features || self.features.per_column() != 1 {
            return Err(bad("the rolling mean differs from its state's"));
        }
        Ok(())
    }
}

impl FittedDetector for FittedLevelShift {
    fn name(&self) -> &str {
        "level_shift"
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
        let (mut latch, mut level) = (Latch::default(), self.center.clone());
        Ok(means
            .outer_iter()
            .map(|m| self.step(&mut latch, &mut level, m))
            .collect())
    }

    fn update(&mut self, row: ArrayView1<f64>) -> Result<f64> {
        let means = self.state.push(row)?;
        let mut latch = self.latch;
        let mut level = std::mem::take(&mut self.level);
        if level.is_empty() {
            level = self.center.clone();
        }
        let s = self.step(&mut latch, &mut level, means.view());
        self.latch = latch;
        self.level = level;
        Ok(s)
    }

    fn reset(&mut self) {
        self.state.reset();
        self.latch = Latch::default();
        self.level.clear();
    }
    /// Each sensor's shift of its rolling mean from its level, in training scatters.
    fn explain(&self, _row: ArrayView1<f64>) -> Option<Vec<f64>> {
        let means = self.state.current()?;
        let level = if self.level.is_empty() {
            &self.center
        } else {
            &self.level
        };
        let means = ArrayView1::from(&means[..]);
        crate::detector::shares(
            (0..self.roles.len())
                .map(|j| self.shift(j, level, means))
                .collect(),
        )
    }
}
