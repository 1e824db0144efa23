//! The level-shift detector's typed constructor.

use aeroguard_detect::LevelShift;
use numpy::PyReadonlyArray2;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::{fit, settle, settle_tuple};
use crate::ints::{Int, opt};
use crate::model::FittedModel;

/// `LevelShift`'s parameters, validated by its builder: rows of the rolling mean, the alarm level, the
/// fraction it holds down to, the slowness below which a sensor is slow (`None`: none is), and what a slow
/// sensor's shift counts for (0: left out), and how an alarm settles after a fault (`(peak_release, rearm,
/// rows)`, `None`: at the release level).
#[pyclass(module = "aeroguard._aeroguard", frozen)]
pub struct LevelShiftParams(LevelShift);

#[pymethods]
impl LevelShiftParams {
    #[new]
    // `slow_below=None` is a choice (score every sensor), so its default is the builder's value itself.
    #[pyo3(signature = (*, window = None, z = None, release = None, slow_below = LevelShift::default().slow_below(), slow_weight = None, settle = None))]
    fn new(
        window: Option<Int<usize>>,
        z: Option<f64>,
        release: Option<f64>,
        slow_below: Option<f64>,
        slow_weight: Option<f64>,
        settle: Option<Bound<'_, PyAny>>,
    ) -> crate::errors::Result<Self> {
        let d = LevelShift::default();
        let mut b = LevelShift::builder()
            .window(opt(window).unwrap_or(d.window()))
            .release(release.unwrap_or(d.release()))
            .slow_below(slow_below)
            .slow_weight(slow_weight.unwrap_or(d.slow_weight()))
            .settle(self::settle(settle.as_ref())?);
        if let Some(z) = z {
            b = b.z(z);
        }
        Ok(LevelShiftParams(b.build()?))
    }

    /// The builder's defaults, by parameter.
    #[staticmethod]
    fn defaults(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
        let l = LevelShift::default();
        let d = PyDict::new(py);
        d.set_item("window", l.window())?;
        d.set_item("z", l.z())?;
        d.set_item("release", l.release())?;
        d.set_item("slow_below", l.slow_below())?;
        d.set_item("slow_weight", l.slow_weight())?;
        d.set_item("settle", settle_tuple(l.settle()))?;
        Ok(d)
    }

    /// Fits on normal rows `x`.
    fn fit(&self, py: Python<'_>, x: PyReadonlyArray2<'_, f64>) -> crate::errors::Result<FittedModel> {
        fit(py, &self.0, x)
    }
}
