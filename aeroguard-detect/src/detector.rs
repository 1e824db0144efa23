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
}
