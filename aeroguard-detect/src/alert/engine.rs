//! The alert state machine: pending, firing, resolved, per (rule, series), on the samples' timestamps.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use aeroguard_core::Timestamp;
use serde::{Deserialize, Serialize};

use super::{AlertRule, MAX_RULES, Severity};
use crate::{Error, Result};

/// What one series reports at one instant: its fused value and its verdict.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// The fused value.
    pub value: f64,
    /// Whether the ensemble called it an anomaly.
    pub anomalous: bool,
}

impl Sample {
    /// A fused value without a verdict.
    pub fn value(value: f64) -> Self {
        Sample {
            value,
            anomalous: false,
        }
    }

    /// A fused value and the verdict on it.
    pub fn verdict(value: f64, anomalous: bool) -> Self {
        Sample { value, anomalous }
    }
}

/// Where an alert went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertStatus {
    /// The condition began to hold; the alert fires if it holds for the rule's `for`.
    Pending,
    /// The condition has held for `for`.
    Firing,
    /// The condition has not held for `keep_firing_for`.
    Resolved,
}

/// One transition of one alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertEvent {
    /// The rule.
    pub rule: String,
    /// The series.
    pub series: String,
    /// Where it went.
    pub status: AlertStatus,
    /// When (the sample's time).
    pub at: Timestamp,
    /// When the condition began to hold.
    pub since: Timestamp,
    /// The rule's severity.
    pub severity: Severity,
    /// The rule's labels.
    pub labels: BTreeMap<String, String>,
    /// The sample's value.
    pub value: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Track {
    Pending {
        since: Timestamp,
    },
    Firing {
        since: Timestamp,
        last_true: Timestamp,
        /// The value of the last sample for which the condition held.
        value: f64,
    },
}

/// The alerts of a rule set over many series. See the [module docs](super).
#[derive(Debug, Clone)]
pub struct Alerts {
    pub(super) rules: Vec<AlertRule>,
    pub(super) tracks: HashMap<(String, String), Track>,
    pub(super) last: HashMap<String, Timestamp>,
    pub(super) max_series: usize,
}

/// One alert's state: pending since a time, or firing since a time with the last time its condition held.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackedAlert {
    /// The rule.
    pub rule: String,
    /// The series.
    pub series: String,
    /// When the condition began to hold.
    pub since: Timestamp,
    /// `Some(last time the condition held)` once firing; `None` while pending.
    pub firing: Option<Timestamp>,
    /// A firing alert's value at that time (what a notification sent again carries); `None` while pending, for
    /// a value that is not finite, or in a state written before values were kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
}

/// What [`Alerts`] carry from one sample to the next: the pending and firing alerts and each series' last time.
/// A leader writes it with its fencing token after every change, and its successor restores it
/// ([`Alerts::restore`]), so a failover neither drops a firing alert nor sends it again.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertState {
    /// The pending and firing alerts, by rule and series.
    pub alerts: Vec<TrackedAlert>,
    /// Each series' last sample time.
    pub last: BTreeMap<String, Timestamp>,
}

fn elapsed(from: Timestamp, to: Timestamp) -> Duration {
    Duration::from_millis(u64::try_from(to.as_millis().saturating_sub(from.as_millis())).unwrap_or(0))
}

impl Alerts {
    /// The alerts of `rules` (at most [`MAX_RULES`], names unique), over at most 10,000 series.
    pub fn new(rules: Vec<AlertRule>) -> Result<Self> {
        check(&rules)?;
        Ok(Alerts {
            rules,
            tracks: HashMap::new(),
            last: HashMap::new(),
            max_series: 10_000,
        })
    }

    /// Bounds the number of series (each keeps a little state); a sample of a new series past it is refused.
    pub fn with_max_series(mut self, n: usize) -> Self {
        self.max_series = n;
        self
    }

    /// The rules in force.
    pub fn rules(&self) -> &[AlertRule] {
        &self.rules
    }

    /// Replaces the rules (a hot reload): alerts of rules that keep their name keep their state; the others are
    /// dropped (a firing one is returned as resolved at `at`).
    pub fn replace_rules(&mut self, rules: Vec<AlertRule>, at: Timestamp) -> Result<Vec<AlertEvent>> {
        check(&rules)?;
        let mut dropped = Vec::new();
        let old = std::mem::replace(&mut self.rules, rules);
        self.tracks.retain(|(rule, series), track| {
            if self.rules.iter().any(|r| &r.name == rule) {
                return true;
            }
            if let (Track::Firing { since, value, .. }, Some(r)) =
                (*track, old.iter().find(|r| &r.name == rule))
            {
                dropped.push(event(r, series, AlertStatus::Resolved, at, since, value));
            }
            false
        });
        dropped.sort_by(|a, b| (&a.rule, &a.series).cmp(&(&b.rule, &b.series)));
        Ok(dropped)
    }

    /// The alerts firing now, by rule and series.
    pub fn firing(&self) -> Vec<(&str, &str)> {
        let mut out: Vec<(&str, &str)> = self
            .tracks
            .iter()
            .filter(|(_, t)| matches!(t, Track::Firing { .. }))
            .map(|((r, s), _)| (r.as_str(), s.as_str()))
            .collect();
        out.sort_unstable();
        out
    }

    /// Feeds `series`' sample at `at` to every rule; returns the transitions, in rule order.
    ///
    /// Errors: a series name that is empty or over 256 bytes, a value that is NaN or infinite (for a rule that
    /// reads it), a time before the series' last sample, a new series past the limit.
    pub fn observe(&mut self, series: &str, at: Timestamp, sample: Sample) -> Result<Vec<AlertEvent>> {
        if series.is_empty() || series.len() > 256 {
            return Err(Error::parameter(
                "series",
                series.chars().take(64).collect::<String>(),
                "must be 1 to 256 bytes",
            ));
        }
        if !sample.value.is_finite() && self.rules.iter().any(|r| r.condition.reads_value()) {
            return Err(Error::NonFinite {
                what: "alert sample",
                row: 0,
                column: 0,
                value: sample.value,
            });
        }
        match self.last.get(series) {
            Some(last) if at < *last => {
                return Err(Error::parameter(
                    "at",
                    at,
                    "is before the series' last sample: alerts run on time order",
                ));
            }
            Some(_) => {}
            None if self.last.len() >= self.max_series => {
                return Err(Error::parameter(
                    "series",
                    series,
                    "is past the alerts' series limit",
                ));
            }
            None => {}
        }
        self.last.insert(series.to_string(), at);
        let mut events = Vec::new();
        for rule in &self.rules {
            let key = (rule.name.clone(), series.to_string());
            let holds = rule.condition.holds(&sample);
            let next = match (self.tracks.get(&key).copied(), holds) {
                (None, false) => None,
                (None, true) if rule.for_.is_zero() => {
                    events.push(event(rule, series, AlertStatus::Firing, at, at, sample.value));
                    Some(Track::Firing {
                        since: at,
                        last_true: at,
                        value: sample.value,
                    })
                }
                (None, true) => {
                    events.push(event(rule, series, AlertStatus::Pending, at, at, sample.value));
                    Some(Track::Pending { since: at })
                }
                (Some(Track::Pending { since }), true) if elapsed(since, at) >= rule.for_ => {
                    events.push(event(rule, series, AlertStatus::Firing, at, since, sample.value));
                    Some(Track::Firing {
                        since,
                        last_true: at,
                        value: sample.value,
                    })
                }
                (Some(pending @ Track::Pending { .. }), true) => Some(pending),
                (Some(Track::Pending { .. }), false) => None,
                (Some(Track::Firing { since, .. }), true) => Some(Track::Firing {
                    since,
                    last_true: at,
                    value: sample.value,
                }),
                (Some(firing @ Track::Firing { since, last_true, .. }), false) => {
                    if elapsed(last_true, at) >= rule.keep_firing_for {
                        events.push(event(
                            rule,
                            series,
                            AlertStatus::Resolved,
                            at,
                            since,
                            sample.value,
                        ));
                        None
                    } else {
                        Some(firing)
                    }
                }
            };
            match next {
                Some(t) => {
                    self.tracks.insert(key, t);
                }
                None => {
                    self.tracks.remove(&key);
                }
            }
        }
        Ok(events)
    }
}

pub(super) fn event(
    rule: &AlertRule,
    series: &str,
    status: AlertStatus,
    at: Timestamp,
    since: Timestamp,
    value: f64,
) -> AlertEvent {
    AlertEvent {
        rule: rule.name.clone(),
        series: series.to_string(),
        status,
        at,
        since,
        severity: rule.severity,
        labels: rule.labels.clone(),
        value,
    }
}

fn check(rules: &[AlertRule]) -> Result<()> {
    if rules.len() > MAX_RULES {
        return Err(Error::parameter("rules", rules.len(), "at most 1000 rules"));
    }
    for (i, r) in rules.iter().enumerate() {
        r.validate()?;
        if rules[..i].iter().any(|o| o.name == r.name) {
            return Err(Error::parameter("name", &r.name, "rule names must be unique"));
        }
    }
    Ok(())
}
