//! Integers from Python that must fit a Rust type: PyO3's own conversion raises `OverflowError` for `10**30`
//! or a negative count; the bindings promise `ValueError` for every bad parameter.

use pyo3::conversion::FromPyObject;
use pyo3::exceptions::{PyOverflowError, PyValueError};
use pyo3::prelude::*;

/// A Python int converted to `T`, with a `ValueError` when it does not fit.
#[derive(Debug, Clone, Copy)]
pub struct Int<T>(pub T);

impl<'a, 'py, T> FromPyObject<'a, 'py> for Int<T>
where
    T: for<'b> FromPyObject<'b, 'py>,
{
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        match obj.extract::<T>() {
            Ok(v) => Ok(Int(v)),
            Err(e) => {
                let e: PyErr = e.into();
                if e.is_instance_of::<PyOverflowError>(obj.py()) {
                    let shown = obj
                        .repr()
                        .map(|r| r.to_string())
                        .unwrap_or_else(|_| "the value".into());
                    Err(PyValueError::new_err(format!(
                        "{shown} is out of range for a count (0 to {})",
                        std::any::type_name::<T>()
                    )))
                } else {
                    Err(e)
                }
            }
        }
    }
}

/// `Option<Int<T>>` as `Option<T>`.
pub fn opt<T>(v: Option<Int<T>>) -> Option<T> {
    v.map(|i| i.0)
}
