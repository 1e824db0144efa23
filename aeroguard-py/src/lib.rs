//! The `aeroguard._aeroguard` extension module. The Python package `aeroguard` wraps it; every behaviour lives in
//! the Rust crates.
#![allow(missing_docs)] // the Python API is documented in the stubs and docstrings
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use pyo3::prelude::*;

mod aio;
mod alerts;
mod authority;
mod client;
mod election;
mod ensemble;
mod errors;
mod forecast;
mod fusion;
mod fusion_rows;
mod health;
mod history;
mod ints;
mod member;
mod model;
mod outbox;
mod params;
mod queue;
mod recipe;
mod redis_args;
mod round;
mod rul;
mod runtime;
mod session;
mod verdict;
mod watch;

#[pymodule]
fn _aeroguard(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    errors::register(m)?;
    m.add_function(wrap_pyfunction!(fusion::fuse, m)?)?;
    m.add_function(wrap_pyfunction!(fusion_rows::fuse_rows, m)?)?;
    m.add_class::<fusion_rows::FusedRows>()?;
    m.add_class::<fusion::Estimate>()?;
    m.add_class::<params::IsolationForestParams>()?;
    m.add_class::<params::AutoencoderParams>()?;
    m.add_class::<params::ConvAutoencoderParams>()?;
    m.add_class::<params::LstmParams>()?;
    m.add_class::<params::ClusterProfileParams>()?;
    m.add_class::<params::RuleSetParams>()?;
    m.add_class::<params::LevelShiftParams>()?;
    m.add_class::<params::RelationsParams>()?;
    m.add_class::<params::SurpriseParams>()?;
    m.add_class::<model::FittedModel>()?;
    m.add_class::<ensemble::Ensemble>()?;
    m.add_class::<verdict::Verdict>()?;
    m.add_class::<verdict::MemberRecord>()?;
    m.add_class::<verdict::Integrity>()?;
    m.add_class::<history::History>()?;
    m.add_class::<alerts::Alerts>()?;
    m.add_class::<alerts::AlertEvent>()?;
    m.add_class::<alerts::notifiers::Notifier>()?;
    m.add_class::<outbox::Outbox>()?;
    m.add_class::<outbox::HistoryOutbox>()?;
    m.add_class::<outbox::ForwardPass>()?;
    m.add_class::<client::Client>()?;
    m.add_class::<authority::ElectionAuthority>()?;
    m.add_class::<election::Election>()?;
    m.add_class::<election::Leadership>()?;
    m.add_class::<queue::Queue>()?;
    m.add_class::<queue::Delivery>()?;
    m.add_class::<watch::Registration>()?;
    m.add_class::<watch::Watch>()?;
    m.add_class::<aio::AsyncWatch>()?;
    m.add_class::<round::RoundLeader>()?;
    m.add_class::<round::RoundFollower>()?;
    m.add_class::<forecast::Forecaster>()?;
    m.add_class::<health::HealthTracker>()?;
    m.add_class::<health::SensorHealth>()?;
    m.add_class::<rul::RemainingLife>()?;
    m.add_class::<rul::LifeStream>()?;
    Ok(())
}
