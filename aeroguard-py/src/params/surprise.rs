//! The surprise detector's typed constructor.

use aeroguard_detect::{Likelihood, Surprise};
use numpy::PyReadonlyArray2;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::fit;
use crate::ints::{Int, opt};
use crate::model::FittedModel;

/// `Surprise`'s parameters, validated by its builders: rows of the running mean, the likelihood's short mean,
/// history and refit period, its red filter, the range check's tolerance (`None`: off), and the alarm's tail.
#[pyclass(module = "aeroguard._aeroguard", frozen)]
pub struct SurpriseParams(Surprise);

#[pymethods]
impl SurpriseParams {
    #[new]
    // `spatial=None` is a choice (no range check), so its default is the builder's value itself.
    #[pyo3(signature = (*, window = None, warmup = None, average = None, history = None, reestimate = None, filter = None, spatial = Surprise::default().spatial(), tail = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        window: Option<Int<usize>>,
        warmup: Option<Int<usize>>,
        average: Option<Int<usize>>,
        history: Option<Int<usize>>,
        reestimate: Option<Int<usize>>,
        filter: Option<bool>,
        spatial: Option<f64>,
        tail: Option<f64>,
    ) -> crate::errors::Result<Self> {
        let (d, l) = (Surprise::default(), Likelihood::default());
        let likelihood = Likelihood::builder()
            .average(opt(average).unwrap_or(l.average()))
            .history(opt(history).unwrap_or(l.history()))
            .reestimate(opt(reestimate).unwrap_or(l.reestimate()))
            .filter(filter.unwrap_or(l.filter()))
            .build()?;
        let s = Surprise::builder()
            .window(opt(window).unwrap_or(d.window()))
            .warmup(opt(warmup).unwrap_or(d.warmup()))
            .likelihood(likelihood)
            .spatial(spatial)
            .tail(tail.unwrap_or(d.tail()))
            .build()?;
        Ok(SurpriseParams(s))
    }

    /// The builders' defaults, by parameter.
    #[staticmethod]
    fn defaults(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
        let (s, l) = (Surprise::default(), Likelihood::default());
        let d = PyDict::new(py);
        d.set_item("window", s.window())?;
        d.set_item("warmup", s.warmup())?;
        d.set_item("average", l.average())?;
        d.set_item("history", l.history())?;
        d.set_item("reestimate", l.reestimate())?;
        d.set_item("filter", l.filter())?;
        d.set_item("spatial", s.spatial())?;
        d.set_item("tail", s.tail())?;
        Ok(d)
    }

    /// Fits on normal rows `x`.
    fn fit(&self, py: Python<'_>, x: PyReadonlyArray2<'_, f64>) -> crate::errors::Result<FittedModel> {
        fit(py, &self.0, x)
    }
}
