//! The `aeroguard._aeroguard` extension module. The Python package `aeroguard` wraps it; every behaviour lives in
//! the Rust crates.
#![allow(missing_docs)] // the Python API is documented in the stubs and docstrings

use pyo3::prelude::*;

mod coord;
mod detect;
mod errors;
mod fusion;

#[pymodule]
fn _aeroguard(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    errors::register(m)?;
    m.add_function(wrap_pyfunction!(fusion::fuse, m)?)?;
    m.add_class::<fusion::Estimate>()?;
    m.add_function(wrap_pyfunction!(detect::fit_model, m)?)?;
    m.add_class::<detect::FittedModel>()?;
    m.add_class::<detect::Ensemble>()?;
    m.add_class::<detect::Verdict>()?;
    m.add_class::<detect::MemberRecord>()?;
    m.add_class::<coord::Client>()?;
    m.add_class::<coord::Election>()?;
    m.add_class::<coord::Leadership>()?;
    m.add_class::<coord::Queue>()?;
    m.add_class::<coord::Delivery>()?;
    m.add_class::<coord::Registration>()?;
    m.add_class::<coord::Watch>()?;
    m.add_class::<coord::RoundLeader>()?;
    m.add_class::<coord::RoundFollower>()?;
    Ok(())
}
