//! Sensor health as Python holds it: one tracker per measured quantity, fed each round's fused value and
//! readings; each sensor's bias, drift, exclusion rate and time to tolerance back.

use std::collections::HashMap;

use aeroguard_prognostics::health::{
    HealthOptions, HealthTracker as Tracker, SensorHealth as Health, Status,
};
use pyo3::prelude::*;

use crate::errors::Result;

/// A sensor's health after a round.
#[pyclass(module = "aeroguard._aeroguard", frozen, get_all)]
#[derive(Debug, Clone)]
pub struct SensorHealth {
    /// The sensor.
    sensor: String,
    /// `"healthy"`, `"drifting"`, `"out_of_tolerance"` or `"excluded"`.
    status: &'static str,
    /// Mean gap to the other readings' median over the window.
    bias: f64,
    /// The gap's change per round.
    drift: f64,
    /// The share of the window's rounds fusion left it out.
    exclusion_rate: f64,
    /// Rounds of history behind the figures.
    rounds: usize,
    /// `(steps, earliest, latest)` until the gap leaves the tolerance, or `None`.
    time_to_tolerance: Option<(usize, usize, Option<usize>)>,
}

#[pymethods]
impl SensorHealth {
    fn __repr__(&self) -> String {
        format!(
            "SensorHealth(sensor={:?}, status={:?}, bias={:.4}, drift={:.4}, time_to_tolerance={:?})",
            self.sensor, self.status, self.bias, self.drift, self.time_to_tolerance
        )
    }
}

impl From<Health> for SensorHealth {
    fn from(h: Health) -> Self {
        SensorHealth {
            status: match h.status {
                Status::Healthy => "healthy",
                Status::Drifting => "drifting",
                Status::OutOfTolerance => "out_of_tolerance",
                Status::Excluded => "excluded",
            },
            sensor: h.sensor,
            bias: h.bias,
            drift: h.drift,
            exclusion_rate: h.exclusion_rate,
            rounds: h.rounds,
            time_to_tolerance: h.time_to_tolerance.map(|c| (c.steps, c.earliest, c.latest)),
        }
    }
}

/// Per sensor, the gap to the others, its drift, and when it leaves `tolerance`.
#[pyclass(module = "aeroguard._aeroguard")]
#[derive(Debug, Clone)]
pub struct HealthTracker {
    tracker: Tracker,
}

#[pymethods]
impl HealthTracker {
    #[new]
    #[pyo3(signature = (tolerance, *, window = 20, warn_within = 50, min_t = 6.0, min_rounds = 8, coverage = 0.9))]
    fn new(
        tolerance: f64,
        window: usize,
        warn_within: usize,
        min_t: f64,
        min_rounds: usize,
        coverage: f64,
    ) -> Result<Self> {
        let options = HealthOptions {
            tolerance,
            window,
            warn_within,
            min_t,
            min_rounds,
            coverage,
        };
        Ok(HealthTracker {
            tracker: Tracker::new(options)?,
        })
    }

    /// Takes one round: the fused value, each sensor's reading, and the sensors fusion left out.
    #[pyo3(signature = (fused, readings, excluded = Vec::new()))]
    fn observe(
        &mut self,
        fused: f64,
        readings: HashMap<String, f64>,
        excluded: Vec<String>,
    ) -> Result<Vec<SensorHealth>> {
        let mut pairs: Vec<(&str, f64)> = readings.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        pairs.sort_by(|a, b| a.0.cmp(b.0));
        let out: Vec<&str> = excluded.iter().map(String::as_str).collect();
        Ok(self
            .tracker
            .observe(fused, &pairs, &out)?
            .into_iter()
            .map(SensorHealth::from)
            .collect())
    }
}
