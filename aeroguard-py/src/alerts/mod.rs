//! Alerts from Python: the rules (an operator's TOML file, or dicts), the engine that turns samples into
//! pending, firing and resolved transitions on the samples' own times, its hand-over state, and the notifiers
//! (`notifiers`).

use std::collections::BTreeMap;
use std::time::Duration;

use aeroguard_core::Timestamp;
use aeroguard_detect::alert::{self, AlertRule, AlertStatus, Condition, Sample, Severity};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

pub(crate) mod notifiers;

/// One transition of one alert.
#[pyclass(module = "aeroguard", frozen)]
#[derive(Clone)]
pub struct AlertEvent {
    pub(crate) inner: alert::AlertEvent,
}

fn status_name(s: AlertStatus) -> &'static str {
    match s {
        AlertStatus::Pending => "pending",
        AlertStatus::Firing => "firing",
        AlertStatus::Resolved => "resolved",
    }
}

fn severity_name(s: Severity) -> &'static str {
    match s {
        Severity::Info => "info",
        Severity::Warning => "warning",
        Severity::Critical => "critical",
    }
}

#[pymethods]
impl AlertEvent {
    /// The rule's name.
    #[getter]
    fn rule(&self) -> &str {
        &self.inner.rule
    }
    /// The series.
    #[getter]
    fn series(&self) -> &str {
        &self.inner.series
    }
    /// `"pending"`, `"firing"` or `"resolved"`.
    #[getter]
    fn status(&self) -> &'static str {
        status_name(self.inner.status)
    }
    /// When (the sample's time, ms since the epoch).
    #[getter]
    fn at_ms(&self) -> i64 {
        self.inner.at.as_millis()
    }
    /// When the condition began to hold.
    #[getter]
    fn since_ms(&self) -> i64 {
        self.inner.since.as_millis()
    }
    /// `"info"`, `"warning"` or `"critical"`.
    #[getter]
    fn severity(&self) -> &'static str {
        severity_name(self.inner.severity)
    }
    /// The rule's labels.
    #[getter]
    fn labels(&self) -> BTreeMap<String, String> {
        self.inner.labels.clone()
    }
    /// The sample's value.
    #[getter]
    fn value(&self) -> f64 {
        self.inner.value
    }
    fn __repr__(&self) -> String {
        format!(
            "AlertEvent({} {} on {} at {})",
            self.inner.rule,
            self.status(),
            self.inner.series,
            self.inner.at.as_millis()
        )
    }
}

fn events(v: Vec<alert::AlertEvent>) -> Vec<AlertEvent> {
    v.into_iter().map(|inner| AlertEvent { inner }).collect()
}

/// Rules from TOML text (the node's `rules.toml` format) or a list of dicts `{"name", "above" | "below" |
/// "anomaly": True, "for": seconds, "keep_firing_for": seconds, "severity", "labels"}`.
fn rules_of(rules: &Bound<'_, PyAny>) -> PyResult<Vec<AlertRule>> {
    if let Ok(text) = rules.extract::<String>() {
        return alert::parse_rules(&text).map_err(|e| PyValueError::new_err(e.to_string()));
    }
    let list: Vec<Bound<'_, PyDict>> = rules
        .extract()
        .map_err(|_| PyValueError::new_err("rules: TOML text, or a list of dicts"))?;
    list.iter()
        .enumerate()
        .map(|(i, d)| {
            rule_of(d).map_err(|e| PyValueError::new_err(format!("rules[{i}]: {}", e.value(d.py()))))
        })
        .collect()
}

fn rule_of(d: &Bound<'_, PyDict>) -> PyResult<AlertRule> {
    const KNOWN: [&str; 8] = [
        "name",
        "above",
        "below",
        "anomaly",
        "for",
        "keep_firing_for",
        "severity",
        "labels",
    ];
    for key in d.keys() {
        let key: String = key.extract()?;
        if !KNOWN.contains(&key.as_str()) {
            return Err(PyValueError::new_err(format!(
                "unknown field {key:?} (fields: {})",
                KNOWN.join(", ")
            )));
        }
    }
    let get = |k: &str| d.get_item(k).map(|v| v.filter(|v| !v.is_none()));
    let name: String = get("name")?
        .ok_or_else(|| PyValueError::new_err("missing \"name\""))?
        .extract()?;
    let above: Option<f64> = get("above")?.map(|v| v.extract()).transpose()?;
    let below: Option<f64> = get("below")?.map(|v| v.extract()).transpose()?;
    let anomaly: bool = get("anomaly")?.map(|v| v.extract()).transpose()?.unwrap_or(false);
    let condition = match (above, below, anomaly) {
        (Some(l), None, false) => Condition::Above(l),
        (None, Some(l), false) => Condition::Below(l),
        (None, None, true) => Condition::Anomaly,
        _ => {
            return Err(PyValueError::new_err(
                "give one of \"above\", \"below\" or \"anomaly\": True",
            ));
        }
    };
    let secs = |k: &str| -> PyResult<Duration> {
        match get(k)? {
            None => Ok(Duration::ZERO),
            Some(v) => crate::runtime::seconds(k, v.extract()?),
        }
    };
    let mut rule = AlertRule::new(&name, condition)
        .map_err(|e| PyValueError::new_err(e.to_string()))?
        .with_for(secs("for")?)
        .with_keep_firing_for(secs("keep_firing_for")?);
    if let Some(s) = get("severity")? {
        let s: String = s.extract()?;
        rule = rule.with_severity(match s.as_str() {
            "info" => Severity::Info,
            "warning" => Severity::Warning,
            "critical" => Severity::Critical,
            _ => {
                return Err(PyValueError::new_err(format!(
                    "severity {s:?}: info, warning or critical"
                )));
            }
        });
    }
    if let Some(labels) = get("labels")? {
        let labels: BTreeMap<String, String> = labels.extract()?;
        for (k, v) in &labels {
            rule = rule.with_label(k, v);
        }
    }
    rule.validate()
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok(rule)
}

/// The alerts of a rule set over many series, as Prometheus rules mean them: a condition that must hold `for`
/// a while before the alert fires, and keeps it firing `keep_firing_for` after, measured on the samples' own
/// times.
#[pyclass(module = "aeroguard")]
pub struct Alerts {
    inner: alert::Alerts,
}

#[pymethods]
impl Alerts {
    /// The alerts of `rules`: TOML text (`[[rule]] name = "hot" above = 90.0 for = "2m"`) or a list of dicts
    /// (`{"name": "hot", "above": 90.0, "for": 120.0}`; durations in seconds). A bad rule is a `ValueError`
    /// naming it (and its line, for TOML).
    #[new]
    fn new(rules: &Bound<'_, PyAny>) -> crate::errors::Result<Self> {
        Ok(Alerts {
            inner: alert::Alerts::new(rules_of(rules)?)?,
        })
    }

    /// Feeds `series`' sample at `at_ms` (its fused value, and the ensemble's verdict) to every rule; returns
    /// the transitions. A time before the series' last, or a NaN value, is a `ValueError`.
    #[pyo3(signature = (series, at_ms, value, anomalous = false))]
    fn observe(
        &mut self,
        series: &str,
        at_ms: i64,
        value: f64,
        anomalous: bool,
    ) -> crate::errors::Result<Vec<AlertEvent>> {
        let at = Timestamp::from_millis(at_ms);
        Ok(events(self.inner.observe(
            series,
            at,
            Sample::verdict(value, anomalous),
        )?))
    }

    /// The alerts firing now, as `(rule, series)`.
    fn firing(&self) -> Vec<(String, String)> {
        self.inner
            .firing()
            .into_iter()
            .map(|(r, s)| (r.to_string(), s.to_string()))
            .collect()
    }

    /// Replaces the rules (a hot reload) at `at_ms`: alerts of rules that keep their name keep their state; a
    /// firing alert of a rule that went is returned resolved.
    fn replace_rules(
        &mut self,
        rules: &Bound<'_, PyAny>,
        at_ms: i64,
    ) -> crate::errors::Result<Vec<AlertEvent>> {
        let rules = rules_of(rules)?;
        Ok(events(
            self.inner.replace_rules(rules, Timestamp::from_millis(at_ms))?,
        ))
    }

    /// Every alert firing now as a firing event at `at_ms`: what a leader sends again, so a receiver that
    /// forgets alerts not heard of never resolves one that still fires.
    fn refresh(&self, at_ms: i64) -> Vec<AlertEvent> {
        events(self.inner.refresh(Timestamp::from_millis(at_ms)))
    }

    /// The state to hand to a successor (JSON): its firing alerts go on firing without a new notification.
    fn state(&self) -> crate::errors::Result<String> {
        serde_json::to_string(&self.inner.state()).map_err(|e| crate::errors::value_error(e.to_string()))
    }

    /// Takes over a predecessor's `state()` (checked: a damaged state is a `ValueError`, nothing taken).
    fn restore(&mut self, state: &str) -> crate::errors::Result<()> {
        if state.len() > 64 << 20 {
            return Err(crate::errors::value_error("state: over 64 MiB"));
        }
        let s: alert::AlertState =
            serde_json::from_str(state).map_err(|e| crate::errors::value_error(format!("state: {e}")))?;
        Ok(self.inner.restore(s)?)
    }
}
