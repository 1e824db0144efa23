//! The recommended ensemble's parameters from Python: the recipe as a dict, and overrides merged into it by
//! name (an unknown name is refused with its path and the names that exist there).

use aeroguard_detect::EnsembleRecipe;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use serde_json::Value;

/// The recipe `Ensemble.fit` starts from.
pub fn base(neural: bool) -> EnsembleRecipe {
    if neural {
        EnsembleRecipe::full()
    } else {
        EnsembleRecipe::default()
    }
}

/// The recipe as a Python dict (through `json`).
pub fn to_dict<'py>(py: Python<'py>, recipe: &EnsembleRecipe) -> PyResult<Bound<'py, PyAny>> {
    let text = serde_json::to_string(recipe).map_err(|e| PyValueError::new_err(e.to_string()))?;
    py.import("json")?.call_method1("loads", (text,))
}

/// `recipe` with `overrides` (a dict of the same shape, any part of it) merged in.
pub fn with_overrides(recipe: EnsembleRecipe, overrides: &Bound<'_, PyAny>) -> PyResult<EnsembleRecipe> {
    let text: String = overrides
        .py()
        .import("json")?
        .call_method1("dumps", (overrides,))
        .map_err(|e| PyValueError::new_err(format!("recipe: not JSON-like: {}", e.value(overrides.py()))))?
        .extract()?;
    let over: Value =
        serde_json::from_str(&text).map_err(|e| PyValueError::new_err(format!("recipe: {e}")))?;
    if !over.is_object() {
        return Err(PyValueError::new_err(
            "recipe: a dict of the parameters to change",
        ));
    }
    let mut merged = serde_json::to_value(&recipe).map_err(|e| PyValueError::new_err(e.to_string()))?;
    merge(&mut merged, over, "recipe").map_err(PyValueError::new_err)?;
    serde_json::from_value(merged).map_err(|e| PyValueError::new_err(format!("recipe: {e}")))
}

fn merge(base: &mut Value, over: Value, path: &str) -> Result<(), String> {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (key, value) in o {
                let Some(slot) = b.get_mut(&key) else {
                    let known: Vec<&str> = b.keys().map(String::as_str).collect();
                    return Err(format!(
                        "{path}.{key}: no such parameter (there: {})",
                        known.join(", ")
                    ));
                };
                merge(slot, value, &format!("{path}.{key}"))?;
            }
            Ok(())
        }
        (slot, value) => {
            *slot = value;
            Ok(())
        }
    }
}
