//! What each series fits once its training readings are in: an ensemble, or the surprise detector alone.

use aeroguard_detect::{Detector, EnsembleRecipe, Model, Surprise, Voter};
use ndarray::ArrayView2;

/// What each series fits once trained. Either way the series scores with a [`Voter`], so verdicts carry the
/// same vote record and a stored model resumes the same way.
///
/// ```
/// use aeroguard_sentinel::SeriesModel;
/// use ndarray::Array2;
/// // One web metric: the surprise detector, a vote of one.
/// let model = SeriesModel::Surprise(aeroguard_detect::Surprise::builder().build()?);
/// assert_eq!(model.rows_needed(), 131);
/// let rows = Array2::from_shape_fn((200, 1), |(i, _)| 40.0 + ((i * 7919) % 13) as f64);
/// let voter = model.fit(rows.view())?;
/// assert_eq!(voter.members().len(), 1);
/// assert!(model.fit(rows.slice_axis(ndarray::Axis(0), (..100).into())).is_err(), "too few rows");
/// # Ok::<(), aeroguard_detect::Error>(())
/// ```
// Held once in the options and cloned once per series: a box would only make it awkward to write.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum SeriesModel {
    /// An M-of-N ensemble: `EnsembleRecipe::default()` (rules, k-means and an isolation forest, 2 of 3) or
    /// `EnsembleRecipe::full()` (adds the neural members, the level shift, the relations and the subspace member). Built for
    /// a plant's several sensors.
    Ensemble(EnsembleRecipe),
    /// The surprise detector alone, a vote of one: for single metrics (a service's latency, one temperature)
    /// whose normal drifts and whose faults are spikes and sudden changes (on NAB: 41.4, against 29.3 for the best
    /// plant detector). Needs [`Surprise::min_rows`] training readings. Memory: its likelihoods keep 8,640
    /// means for each value and change, about 140 KB per value of a series once it has streamed that long (a
    /// 1-value series 140 KB; `max_series` 1,000 of them, 140 MB; the 64 values a reading may carry, 9 MB a
    /// series).
    Surprise(Surprise),
}

impl Default for SeriesModel {
    fn default() -> Self {
        SeriesModel::Ensemble(EnsembleRecipe::default())
    }
}

impl SeriesModel {
    /// Fits on the training rows.
    pub fn fit(&self, rows: ArrayView2<f64>) -> aeroguard_detect::Result<Voter<Model>> {
        match self {
            SeriesModel::Ensemble(recipe) => recipe.fit(rows),
            SeriesModel::Surprise(d) => Voter::builder(vec![Model::from(d.fit(rows)?)]).m(1.0).build(),
        }
    }

    /// The fewest training readings it fits on: the service's `train_rows` must be at least this.
    pub fn rows_needed(&self) -> usize {
        match self {
            SeriesModel::Ensemble(_) => crate::MIN_TRAIN_ROWS,
            SeriesModel::Surprise(d) => d.min_rows(),
        }
    }
}
