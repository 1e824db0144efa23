//! The detector interface: unfitted parameters, fitted models.

use std::fmt;

use ndarray::{Array1, ArrayView1, ArrayView2};

use crate::Result;

/// Unfitted parameters, validated when built; [`fit`](Detector::fit) learns a model from normal data.
pub trait Detector {
    /// The fitted model.
    type Fitted: FittedDetector;

    /// Learns from `x` (rows are samples of normal operation, columns are sensors or features) and
    /// calibrates the threshold on the training scores.
    fn fit(&self, x: ArrayView2<f64>) -> Result<Self::Fitted>;
}

/// A fitted model: scores rows (higher is more anomalous) against a calibrated threshold.
///
/// Object-safe, so an ensemble holds `Box<dyn FittedDetector>`.
pub trait FittedDetector: fmt::Debug + Send + Sync {
    /// A short name for vote records.
    fn name(&self) -> &str;

    /// The number of columns the model was fitted on.
    fn n_features(&self) -> usize;

    /// The calibrated threshold: a row is anomalous when its score is strictly above it.
    fn threshold(&self) -> f64;

    /// Replaces the threshold.
    fn set_threshold(&mut self, threshold: f64);

    /// Scores a batch. Stateful detectors (rules with persistence, sequence models) treat the batch as one
    /// contiguous sequence starting from a fresh state; the streaming state is not touched.
    fn score(&self, x: ArrayView2<f64>) -> Result<Array1<f64>>;

    /// Scores the next row of a stream, carrying the streaming state forward.
    fn update(&mut self, row: ArrayView1<f64>) -> Result<f64>;

    /// [`update`](Self::update) for a row measured at `at`. Detectors that measure persistence in time (rules
    /// with [`Rule::Persistence`](crate::Rule::Persistence)`{ seconds, .. }`) use it; the others ignore it.
    fn update_at(&mut self, row: ArrayView1<f64>, at: aeroguard_core::Timestamp) -> Result<f64> {
        let _ = at;
        self.update(row)
    }

    /// Forgets the streaming state.
    fn reset(&mut self);

    /// Each input column's share of the score of the last row [`update`](Self::update) took (`row` is that
    /// row): shares at or above 0 that sum to 1, or `None` when the model cannot tell or no column stands out.
    /// Models with a streaming state (rolling windows, sequences) explain from it; the default is `None`.
    ///
    /// ```
    /// use aeroguard_detect::{Detector, FittedDetector, Rule, RuleSet};
    /// use ndarray::{Array2, array};
    /// let normal = Array2::from_shape_fn((50, 2), |(i, j)| (i % 10) as f64 + j as f64);
    /// let rules = vec![Rule::Range { sensor: 1, min: 0.0, max: 11.0 }];
    /// let mut m = RuleSet::new(rules)?.fit(normal.view())?;
    /// let row = array![5.0, 40.0];
    /// assert!(m.update(row.view())? > m.threshold());
    /// assert_eq!(m.explain(row.view()), Some(vec![0.0, 1.0]), "sensor 1 broke its range");
    /// # Ok::<(), aeroguard_detect::Error>(())
    /// ```
    fn explain(&self, row: ArrayView1<f64>) -> Option<Vec<f64>> {
        let _ = row;
        None
    }

    /// Whether each row's score is above the threshold.
    fn is_anomaly(&self, x: ArrayView2<f64>) -> Result<Array1<bool>> {
        let t = self.threshold();
        Ok(self.score(x)?.mapv(|s| s > t))
    }
}

impl FittedDetector for Box<dyn FittedDetector> {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn n_features(&self) -> usize {
        (**self).n_features()
    }
    fn threshold(&self) -> f64 {
        (**self).threshold()
    }
    fn set_threshold(&mut self, threshold: f64) {
        (**self).set_threshold(threshold);
    }
    fn score(&self, x: ArrayView2<f64>) -> Result<Array1<f64>> {
        (**self).score(x)
    }
    fn update(&mut self, row: ArrayView1<f64>) -> Result<f64> {
        (**self).update(row)
    }
    fn update_at(&mut self, row: ArrayView1<f64>, at: aeroguard_core::Timestamp) -> Result<f64> {
        (**self).update_at(row, at)
    }
    fn reset(&mut self) {
        (**self).reset();
    }
    fn explain(&self, row: ArrayView1<f64>) -> Option<Vec<f64>> {
        (**self).explain(row)
    }
}

/// Contributions (any sign; negative ones count as 0) as shares summing to 1, `None` when none is above 0 or
/// one is not finite.
pub(crate) fn shares(mut contributions: Vec<f64>) -> Option<Vec<f64>> {
    let mut total = 0.0;
    for c in &mut contributions {
        if !c.is_finite() {
            return None;
        }
        *c = c.max(0.0);
        total += *c;
    }
    if total <= 0.0 {
        return None;
    }
    contributions.iter_mut().for_each(|c| *c /= total);
    Some(contributions)
}
