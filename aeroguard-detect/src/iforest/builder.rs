//! The forest's parameters, each checked as it is set and named in errors.

use super::{IsolationForest, MaxSamples};
use crate::{Calibration, Error, Result, limits};

/// Builds [`IsolationForest`] parameters; every setter's name is the parameter's name in errors.
#[derive(Debug, Clone)]
pub struct IsolationForestBuilder(pub(super) IsolationForest);

impl IsolationForestBuilder {
    /// The number of trees.
    pub fn n_estimators(mut self, n: usize) -> Self {
        self.0.n_estimators = n;
        self
    }
    /// Rows per tree.
    pub fn max_samples(mut self, m: MaxSamples) -> Self {
        self.0.max_samples = m;
        self
    }
    /// The seed: the same seed and data give the same model.
    pub fn seed(mut self, seed: u64) -> Self {
        self.0.seed = seed;
        self
    }
    /// How the threshold is set from the training scores.
    pub fn calibration(mut self, c: Calibration) -> Self {
        self.0.calibration = c;
        self
    }
    /// scikit-learn's `contamination`: the expected fraction of anomalies in the training data.
    pub fn contamination(self, c: f64) -> Self {
        self.calibration(Calibration::Contamination(c))
    }
    /// How many parts a large batch is split into on rayon's thread pool (0: four per pool thread; 1: score on
    /// the calling thread). Batches under 1,024 rows always stay on the calling thread.
    pub fn threads(mut self, n: usize) -> Self {
        self.0.threads = n;
        self
    }
    /// Validates the parameters.
    pub fn build(self) -> Result<IsolationForest> {
        let p = self.0;
        if p.n_estimators == 0 {
            return Err(Error::parameter(
                "n_estimators",
                p.n_estimators,
                "must be at least 1",
            ));
        }
        limits::at_most("n_estimators", p.n_estimators, limits::MAX_TREES)?;
        limits::at_most("threads", p.threads, limits::MAX_THREADS)?;
        match p.max_samples {
            MaxSamples::Count(0) => return Err(Error::parameter("max_samples", 0, "must be at least 1")),
            MaxSamples::Count(n) => limits::at_most("max_samples", n, limits::MAX_SAMPLES)?,
            MaxSamples::Fraction(f) if !(f > 0.0 && f <= 1.0) => {
                return Err(Error::parameter("max_samples", f, "a fraction lies in (0, 1]"));
            }
            _ => {}
        }
        p.calibration.validate()?;
        Ok(p)
    }
}
