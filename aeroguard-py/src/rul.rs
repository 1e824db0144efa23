//! The remaining-life model as Python holds it: `fit(units)` on run-to-failure histories (a list of 2-D arrays,
//! one row per cycle), `predict(unit)` and `predict_interval(unit)` per cycle, `stream()` for live units.

use aeroguard_prognostics::rul::{RulModel, RulOptions};
use numpy::{PyArray1, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::prelude::*;
use std::sync::Arc;

use crate::errors::Result;

/// Remaining useful life: gradient-boosted trees on causal features, conformal intervals.
#[pyclass(module = "aeroguard._aeroguard")]
#[derive(Debug, Clone)]
pub struct RemainingLife {
    options: RulOptions,
    model: Option<Arc<RulModel>>,
}

impl RemainingLife {
    fn fitted(&self) -> PyResult<&Arc<RulModel>> {
        self.model
            .as_ref()
            .ok_or_else(|| crate::errors::not_fitted("the remaining-life model"))
    }

    fn estimates(
        &self,
        unit: PyReadonlyArray2<'_, f64>,
    ) -> Result<Vec<aeroguard_prognostics::rul::RulEstimate>> {
        Ok(self.fitted()?.predict_unit(unit.as_array())?)
    }
}

#[pymethods]
impl RemainingLife {
    #[new]
    #[pyo3(signature = (*, cap = 125.0, coverage = 0.9, folds = 5, bins = 4, seed = 7))]
    fn new(cap: f64, coverage: f64, folds: usize, bins: usize, seed: u64) -> Self {
        let options = RulOptions {
            cap,
            coverage,
            folds,
            bins,
            seed,
            ..RulOptions::default()
        };
        RemainingLife { options, model: None }
    }

    /// Fits on run-to-failure histories, each a 2-D array (cycles × columns, the last row the failure), without
    /// the GIL; returns self. Settings are checked here: a bad one is a `ValueError` naming it.
    fn fit<'py>(
        mut slf: PyRefMut<'py, Self>,
        units: Vec<PyReadonlyArray2<'py, f64>>,
    ) -> Result<PyRefMut<'py, Self>> {
        let views: Vec<_> = units.iter().map(|u| u.as_array()).collect();
        let options = slf.options.clone();
        let model = slf.py().detach(|| RulModel::fit(&views, &options))?;
        slf.model = Some(Arc::new(model));
        Ok(slf)
    }

    /// Per cycle of `unit`, the remaining life estimated from that cycle and the ones before it.
    fn predict<'py>(
        &self,
        py: Python<'py>,
        unit: PyReadonlyArray2<'py, f64>,
    ) -> Result<Bound<'py, PyArray1<f64>>> {
        let e = self.estimates(unit)?;
        Ok(PyArray1::from_iter(py, e.iter().map(|e| e.rul)))
    }

    /// Per cycle of `unit`, the interval's low and high ends.
    #[allow(clippy::type_complexity)]
    fn predict_interval<'py>(
        &self,
        py: Python<'py>,
        unit: PyReadonlyArray2<'py, f64>,
    ) -> Result<(Bound<'py, PyArray1<f64>>, Bound<'py, PyArray1<f64>>)> {
        let e = self.estimates(unit)?;
        Ok((
            PyArray1::from_iter(py, e.iter().map(|e| e.low)),
            PyArray1::from_iter(py, e.iter().map(|e| e.high)),
        ))
    }

    /// A live unit: push its cycles one by one.
    fn stream(&self) -> PyResult<LifeStream> {
        let model = self.fitted()?.clone();
        let state = model.unit();
        Ok(LifeStream {
            model,
            features: state,
            cycle: 0,
        })
    }

    /// Columns the model uses (positions in a raw row).
    #[getter]
    fn columns_(&self) -> PyResult<Vec<usize>> {
        Ok(self.fitted()?.spec().columns.clone())
    }

    fn __repr__(&self) -> String {
        let o = &self.options;
        format!(
            "RemainingLife(cap={}, coverage={}, folds={}, bins={}, seed={})",
            o.cap, o.coverage, o.folds, o.bins, o.seed
        )
    }
}

/// One live unit's cycles through a fitted [`RemainingLife`].
#[pyclass(module = "aeroguard._aeroguard")]
#[derive(Debug, Clone)]
pub struct LifeStream {
    model: Arc<RulModel>,
    features: aeroguard_prognostics::rul::Features,
    cycle: usize,
}

#[pymethods]
impl LifeStream {
    /// Takes the unit's next cycle (a raw row); returns `(rul, low, high)`. A bad row raises and changes nothing.
    fn push(&mut self, row: PyReadonlyArray1<'_, f64>) -> Result<(f64, f64, f64)> {
        let row = row.as_array();
        let raw: Vec<f64> = row.iter().copied().collect();
        let e = self.model.push(&mut self.features, &raw)?;
        self.cycle = e.cycle;
        Ok((e.rul, e.low, e.high))
    }

    /// Cycles taken.
    #[getter]
    fn cycles(&self) -> usize {
        self.cycle
    }
}
