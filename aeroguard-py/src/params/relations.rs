//! The relations detector's typed constructor.

use aeroguard_detect::Relations;
use numpy::PyReadonlyArray2;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::{fit, settle, settle_tuple};
use crate::ints::{Int, opt};
use crate::model::FittedModel;

/// `Relations`' parameters, validated by its builder: rows of the rolling mean, the alarm level, the fraction
/// it holds down to, the slowness below which a sensor is left out (`None`: none is), the ridge penalty, and
/// how an alarm settles after a fault (`(peak_release, rearm, rows)`, `None`: at the release level).
#[pyclass(module = "aeroguard._aeroguard", frozen)]
pub struct RelationsParams(Relations);

#[pymethods]
impl RelationsParams {
    #[new]
    // `slow_below=None` is a choice (relate every sensor), so its default is the builder's value itself.
    #[pyo3(signature = (*, window = None, z = None, release = None, slow_below = Relations::default().slow_below(), ridge = None, settle = None))]
    fn new(
        window: Option<Int<usize>>,
        z: Option<f64>,
        release: Option<f64>,
        slow_below: Option<f64>,
        ridge: Option<f64>,
        settle: Option<Bound<'_, PyAny>>,
    ) -> crate::errors::Result<Self> {
        let d = Relations::default();
        let mut b = Relations::builder()
            .window(opt(window).unwrap_or(d.window()))
            .release(release.unwrap_or(d.release()))
            .slow_below(slow_below)
            .settle(self::settle(settle.as_ref())?);
        if let Some(z) = z {
            b = b.z(z);
        }
        if let Some(r) = ridge {
            b = b.ridge(r);
        }
        Ok(RelationsParams(b.build()?))
    }

    /// The builder's defaults, by parameter.
    #[staticmethod]
    fn defaults(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
        let r = Relations::default();
        let d = PyDict::new(py);
        d.set_item("window", r.window())?;
        d.set_item("z", r.z())?;
        d.set_item("release", r.release())?;
        d.set_item("slow_below", r.slow_below())?;
        d.set_item("ridge", r.ridge())?;
        d.set_item("settle", settle_tuple(r.settle()))?;
        Ok(d)
    }

    /// Fits on normal rows `x`.
    fn fit(&self, py: Python<'_>, x: PyReadonlyArray2<'_, f64>) -> crate::errors::Result<FittedModel> {
        fit(py, &self.0, x)
    }
}
