//! A fitted detector as Python holds it: scores, streaming state, save and load, pickling.

use aeroguard_detect::{FittedDetector, Model};
use numpy::{PyArray1, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::prelude::*;

/// A fitted detector: scores (higher is more anomalous) against its threshold.
#[pyclass(module = "aeroguard._aeroguard")]
#[derive(Debug, Clone)]
pub struct FittedModel {
    pub(crate) model: Model,
}

impl FittedModel {
    pub(crate) fn new(model: Model) -> Self {
        FittedModel { model }
    }
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
    ) -> crate::errors::Result<Bound<'py, PyArray1<f64>>> {
        let view = x.as_array();
        let model = &self.model;
        let scores = py.detach(|| model.score(view))?;
        Ok(PyArray1::from_owned_array(py, scores))
    }

    /// Scores the next row of a stream.
    fn update(&mut self, row: PyReadonlyArray1<'_, f64>) -> crate::errors::Result<f64> {
        Ok(self.model.update(row.as_array())?)
    }

    /// Forgets the streaming state.
    fn reset(&mut self) {
        self.model.reset();
    }

    /// The model as JSON.
    fn save(&self) -> crate::errors::Result<String> {
        Ok(self.model.save()?)
    }

    /// A model from `save()`'s JSON (checked).
    #[staticmethod]
    fn load(json: &str) -> crate::errors::Result<FittedModel> {
        Ok(FittedModel {
            model: Model::load(json)?,
        })
    }

    /// Pickling: the model travels as its checked JSON.
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<(Bound<'py, PyAny>, (String,))> {
        let restore = py.import("aeroguard.detect")?.getattr("_restore_model")?;
        Ok((restore, (self.save()?,)))
    }
}
