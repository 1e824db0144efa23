//! One serialisable type for every fitted detector, so models and whole ensembles save and load.

use ndarray::{Array1, ArrayView1, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::{
    Error, FittedClusterProfile, FittedDetector, FittedIsolationForest, FittedRules, FittedWindowed, Result,
};

/// Any fitted detector of this crate. Saves to and loads from JSON with its parameters, threshold and
/// streaming state.
///
/// ```
/// use aeroguard_detect::{Detector, FittedDetector, IsolationForest, Model};
/// use ndarray::Array2;
/// let x = Array2::from_shape_fn((100, 2), |(i, j)| ((i * 3 + j) % 7) as f64);
/// let model = Model::from(IsolationForest::builder().n_estimators(10).build()?.fit(x.view())?);
/// let loaded = Model::load(&model.save()?)?;
/// assert_eq!(loaded.score(x.view())?, model.score(x.view())?);
/// assert!(matches!(Model::load("{\"model\": \"nope\"}"), Err(aeroguard_detect::Error::Model { .. })));
/// # Ok::<(), aeroguard_detect::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "model", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Model {
    /// An isolation forest.
    IsolationForest(FittedIsolationForest),
    /// Physical rules.
    Rules(FittedRules),
    /// A clustering profile.
    ClusterProfile(Box<FittedClusterProfile>),
    /// A model on causal feature windows.
    Windowed(Box<FittedWindowed<Model>>),
}

impl Model {
    /// The model as JSON.
    pub fn save(&self) -> Result<String> {
        serde_json::to_string(self).map_err(|e| Error::Model {
            operation: "save",
            reason: e.to_string(),
        })
    }

    /// A model from [`save`](Model::save)'s JSON.
    pub fn load(json: &str) -> Result<Model> {
        serde_json::from_str(json).map_err(|e| Error::Model {
            operation: "load",
            reason: e.to_string(),
        })
    }

    fn inner(&self) -> &dyn FittedDetector {
        match self {
            Model::IsolationForest(m) => m,
            Model::Rules(m) => m,
            Model::ClusterProfile(m) => m.as_ref(),
            Model::Windowed(m) => m.as_ref(),
        }
    }

    fn inner_mut(&mut self) -> &mut dyn FittedDetector {
        match self {
            Model::IsolationForest(m) => m,
            Model::Rules(m) => m,
            Model::ClusterProfile(m) => m.as_mut(),
            Model::Windowed(m) => m.as_mut(),
        }
    }
}

impl From<FittedIsolationForest> for Model {
    fn from(m: FittedIsolationForest) -> Self {
        Model::IsolationForest(m)
    }
}
impl From<FittedRules> for Model {
    fn from(m: FittedRules) -> Self {
        Model::Rules(m)
    }
}
impl From<FittedClusterProfile> for Model {
    fn from(m: FittedClusterProfile) -> Self {
        Model::ClusterProfile(Box::new(m))
    }
}
impl<F: Into<Model>> From<FittedWindowed<F>> for Model {
    fn from(m: FittedWindowed<F>) -> Self {
        Model::Windowed(Box::new(m.map_inner(Into::into)))
    }
}

impl FittedDetector for Model {
    fn name(&self) -> &str {
        self.inner().name()
    }
    fn n_features(&self) -> usize {
        self.inner().n_features()
    }
    fn threshold(&self) -> f64 {
        self.inner().threshold()
    }
    fn set_threshold(&mut self, threshold: f64) {
        self.inner_mut().set_threshold(threshold);
    }
    fn score(&self, x: ArrayView2<f64>) -> Result<Array1<f64>> {
        self.inner().score(x)
    }
    fn update(&mut self, row: ArrayView1<f64>) -> Result<f64> {
        self.inner_mut().update(row)
    }
    fn reset(&mut self) {
        self.inner_mut().reset();
    }
}
