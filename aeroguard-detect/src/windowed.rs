//! A detector fed by a causal [`FeatureWindow`] instead of the raw rows.

use ndarray::{Array1, ArrayView1, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::{Detector, FeatureState, FeatureWindow, FittedDetector, Result, input};

/// Runs `inner` on the features of a [`FeatureWindow`]: fitted on the training rows' features, scoring a
/// batch as one sequence, and carrying the window forward in streaming use.
///
/// ```
/// use aeroguard_detect::{Detector, FeatureWindow, FittedDetector, IsolationForest, Windowed};
/// use ndarray::Array2;
/// let normal = Array2::from_shape_fn((300, 2), |(i, j)| ((i * 7 + j * 13) % 17) as f64);
/// let features = FeatureWindow::builder().window(5).std(true).build()?;
/// let forest = IsolationForest::builder().contamination(0.01).build()?;
/// let mut model = Windowed::new("forest(window 5)", features, forest).fit(normal.view())?;
/// assert_eq!(model.n_features(), 2);
/// let batch = model.score(normal.view())?;
/// for (i, row) in normal.outer_iter().enumerate().take(10) {
///     assert_eq!(model.update(row)?, batch[i]);
/// }
/// # Ok::<(), aeroguard_detect::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Windowed<D> {
    name: String,
    features: FeatureWindow,
    inner: D,
}

impl<D> Windowed<D> {
    /// `inner` on `features`, named `name` in vote records.
    pub fn new(name: impl Into<String>, features: FeatureWindow, inner: D) -> Self {
        Windowed {
            name: name.into(),
            features,
            inner,
        }
    }
}

/// A fitted [`Windowed`] detector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedWindowed<F> {
    name: String,
    features: FeatureWindow,
    state: FeatureState,
    n_features: usize,
    inner: F,
}

impl<F> FittedWindowed<F> {
    /// The model on the features.
    pub fn inner(&self) -> &F {
        &self.inner
    }

    /// Checks a loaded model: the state fits the input width, the inner model the feature width.
    pub(crate) fn check(&self, inner_width: usize) -> Result<()> {
        self.state.check(self.n_features)?;
        // The spec the scoring path uses must be the state's (which `check` validated), not merely parse.
        if self.state.spec() != &self.features {
            return Err(crate::Error::Model {
                operation: "load",
                reason: format!("`{}`: the feature window differs from its state's", self.name),
                cause: None,
            });
        }
        if inner_width != self.n_features * self.features.per_column() {
            return Err(crate::Error::Model {
                operation: "load",
                reason: format!("`{}`: inner model width", self.name),
                cause: None,
            });
        }
        Ok(())
    }

    pub(crate) fn map_inner<G>(self, f: impl FnOnce(F) -> G) -> FittedWindowed<G> {
        let FittedWindowed {
            name,
            features,
            state,
            n_features,
            inner,
        } = self;
        FittedWindowed {
            name,
            features,
            state,
            n_features,
            inner: f(inner),
        }
    }
}

impl<D: Detector> Detector for Windowed<D> {
    type Fitted = FittedWindowed<D::Fitted>;

    fn fit(&self, x: ArrayView2<f64>) -> Result<Self::Fitted> {
        input::training("windowed detector", x, 1)?;
        let f = self.features.transform(x)?;
        let inner = self.inner.fit(f.view())?;
        Ok(FittedWindowed {
            name: self.name.clone(),
            features: self.features.clone(),
            state: self.features.state(x.ncols()),
            n_features: x.ncols(),
            inner,
        })
    }
}

impl<F: FittedDetector> FittedDetector for FittedWindowed<F> {
    fn name(&self) -> &str {
        &self.name
    }
    fn n_features(&self) -> usize {
        self.n_features
    }
    fn threshold(&self) -> f64 {
        self.inner.threshold()
    }
    fn set_threshold(&mut self, threshold: f64) {
        self.inner.set_threshold(threshold);
    }
    fn score(&self, x: ArrayView2<f64>) -> Result<Array1<f64>> {
        input::check("rows to score", x, self.n_features)?;
        self.inner.score(self.features.transform(x)?.view())
    }
    fn update(&mut self, row: ArrayView1<f64>) -> Result<f64> {
        let f = self.state.push(row)?;
        self.inner.update(f.view())
    }
    fn update_at(&mut self, row: ArrayView1<f64>, at: aeroguard_core::Timestamp) -> Result<f64> {
        let f = self.state.push(row)?;
        self.inner.update_at(f.view(), at)
    }
    fn reset(&mut self) {
        self.state.reset();
        self.inner.reset();
    }
    /// The inner model's shares of the last row's features, each feature's given to the input column it was
    /// computed from.
    fn explain(&self, _row: ArrayView1<f64>) -> Option<Vec<f64>> {
        let features = self.state.current()?;
        let inner = self.inner.explain(ArrayView1::from(&features[..]))?;
        let per = self.features.per_column().max(1);
        let mut by_column = vec![0.0; self.n_features];
        for (k, share) in inner.iter().enumerate() {
            if let Some(c) = by_column.get_mut(k / per) {
                *c += share;
            }
        }
        crate::detector::shares(by_column)
    }
}
