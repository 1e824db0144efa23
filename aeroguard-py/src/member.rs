//! Members of an ensemble: AeroGuard's own fitted models, or a Python object that votes (a scikit-learn or
//! PyOD model, a plain Python rule) through `aeroguard.Member`, which puts every convention on one scale.

use std::sync::Arc;

use aeroguard_detect::{Error, FittedDetector, Model};
use ndarray::{Array1, ArrayView1, ArrayView2, Axis};
use numpy::{PyArray2, PyReadonlyArray1, ToPyArray};
use pyo3::prelude::*;
use serde::{Serialize, Serializer};

/// A member of a Python-side ensemble.
#[derive(Debug, Clone)]
pub enum Member {
    /// One of AeroGuard's detectors (saves and loads).
    Native(Model),
    /// A Python object wrapped in `aeroguard.Member` (votes, is not saved).
    Python(PyMember),
}

/// A Python model or rule: its `aeroguard.Member` wrapper, whose `scores(x)` returns one score per row, higher
/// being more anomalous, anomalous above `threshold`.
#[derive(Clone)]
pub struct PyMember {
    wrapper: Arc<Py<PyAny>>,
    name: String,
    threshold: f64,
    n_features: usize,
}

impl std::fmt::Debug for PyMember {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PyMember")
            .field("name", &self.name)
            .field("threshold", &self.threshold)
            .finish()
    }
}

impl PyMember {
    /// Reads an `aeroguard.Member`: its name, threshold and width (`None` when it cannot tell).
    pub fn from_wrapper(wrapper: &Bound<'_, PyAny>) -> PyResult<(Self, Option<usize>)> {
        let name: String = wrapper.getattr("name")?.extract()?;
        let threshold: f64 = wrapper.getattr("threshold")?.extract()?;
        let width: Option<usize> = wrapper.getattr("n_features")?.extract()?;
        let member = PyMember {
            wrapper: Arc::new(wrapper.clone().unbind()),
            name,
            threshold,
            n_features: width.unwrap_or(0),
        };
        Ok((member, width))
    }

    /// Sets the width for a member that could not tell it (taken from the other members).
    pub fn set_width(&mut self, width: usize) {
        self.n_features = width;
    }

    fn failed(&self, reason: impl std::fmt::Display) -> Error {
        Error::Model {
            operation: "score",
            reason: format!("member {}: {reason}", self.name),
            cause: None,
        }
    }

    /// Calls the wrapper's `scores` on `x`, with the GIL; a Python exception or a wrong number of scores is a
    /// failed vote, not a crash.
    fn call(&self, x: ArrayView2<f64>) -> aeroguard_detect::Result<Array1<f64>> {
        Python::attach(|py| {
            let rows: Bound<'_, PyArray2<f64>> = x.to_pyarray(py);
            let out = self
                .wrapper
                .bind(py)
                .call_method1("scores", (rows,))
                .map_err(|e| self.failed(e))?;
            let scores: PyReadonlyArray1<'_, f64> = out
                .extract()
                .map_err(|_| self.failed("scores(x) did not return a 1-D float array"))?;
            let scores = scores.as_array().to_owned();
            if scores.len() != x.nrows() {
                return Err(self.failed(format!("{} scores for {} rows", scores.len(), x.nrows())));
            }
            Ok(scores)
        })
    }
}

impl Member {
    /// The Python member's name, if this is one.
    pub fn python_name(&self) -> Option<&str> {
        match self {
            Member::Native(_) => None,
            Member::Python(p) => Some(&p.name),
        }
    }

    fn inner(&self) -> &dyn FittedDetector {
        match self {
            Member::Native(m) => m,
            Member::Python(p) => p,
        }
    }

    fn inner_mut(&mut self) -> &mut dyn FittedDetector {
        match self {
            Member::Native(m) => m,
            Member::Python(p) => p,
        }
    }
}

impl FittedDetector for PyMember {
    fn name(&self) -> &str {
        &self.name
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
    fn score(&self, x: ArrayView2<f64>) -> aeroguard_detect::Result<Array1<f64>> {
        self.call(x)
    }
    fn update(&mut self, row: ArrayView1<f64>) -> aeroguard_detect::Result<f64> {
        Ok(self.call(row.insert_axis(Axis(0)))?[0])
    }
    fn reset(&mut self) {}
}

impl FittedDetector for Member {
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
    fn score(&self, x: ArrayView2<f64>) -> aeroguard_detect::Result<Array1<f64>> {
        self.inner().score(x)
    }
    fn update(&mut self, row: ArrayView1<f64>) -> aeroguard_detect::Result<f64> {
        self.inner_mut().update(row)
    }
    fn update_at(
        &mut self,
        row: ArrayView1<f64>,
        at: aeroguard_core::Timestamp,
    ) -> aeroguard_detect::Result<f64> {
        self.inner_mut().update_at(row, at)
    }
    fn reset(&mut self) {
        self.inner_mut().reset();
    }
    fn explain(&self, row: ArrayView1<f64>) -> Option<Vec<f64>> {
        self.inner().explain(row)
    }
}

/// Saved as the model itself (the format of `Voter<Model>`); a Python member cannot be saved.
impl Serialize for Member {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Member::Native(m) => m.serialize(s),
            Member::Python(p) => Err(serde::ser::Error::custom(format!(
                "member {} is a Python object, which AeroGuard cannot save",
                p.name
            ))),
        }
    }
}

/// The members `Ensemble.of` was given: AeroGuard's fitted models as they are, anything else through
/// `aeroguard.members.as_member`; every member takes the same number of columns (a Python member that cannot
/// tell takes the others').
pub fn members_of(py: Python<'_>, given: &[Bound<'_, PyAny>]) -> PyResult<Vec<Member>> {
    use pyo3::exceptions::PyValueError;
    let ours = py.import("aeroguard.detect")?.getattr("_Detector")?;
    let as_member = py.import("aeroguard.members")?.getattr("as_member")?;
    let mut out = Vec::with_capacity(given.len());
    let mut widths = Vec::with_capacity(given.len());
    for (i, m) in given.iter().enumerate() {
        let fitted = if m.is_instance(&ours)? {
            let model = m.getattr("model_").ok().filter(|x| !x.is_none()).ok_or_else(|| {
                PyValueError::new_err(format!("members[{i}]: not fitted: call fit(X) first"))
            })?;
            Some(model)
        } else {
            m.is_instance_of::<crate::model::FittedModel>().then(|| m.clone())
        };
        if let Some(model) = fitted {
            let model = model
                .extract::<PyRef<'_, crate::model::FittedModel>>()?
                .model
                .clone();
            widths.push(Some(model.n_features()));
            out.push(Member::Native(model));
            continue;
        }
        let wrapper = as_member
            .call1((m,))
            .map_err(|e| PyValueError::new_err(format!("members[{i}]: {}", e.value(py))))?;
        let (member, width) = PyMember::from_wrapper(&wrapper)?;
        widths.push(width);
        out.push(Member::Python(member));
    }
    let known: Vec<(usize, usize)> = widths
        .iter()
        .enumerate()
        .filter_map(|(i, w)| w.map(|w| (i, w)))
        .collect();
    let Some(&(first, width)) = known.first() else {
        return Err(PyValueError::new_err(
            "no member tells how many columns it takes: give aeroguard.Member(..., n_features=N)",
        ));
    };
    if let Some((i, w)) = known.iter().find(|(_, w)| *w != width) {
        return Err(PyValueError::new_err(format!(
            "members[{i}] takes {w} columns, members[{first}] takes {width}"
        )));
    }
    for m in &mut out {
        if let Member::Python(p) = m
            && p.n_features == 0
        {
            p.set_width(width);
        }
    }
    Ok(out)
}
