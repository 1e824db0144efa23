//! One serialisable type for every fitted detector, so models and whole ensembles save and load.

use ndarray::{Array1, ArrayView1, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::neural::{FittedAutoencoder, FittedConvAutoencoder, FittedLstm};
use crate::{
    Error, FittedClusterProfile, FittedDetector, FittedIsolationForest, FittedLevelShift, FittedRated,
    FittedRelations, FittedRules, FittedSurprise, FittedWindowed, Result, Voter,
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
/// // A damaged tree (a child index outside the tree) is refused on load, not a panic when scoring.
/// let damaged = model.save()?.replacen("\"left\":1,", "\"left\":99999,", 1);
/// assert_ne!(damaged, model.save()?);
/// assert!(matches!(Model::load(&damaged), Err(aeroguard_detect::Error::Model { .. })));
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
    /// A dense autoencoder.
    Autoencoder(Box<FittedAutoencoder>),
    /// A convolutional autoencoder.
    ConvAutoencoder(Box<FittedConvAutoencoder>),
    /// An LSTM predictor.
    Lstm(Box<FittedLstm>),
    /// A level-shift detector.
    LevelShift(Box<FittedLevelShift>),
    /// A model fed slow sensors as rates.
    Rated(Box<FittedRated<Model>>),
    /// A relations detector.
    Relations(Box<FittedRelations>),
    /// A principal-subspace (T² and Q) detector.
    Subspace(Box<crate::FittedSubspace>),
    /// A surprise detector.
    Surprise(Box<FittedSurprise>),
    /// A model whose alarms settle after a fault.
    Settled(Box<crate::FittedSettled<Model>>),
}

impl Model {
    /// The model as JSON.
    pub fn save(&self) -> Result<String> {
        serde_json::to_string(self).map_err(|e| Error::Model {
            reason: e.to_string(),
            operation: "save",
            cause: Some(aeroguard_core::Cause::new(e)),
        })
    }

    /// A model from [`save`](Model::save)'s JSON. The model is checked as well as parsed, so a damaged or
    /// hand-edited file is an error here rather than a panic when scoring.
    pub fn load(json: &str) -> Result<Model> {
        check_size(json)?;
        let m: Model = serde_json::from_str(json).map_err(|e| Error::Model {
            reason: e.to_string(),
            operation: "load",
            cause: Some(aeroguard_core::Cause::new(e)),
        })?;
        m.check()?;
        Ok(m)
    }

    /// Checks the model's internal consistency (what [`load`](Model::load) does after parsing).
    pub fn check(&self) -> Result<()> {
        match self {
            Model::IsolationForest(m) => m.check(),
            Model::Rules(m) => m.check(),
            Model::ClusterProfile(m) => m.check(),
            Model::Windowed(w) => {
                w.inner().check()?;
                w.check(w.inner().n_features())
            }
            Model::Autoencoder(m) => m.check(),
            Model::ConvAutoencoder(m) => m.check(),
            Model::Lstm(m) => m.check(),
            Model::LevelShift(m) => m.check(),
            Model::Relations(m) => m.check(),
            Model::Subspace(m) => m.check(),
            Model::Surprise(m) => m.check(),
            Model::Rated(r) => {
                r.inner().check()?;
                r.check(r.inner().n_features())
            }
            Model::Settled(m) => {
                m.inner().check()?;
                m.check()
            }
        }
    }

    fn inner(&self) -> &dyn FittedDetector {
        match self {
            Model::IsolationForest(m) => m,
            Model::Rules(m) => m,
            Model::ClusterProfile(m) => m.as_ref(),
            Model::Windowed(m) => m.as_ref(),
            Model::Autoencoder(m) => m.as_ref(),
            Model::ConvAutoencoder(m) => m.as_ref(),
            Model::Lstm(m) => m.as_ref(),
            Model::LevelShift(m) => m.as_ref(),
            Model::Relations(m) => m.as_ref(),
            Model::Subspace(m) => m.as_ref(),
            Model::Surprise(m) => m.as_ref(),
            Model::Rated(m) => m.as_ref(),
            Model::Settled(m) => m.as_ref(),
        }
    }

    fn inner_mut(&mut self) -> &mut dyn FittedDetector {
        match self {
            Model::IsolationForest(m) => m,
            Model::Rules(m) => m,
            Model::ClusterProfile(m) => m.as_mut(),
            Model::Windowed(m) => m.as_mut(),
            Model::Autoencoder(m) => m.as_mut(),
            Model::ConvAutoencoder(m) => m.as_mut(),
            Model::Lstm(m) => m.as_mut(),
            Model::LevelShift(m) => m.as_mut(),
            Model::Relations(m) => m.as_mut(),
            Model::Subspace(m) => m.as_mut(),
            Model::Surprise(m) => m.as_mut(),
            Model::Rated(m) => m.as_mut(),
            Model::Settled(m) => m.as_mut(),
        }
    }
}

impl Voter<Model> {
    /// The ensemble as JSON: members, weights, vote rule (not the streaming window of recent votes).
    pub fn save(&self) -> Result<String> {
        serde_json::to_string(self).map_err(|e| Error::Model {
            reason: e.to_string(),
            operation: "save",
            cause: Some(aeroguard_core::Cause::new(e)),
        })
    }

    /// An ensemble from [`save`](Voter::save)'s JSON, every member checked as [`Model::load`] does and the
    /// vote rule validated as [`Voter::builder`] does.
    ///
    /// ```
    /// use aeroguard_detect::{EnsembleRecipe, Model, Voter};
    /// use ndarray::Array2;
    /// let x = Array2::from_shape_fn((400, 2), |(i, j)| ((i * 7 + j * 3) % 11) as f64);
    /// let voter = EnsembleRecipe::default().fit(x.view())?;
    /// let loaded = Voter::<Model>::load(&voter.save()?)?;
    /// assert_eq!(loaded.decide(x.view())?, voter.decide(x.view())?);
    /// let no_members = voter.save()?.replacen("\"members\":[", "\"members\":[],\"x\":[", 1);
    /// assert!(Voter::<Model>::load(&no_members).is_err());
    /// # Ok::<(), aeroguard_detect::Error>(())
    /// ```
    pub fn load(json: &str) -> Result<Voter<Model>> {
        check_size(json)?;
        let v: Voter<Model> = serde_json::from_str(json).map_err(|e| Error::Model {
            reason: e.to_string(),
            operation: "load",
            cause: Some(aeroguard_core::Cause::new(e)),
        })?;
        v.members().iter().try_for_each(Model::check)?;
        Ok(v)
    }
}

/// A model file larger than [`limits::MAX_MODEL_BYTES`](crate::limits::MAX_MODEL_BYTES) is refused before
/// parsing.
fn check_size(json: &str) -> Result<()> {
    crate::limits::loaded_at_most("model file bytes", json.len(), crate::limits::MAX_MODEL_BYTES)
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
impl From<FittedAutoencoder> for Model {
    fn from(m: FittedAutoencoder) -> Self {
        Model::Autoencoder(Box::new(m))
    }
}
impl From<FittedConvAutoencoder> for Model {
    fn from(m: FittedConvAutoencoder) -> Self {
        Model::ConvAutoencoder(Box::new(m))
    }
}
impl From<FittedLstm> for Model {
    fn from(m: FittedLstm) -> Self {
        Model::Lstm(Box::new(m))
    }
}
impl From<FittedRelations> for Model {
    fn from(m: FittedRelations) -> Self {
        Model::Relations(Box::new(m))
    }
}
impl From<crate::FittedSubspace> for Model {
    fn from(m: crate::FittedSubspace) -> Self {
        Model::Subspace(Box::new(m))
    }
}
impl From<FittedSurprise> for Model {
    fn from(m: FittedSurprise) -> Self {
        Model::Surprise(Box::new(m))
    }
}
impl From<FittedLevelShift> for Model {
    fn from(m: FittedLevelShift) -> Self {
        Model::LevelShift(Box::new(m))
    }
}
impl<F: Into<Model>> From<FittedRated<F>> for Model {
    fn from(m: FittedRated<F>) -> Self {
        Model::Rated(Box::new(m.map_inner(Into::into)))
    }
}
impl<F: Into<Model>> From<crate::FittedSettled<F>> for Model {
    fn from(m: crate::FittedSettled<F>) -> Self {
        Model::Settled(Box::new(m.map_inner(Into::into)))
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
    fn update_at(&mut self, row: ArrayView1<f64>, at: aeroguard_core::Timestamp) -> Result<f64> {
        self.inner_mut().update_at(row, at)
    }
    fn reset(&mut self) {
        self.inner_mut().reset();
    }
    fn explain(&self, row: ArrayView1<f64>) -> Option<Vec<f64>> {
        self.inner().explain(row)
    }
}
