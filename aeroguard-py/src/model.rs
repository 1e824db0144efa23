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

    /// Scores a batch (without the GIL), read as one sequence from a fresh state. With `times_ms` (one time
    /// per row, ms since the epoch, not decreasing) rules that persist in seconds count the rows' own times.
    #[pyo3(signature = (x, times_ms = None))]
    fn score<'py>(
        &self,
        py: Python<'py>,
        x: PyReadonlyArray2<'py, f64>,
        times_ms: Option<PyReadonlyArray1<'py, i64>>,
    ) -> crate::errors::Result<Bound<'py, PyArray1<f64>>> {
        let view = x.as_array();
        let model = &self.model;
        let scores = match times_ms {
            None => py.detach(|| model.score(view))?,
            Some(t) => {
                let times = t.as_array();
                check_times(view.nrows(), times)?;
                py.detach(|| scored_at(model, view, times))?
            }
        };
        Ok(PyArray1::from_owned_array(py, scores))
    }

    /// Scores the next row of a stream, measured at `at_ms` (ms since the epoch) when given: rules that
    /// persist in seconds need it.
    #[pyo3(signature = (row, at_ms = None))]
    fn update(&mut self, row: PyReadonlyArray1<'_, f64>, at_ms: Option<i64>) -> crate::errors::Result<f64> {
        let row = row.as_array();
        Ok(match at_ms {
            Some(at) => self
                .model
                .update_at(row, aeroguard_core::Timestamp::from_millis(at))?,
            None => self.model.update(row)?,
        })
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

/// One time per row, not decreasing.
fn check_times(rows: usize, times: ndarray::ArrayView1<i64>) -> crate::errors::Result<()> {
    if times.len() != rows {
        return Err(crate::errors::value_error(format!(
            "times_ms has {} values for {rows} rows",
            times.len()
        )));
    }
    if let Some(i) = (1..times.len()).find(|&i| times[i] < times[i - 1]) {
        return Err(crate::errors::value_error(format!(
            "times_ms[{i}] = {} is before times_ms[{}] = {}",
            times[i],
            i - 1,
            times[i - 1]
        )));
    }
    Ok(())
}

/// The rows scored one by one at their times, from a fresh copy of the model.
fn scored_at(
    model: &Model,
    x: ndarray::ArrayView2<f64>,
    times: ndarray::ArrayView1<i64>,
) -> aeroguard_detect::Result<ndarray::Array1<f64>> {
    let mut fresh = model.clone();
    fresh.reset();
    x.rows()
        .into_iter()
        .zip(times)
        .map(|(row, &at)| fresh.update_at(row, aeroguard_core::Timestamp::from_millis(at)))
        .collect()
}
