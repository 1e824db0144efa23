//! A detector for single streams of any kind (a web metric, a machine temperature, one sensor): how surprising
//! each value and each change are, turned into a probability by Numenta's anomaly likelihood.

use ndarray::{Array1, ArrayView1, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::{Detector, Error, FittedDetector, Result, input};

mod likelihood;
#[cfg(test)]
mod tests;

pub use likelihood::{Likelihood, LikelihoodBuilder, LikelihoodState, MAX_LIKELIHOOD_HISTORY};

/// Rows a column's running statistics settle on before its raw scores count.
const WARMUP: u64 = 30;

fn default_warmup() -> u64 {
    WARMUP
}
/// The largest raw score (a value off a column that never moved in training would be infinitely far).
const RAW_CAP: f64 = 1_000.0;
/// The largest value taken: past it, the running variance could overflow.
pub const MAX_SURPRISE_VALUE: f64 = 1e150;

/// Unfitted parameters of a surprise detector, validated by [`Surprise::builder`].
///
/// For each column, two raw scores per row: how many standard deviations the value lies from the column's
/// running mean (an exponential average over about `window` rows, as NAB's windowed Gaussian baseline), and
/// how large its change from the last row is against the training rows' mean change. Each raw score feeds a
/// [`Likelihood`] of its own, which asks how unusual its recent mean is against its own history; the row's
/// score is the largest likelihood score over the columns (in `[0, 1]`: 0.5 at a tail of 10⁻⁵). With
/// `spatial` set, a value beyond the range the column has ever shown by more than that fraction of the range
/// scores 1 at once (as Numenta's NAB detector). An alarm is a score above that of a tail of `tail`.
///
/// Nothing here assumes the plant's physics: no level, no relation between sensors, no training-level
/// scatter that must hold. It suits single metrics whose normal drifts and whose faults are spikes, bursts
/// and sudden changes (NAB). It learns as it goes: in streaming use, the running statistics, the range and the
/// likelihoods' histories move with every row.
///
/// ```
/// use aeroguard_detect::{Detector, FittedDetector, Surprise};
/// use ndarray::Array2;
/// // A noisy metric: 600 rows to learn from, 200 more like them, then a jump of 50.
/// let metric = |i: usize| 100.0 + ((i * 7919) % 23) as f64 / 23.0;
/// let x = Array2::from_shape_fn((600, 1), |(i, _)| metric(i));
/// let mut m = Surprise::builder().build()?.fit(x.view())?;
/// let calm: f64 = (600..800)
///     .map(|i| m.update(ndarray::array![metric(i)].view()))
///     .collect::<Result<Vec<_>, _>>()?
///     .into_iter()
///     .fold(0.0, f64::max);
/// assert!(calm <= m.threshold(), "{calm}");
/// assert!(m.update(ndarray::array![150.0].view())? > m.threshold());
/// # Ok::<(), aeroguard_detect::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Surprise {
    window: usize,
    /// Rows of each column's running statistics before its values are scored (older saved models: 30).
    #[serde(default = "default_warmup")]
    warmup: u64,
    likelihood: Likelihood,
    spatial: Option<f64>,
    tail: f64,
}

impl Default for Surprise {
    fn default() -> Self {
        Surprise {
            window: 6400,
            warmup: WARMUP,
            likelihood: Likelihood::default(),
            spatial: Some(0.05),
            tail: 1e-5,
        }
    }
}

/// Builds a [`Surprise`]; [`build`](SurpriseBuilder::build) checks every parameter.
#[derive(Debug, Clone)]
pub struct SurpriseBuilder(Surprise);

impl Surprise {
    /// Defaults: running mean over about 6,400 rows, Numenta's likelihood ([`Likelihood::default`]), the
    /// range check at 5 %, alarms under a tail of 10⁻⁵.
    pub fn builder() -> SurpriseBuilder {
        SurpriseBuilder(Surprise::default())
    }

    /// Rows of the running mean and variance.
    pub fn window(&self) -> usize {
        self.window
    }

    /// Rows of each column's running statistics before its values are scored.
    pub fn warmup(&self) -> usize {
        self.warmup as usize
    }

    /// The likelihood each raw score feeds.
    pub fn likelihood(&self) -> &Likelihood {
        &self.likelihood
    }

    /// The range check's tolerance, if on.
    pub fn spatial(&self) -> Option<f64> {
        self.spatial
    }

    /// The tail probability an alarm is under.
    pub fn tail(&self) -> f64 {
        self.tail
    }
}

impl SurpriseBuilder {
    /// Rows of the running mean and variance of each value (2 to 1,000,000).
    pub fn window(mut self, rows: usize) -> Self {
        self.0.window = rows;
        self
    }

    /// Rows of each column's running statistics before its values are scored (2 to 1,000,000; 30 by
    /// default): fewer fit short series, more settle the statistics of a noisy one first.
    pub fn warmup(mut self, rows: usize) -> Self {
        self.0.warmup = rows as u64;
        self
    }

    /// The likelihood each raw score feeds.
    pub fn likelihood(mut self, likelihood: Likelihood) -> Self {
        self.0.likelihood = likelihood;
        self
    }

    /// A value beyond the column's range by more than this fraction of it scores 1 (in `[0, 10]`); `None`
    /// turns the check off.
    pub fn spatial(mut self, tolerance: Option<f64>) -> Self {
        self.0.spatial = tolerance;
        self
    }

    /// Alarm when the tail probability falls under this (in `(0, 0.5)`).
    pub fn tail(mut self, probability: f64) -> Self {
        self.0.tail = probability;
        self
    }

    /// The parameters, checked.
    pub fn build(self) -> Result<Surprise> {
        self.0.check()?;
        Ok(self.0)
    }
}

impl Surprise {
    fn check(&self) -> Result<()> {
        if !(2..=1_000_000).contains(&self.window) {
            return Err(Error::parameter(
                "window",
                self.window,
                "lies in 2..=1000000 rows",
            ));
        }
        if !(2..=1_000_000).contains(&self.warmup) {
            return Err(Error::parameter(
                "warmup",
                self.warmup,
                "lies in 2..=1000000 rows",
            ));
        }
        self.likelihood.check()?;
        if let Some(t) = self.spatial
            && !(0.0..=10.0).contains(&t)
        {
            return Err(Error::parameter("spatial", t, "lies in [0, 10]"));
        }
        if !(self.tail > 0.0 && self.tail < 0.5) {
            return Err(Error::parameter("tail", self.tail, "lies in (0, 0.5)"));
        }
        Ok(())
    }

    /// The fewest training rows [`fit`](Detector::fit) takes: the warm-up of the running statistics, then
    /// enough for the likelihood's first fit (131 with the defaults).
    pub fn min_rows(&self) -> usize {
        self.warmup as usize + self.likelihood.reestimate() + 1
    }
}

impl Detector for Surprise {
    type Fitted = FittedSurprise;

    fn fit(&self, x: ArrayView2<f64>) -> Result<FittedSurprise> {
        self.check()?;
        input::training("surprise", x, self.min_rows())?;
        let scale = x
            .columns()
            .into_iter()
            .map(|c| {
                let diffs = c.windows(2).into_iter().map(|w| (w[1] - w[0]).abs());
                diffs.sum::<f64>() / (c.len() - 1) as f64
            })
            .collect();
        let mut fitted = FittedSurprise {
            params: self.clone(),
            n_features: x.ncols(),
            scale,
            threshold: likelihood::log_score(self.tail),
            fresh: vec![Column::new(&self.likelihood); x.ncols()],
            state: Vec::new(),
        };
        let mut columns = fitted.fresh.clone();
        for row in x.outer_iter() {
            fitted.step(&mut columns, row, true)?;
        }
        fitted.fresh = columns.clone();
        fitted.state = columns;
        Ok(fitted)
    }
}

/// One column's running state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Column {
    rows: u64,
    mean: f64,
    variance: f64,
    last: f64,
    low: f64,
    high: f64,
    value: LikelihoodState,
    change: LikelihoodState,
}

impl Column {
    fn new(likelihood: &Likelihood) -> Self {
        Column {
            rows: 0,
            mean: 0.0,
            variance: 0.0,
            last: 0.0,
            low: 0.0,
            high: 0.0,
            value: likelihood.state(),
            change: likelihood.state(),
        }
    }

    fn check(&self) -> bool {
        [self.mean, self.last, self.low, self.high]
            .iter()
            .all(|v| v.is_finite())
            && self.variance.is_finite()
            && self.variance >= 0.0
            && self.low <= self.high
    }
}

/// `distance / spread`, capped, with a zero spread giving 0 for no distance and the cap for any.
fn ratio(distance: f64, spread: f64) -> f64 {
    if spread > 0.0 {
        (distance / spread).min(RAW_CAP)
    } else if distance == 0.0 {
        0.0
    } else {
        RAW_CAP
    }
}

/// A fitted [`Surprise`]: each column's training mean change, and its running state (the state at the end
/// of training, which batch scoring and [`reset`](FittedDetector::reset) start from, and the streaming one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedSurprise {
    params: Surprise,
    n_features: usize,
    scale: Vec<f64>,
    threshold: f64,
    fresh: Vec<Column>,
    state: Vec<Column>,
}

impl FittedSurprise {
    /// The parameters it was fitted with.
    pub fn params(&self) -> &Surprise {
        &self.params
    }

    /// Each column's mean change from row to row in the training rows.
    pub fn mean_change(&self) -> &[f64] {
        &self.scale
    }

    /// One row through `columns`: its score (0 while training). A value past [`MAX_SURPRISE_VALUE`] is refused
    /// before anything moves.
    fn step(&self, columns: &mut [Column], row: ArrayView1<f64>, training: bool) -> Result<f64> {
        if let Some(v) = row.iter().find(|v| v.abs() > MAX_SURPRISE_VALUE) {
            return Err(Error::parameter("value", v, "lies within ±1e150"));
        }
        let alpha = 2.0 / (self.params.window as f64 + 1.0);
        let mut score = 0.0f64;
        for (j, (c, &v)) in columns.iter_mut().zip(row).enumerate() {
            if c.rows >= self.params.warmup {
                let value = ratio((v - c.mean).abs(), c.variance.sqrt());
                let change = ratio((v - c.last).abs(), self.scale[j]);
                score = score.max(c.value.push(value)?).max(c.change.push(change)?);
            }
            if let Some(tolerance) = self.params.spatial
                && !training
                && c.rows > 0
            {
                let slack = tolerance * (c.high - c.low);
                if v > c.high + slack || v < c.low - slack {
                    score = 1.0;
                }
            }
            c.rows += 1;
            let a = alpha.max(1.0 / c.rows as f64);
            let d = v - c.mean;
            c.mean += a * d;
            c.variance = (1.0 - a) * (c.variance + a * d * d);
            (c.low, c.high) = if c.rows == 1 {
                (v, v)
            } else {
                (c.low.min(v), c.high.max(v))
            };
            c.last = v;
        }
        Ok(if training { 0.0 } else { score })
    }

    /// Checks a loaded model's internal consistency.
    pub(crate) fn check(&self) -> Result<()> {
        let bad = |reason: &str| Error::Model {
            operation: "load",
            reason: format!("surprise: {reason}"),
            cause: None,
        };
        self.params.check()?;
        let n = self.n_features;
        if n == 0 || self.scale.len() != n || self.fresh.len() != n || self.state.len() != n {
            return Err(bad("one mean change and one state per column"));
        }
        if !self.scale.iter().all(|s| s.is_finite() && *s >= 0.0) || !self.threshold.is_finite() {
            return Err(bad("mean changes and the threshold must be finite"));
        }
        for c in self.fresh.iter().chain(&self.state) {
            if !c.check() {
                return Err(bad(
                    "a column's running state is not finite or its range is reversed",
                ));
            }
            for l in [&c.value, &c.change] {
                if l.spec() != &self.params.likelihood {
                    return Err(bad("a likelihood's parameters differ from the detector's"));
                }
                l.check()?;
            }
        }
        Ok(())
    }
}

impl FittedDetector for FittedSurprise {
    fn name(&self) -> &str {
        "surprise"
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
        let mut columns = self.fresh.clone();
        x.outer_iter()
            .map(|row| self.step(&mut columns, row, false))
            .collect()
    }
    fn update(&mut self, row: ArrayView1<f64>) -> Result<f64> {
        input::check_row("row to score", row, self.n_features)?;
        let mut columns = std::mem::take(&mut self.state);
        let score = self.step(&mut columns, row, false);
        self.state = columns;
        score
    }
    fn reset(&mut self) {
        self.state = self.fresh.clone();
    }
}
