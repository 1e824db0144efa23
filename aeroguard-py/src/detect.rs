//! Fitted detectors and the voting ensemble. The Python classes in `aeroguard/detect.py` give them
//! scikit-learn's conventions; this module scores.

use aeroguard_detect::neural::{Autoencoder, ConvAutoencoder, Lstm, Training};
use aeroguard_detect::{
    Calibration, Detector, EnsembleRecipe, FittedDetector, IsolationForest, MaxSamples, Model, Vote, Voter,
};
use numpy::{PyArray1, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use serde_json::Value;

use crate::errors;

fn get<T: serde::de::DeserializeOwned>(p: &Value, key: &str) -> PyResult<Option<T>> {
    match p.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => serde_json::from_value(v.clone())
            .map(Some)
            .map_err(|e| PyValueError::new_err(format!("{key}: {e}"))),
    }
}

fn training(p: &Value) -> PyResult<Training> {
    let d = Training::default();
    Ok(Training {
        epochs: get(p, "epochs")?.unwrap_or(d.epochs),
        batch: get(p, "batch_size")?.unwrap_or(d.batch),
        learning_rate: get(p, "learning_rate")?.unwrap_or(d.learning_rate),
        patience: get(p, "patience")?.unwrap_or(d.patience),
        validation: get(p, "validation_fraction")?.unwrap_or(d.validation),
        verbose: get(p, "verbose")?.unwrap_or(false),
    })
}

fn calibration(p: &Value, default: Calibration) -> PyResult<Calibration> {
    if let Some(c) = get::<f64>(p, "contamination")? {
        return Ok(Calibration::Contamination(c));
    }
    Ok(get::<f64>(p, "threshold_z")?.map_or(default, Calibration::RobustZ))
}

/// Fits `d` on `x` without the GIL.
fn fit<D>(py: Python<'_>, d: D, x: &ndarray::Array2<f64>) -> PyResult<Model>
where
    D: Detector + Sync,
    D::Fitted: Into<Model> + Send,
{
    Ok(py.detach(|| d.fit(x.view())).map_err(errors::detect)?.into())
}

/// Fits detector `kind` with the JSON parameters on `x` (rows are samples).
#[pyfunction]
pub fn fit_model(
    py: Python<'_>,
    kind: &str,
    params: &str,
    x: PyReadonlyArray2<'_, f64>,
) -> PyResult<FittedModel> {
    let p: Value =
        serde_json::from_str(params).map_err(|e| PyValueError::new_err(format!("parameters: {e}")))?;
    let x = x.as_array().to_owned();
    let seed: u64 = get(&p, "random_state")?.unwrap_or(0);
    let model: Model = match kind {
        "isolation_forest" => {
            let max_samples = match p.get("max_samples") {
                None | Some(Value::Null) => MaxSamples::Auto,
                Some(Value::String(s)) if s == "auto" => MaxSamples::Auto,
                Some(Value::Number(n)) if n.is_u64() => MaxSamples::Count(n.as_u64().unwrap_or(256) as usize),
                Some(Value::Number(n)) => MaxSamples::Fraction(n.as_f64().unwrap_or(1.0)),
                Some(other) => {
                    return Err(PyValueError::new_err(format!(
                        "max_samples: {other} is not \"auto\", a count or a fraction"
                    )));
                }
            };
            let mut b = IsolationForest::builder()
                .n_estimators(get(&p, "n_estimators")?.unwrap_or(100))
                .max_samples(max_samples)
                .seed(seed)
                .calibration(calibration(&p, Calibration::Fixed(0.5))?);
            if let Some(n) = get::<i64>(&p, "n_jobs")? {
                b = b.threads(if n < 1 { 0 } else { n as usize });
            }
            let d = b.build().map_err(errors::detect)?;
            fit(py, d, &x)?
        }
        "autoencoder" => {
            let d = Autoencoder::builder()
                .window(get(&p, "window")?.unwrap_or(4))
                .hidden(get(&p, "hidden")?.unwrap_or(32))
                .bottleneck(get(&p, "bottleneck")?.unwrap_or(4))
                .training(training(&p)?)
                .calibration(calibration(&p, Calibration::RobustZ(5.0))?)
                .seed(seed)
                .build()
                .map_err(errors::detect)?;
            fit(py, d, &x)?
        }
        "conv_autoencoder" => {
            let d = ConvAutoencoder::builder()
                .window(get(&p, "window")?.unwrap_or(16))
                .channels(get(&p, "channels")?.unwrap_or(16))
                .bottleneck(get(&p, "bottleneck")?.unwrap_or(4))
                .training(training(&p)?)
                .calibration(calibration(&p, Calibration::RobustZ(5.0))?)
                .seed(seed)
                .build()
                .map_err(errors::detect)?;
            fit(py, d, &x)?
        }
        "lstm" => {
            let d = Lstm::builder()
                .hidden(get(&p, "hidden")?.unwrap_or(32))
                .sequence(get(&p, "sequence")?.unwrap_or(32))
                .training(training(&p)?)
                .calibration(calibration(&p, Calibration::RobustZ(5.0))?)
                .seed(seed)
                .build()
                .map_err(errors::detect)?;
            fit(py, d, &x)?
        }
        other => return Err(PyValueError::new_err(format!("unknown detector {other:?}"))),
    };
    Ok(FittedModel { model })
}

/// A fitted detector: scores (higher is more anomalous) against its threshold.
#[pyclass(module = "aeroguard")]
#[derive(Debug, Clone)]
pub struct FittedModel {
    model: Model,
}

#[pymethods]
impl FittedModel {
    /// The detector's name.
    #[getter]
    fn name(&self) -> String {
        self.model.name().to_string()
    }

    /// The calibrated threshold: a row is anomalous when its score is above it.
    #[getter]
    fn threshold(&self) -> f64 {
        self.model.threshold()
    }

    /// Columns the model was fitted on.
    #[getter]
    fn n_features(&self) -> usize {
        self.model.n_features()
    }

    /// Scores a batch (without the GIL).
    fn score<'py>(
        &self,
        py: Python<'py>,
        x: PyReadonlyArray2<'py, f64>,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let view = x.as_array();
        let model = &self.model;
        let scores = py.detach(|| model.score(view)).map_err(errors::detect)?;
        Ok(PyArray1::from_owned_array(py, scores))
    }

    /// Scores the next row of a stream.
    fn update(&mut self, row: PyReadonlyArray1<'_, f64>) -> PyResult<f64> {
        self.model.update(row.as_array()).map_err(errors::detect)
    }

    /// Forgets the streaming state.
    fn reset(&mut self) {
        self.model.reset();
    }

    /// The model as JSON.
    fn save(&self) -> PyResult<String> {
        self.model.save().map_err(errors::detect)
    }

    /// A model from `save()`'s JSON (checked).
    #[staticmethod]
    fn load(json: &str) -> PyResult<FittedModel> {
        Ok(FittedModel {
            model: Model::load(json).map_err(errors::detect)?,
        })
    }
}

/// One member's vote on a row.
#[pyclass(module = "aeroguard", frozen, get_all)]
#[derive(Debug, Clone)]
pub struct MemberRecord {
    /// The member's name.
    pub name: String,
    /// Its score (None if it abstained or failed).
    pub score: Option<f64>,
    /// Its threshold.
    pub threshold: f64,
    /// Its weight.
    pub weight: f64,
    /// `"yes"`, `"no"`, `"abstained"` or `"failed"`.
    pub vote: String,
    /// Why it abstained or failed.
    pub reason: Option<String>,
}

#[pymethods]
impl MemberRecord {
    fn __repr__(&self) -> String {
        format!(
            "MemberRecord({} {} score={:?} threshold={})",
            self.name, self.vote, self.score, self.threshold
        )
    }
}

/// The ensemble's decision on a row, with every member's record.
#[pyclass(module = "aeroguard", frozen, get_all)]
#[derive(Debug, Clone)]
pub struct Verdict {
    /// The alarm, after the temporal rule.
    pub alarm: bool,
    /// Whether this row's vote alone reached M.
    pub passed: bool,
    /// Weight of the yes votes.
    pub yes: f64,
    /// Weight needed.
    pub required: f64,
    /// Whether a member failed.
    pub degraded: bool,
    /// Every member's record.
    pub members: Vec<MemberRecord>,
}

#[pymethods]
impl Verdict {
    fn __repr__(&self) -> String {
        format!(
            "Verdict(alarm={}, yes={}/{})",
            self.alarm, self.yes, self.required
        )
    }
}

fn verdict(v: aeroguard_detect::Verdict) -> Verdict {
    Verdict {
        alarm: v.alarm,
        passed: v.passed,
        yes: v.yes,
        required: v.required,
        degraded: v.degraded,
        members: v
            .members
            .into_iter()
            .map(|m| {
                let (vote, reason) = match m.vote {
                    Vote::Yes => ("yes", None),
                    Vote::No => ("no", None),
                    Vote::Abstained(r) => ("abstained", Some(r)),
                    Vote::Failed(r) => ("failed", Some(r)),
                };
                MemberRecord {
                    name: m.name,
                    score: m.score,
                    threshold: m.threshold,
                    weight: m.weight,
                    vote: vote.into(),
                    reason,
                }
            })
            .collect(),
    }
}

/// The M-of-N ensemble (the recommended recipe), fitted on normal rows.
#[pyclass(module = "aeroguard")]
pub struct Ensemble {
    voter: Voter<Model>,
}

impl Ensemble {
    /// Bad input is a `ValueError` here, not a failed member voting yes (which is what the voter's fail-safe
    /// mode would make of it).
    fn check(&self, width: usize, finite: bool) -> PyResult<()> {
        let n = self.voter.members().first().map_or(0, |m| m.n_features());
        if width != n {
            return Err(PyValueError::new_err(format!(
                "rows have {width} columns, the ensemble was fitted on {n}"
            )));
        }
        if !finite {
            return Err(PyValueError::new_err("rows contain NaN or infinite values"));
        }
        Ok(())
    }
}

#[pymethods]
impl Ensemble {
    /// Fits the recommended ensemble on normal rows `x`: the three classic members, or with `neural=True` the
    /// five of `EnsembleRecipe::full` (3 of 5). `m` overrides the votes needed.
    #[staticmethod]
    #[pyo3(signature = (x, *, neural = false, m = None, random_state = 0))]
    fn fit(
        py: Python<'_>,
        x: PyReadonlyArray2<'_, f64>,
        neural: bool,
        m: Option<f64>,
        random_state: u64,
    ) -> PyResult<Ensemble> {
        let mut recipe = if neural {
            EnsembleRecipe::full()
        } else {
            EnsembleRecipe::default()
        };
        recipe.seed = random_state;
        if let Some(m) = m {
            recipe.m = m;
        }
        let x = x.as_array().to_owned();
        let voter = py.detach(|| recipe.fit(x.view())).map_err(errors::detect)?;
        Ok(Ensemble { voter })
    }

    /// The members' names.
    #[getter]
    fn members(&self) -> Vec<String> {
        self.voter
            .members()
            .iter()
            .map(|m| m.name().to_string())
            .collect()
    }

    /// Decides every row of `x` (one sequence from a fresh state), without the GIL.
    fn decide(&self, py: Python<'_>, x: PyReadonlyArray2<'_, f64>) -> PyResult<Vec<Verdict>> {
        let view = x.as_array();
        self.check(view.ncols(), view.iter().all(|v| v.is_finite()))?;
        let voter = &self.voter;
        let out = py.detach(|| voter.decide(view)).map_err(errors::detect)?;
        Ok(out.into_iter().map(verdict).collect())
    }

    /// Decides the next row of a stream.
    fn update(&mut self, row: PyReadonlyArray1<'_, f64>) -> PyResult<Verdict> {
        let row = row.as_array();
        self.check(row.len(), row.iter().all(|v| v.is_finite()))?;
        Ok(verdict(self.voter.update(row)))
    }

    /// The ensemble as JSON.
    fn save(&self) -> PyResult<String> {
        self.voter.save().map_err(errors::detect)
    }

    /// An ensemble from `save()`'s JSON (checked).
    #[staticmethod]
    fn load(json: &str) -> PyResult<Ensemble> {
        Ok(Ensemble {
            voter: Voter::<Model>::load(json).map_err(errors::detect)?,
        })
    }
}
