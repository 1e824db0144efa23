//! Alerts over time, as Prometheus rules mean them: a condition over a series' fused values or verdicts that
//! must hold `for` a while before the alert fires, and that keeps firing for `keep_firing_for` after it stops
//! holding. Durations are measured on the samples' own timestamps, never on the wall clock or in rows, so a
//! rule means the same at every sampling rate, in replay as live.
//!
//! Each alert is one (rule, series) pair: it goes **pending** when the condition first holds, **firing** once it
//! has held `for`, and **resolved** once it has not held for `keep_firing_for`; a pending alert whose condition
//! stops holding is dropped without a notification. [`Alerts::observe`] returns the transitions.
//!
//! ```
//! use std::time::Duration;
//! use aeroguard_detect::alert::{AlertRule, AlertStatus, Alerts, Condition, Sample};
//!
//! let rule = AlertRule::new("hot", Condition::Above(90.0))?.with_for(Duration::from_secs(120));
//! let mut alerts = Alerts::new(vec![rule])?;
//! let at = |s: i64| aeroguard_core::Timestamp::from_millis(s * 1000);
//! let hot = Sample::value(95.0);
//! assert_eq!(alerts.observe("pump-1", at(0), hot)?[0].status, AlertStatus::Pending);
//! assert!(alerts.observe("pump-1", at(60), hot)?.is_empty(), "60 s is not yet 2 min");
//! assert_eq!(alerts.observe("pump-1", at(120), hot)?[0].status, AlertStatus::Firing);
//! assert_eq!(alerts.observe("pump-1", at(130), Sample::value(80.0))?[0].status, AlertStatus::Resolved);
//! # Ok::<(), aeroguard_detect::Error>(())
//! ```

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

#[cfg(feature = "notify")]
mod chat;
#[cfg(feature = "email")]
mod email;
#[cfg(feature = "notify")]
pub(crate) mod endpoint;
mod engine;
pub(crate) mod file;
mod handover;
mod management;
#[cfg(feature = "notify")]
mod notify;

#[cfg(feature = "email")]
pub use email::Email;
pub use engine::{AlertEvent, AlertState, AlertStatus, Alerts, Sample, TrackedAlert};
pub use file::parse_rules;
pub use management::{
    AlarmKpis, AlarmLog, AuditRecord, MAX_ALARMS, MAX_RECORDS, MAX_SHELVE, ManagementOptions, Outcome,
    SuppressedRecord,
};
#[cfg(feature = "notify")]
pub use notify::{Alertmanager, Notifier, NotifyError, Webhook};

/// How long a receiver that forgets alerts not heard of (Alertmanager, through `endsAt`) keeps a firing alert
/// after it was last sent: an hour (the `endsAt` the Alertmanager sender of feature `notify` gives).
pub const FIRING_TTL: Duration = Duration::from_secs(3600);

/// How often a leader sends its firing alerts again: a third of [`FIRING_TTL`] (as Prometheus does), so two
/// lost sends in a row still leave the alert firing at the receiver. See [`Alerts::refresh`].
pub const RESEND_EVERY: Duration = Duration::from_secs(1200);

/// The most rules one set holds, and the most labels one rule carries.
pub const MAX_RULES: usize = 1000;
/// The most labels one rule carries.
pub const MAX_LABELS: usize = 32;
/// The longest `for` or `keep_firing_for` (a year).
pub const MAX_DURATION: Duration = Duration::from_secs(366 * 24 * 3600);

/// What an alert watches in each sample.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    /// The fused value is strictly above this level.
    Above(f64),
    /// The fused value is strictly below this level.
    Below(f64),
    /// The ensemble's verdict is an anomaly.
    Anomaly,
}

impl Condition {
    fn holds(self, sample: &Sample) -> bool {
        match self {
            Condition::Above(level) => sample.value > level,
            Condition::Below(level) => sample.value < level,
            Condition::Anomaly => sample.anomalous,
        }
    }

    fn reads_value(self) -> bool {
        !matches!(self, Condition::Anomaly)
    }
}

/// Checks a rule's name: 1 to 128 characters from `[A-Za-z0-9_.:-]`.
pub(crate) fn check_name(name: &str) -> Result<()> {
    match aeroguard_core::identifier_problem(name) {
        Some(_) => Err(Error::parameter(
            "name",
            name,
            "must be 1 to 128 characters from [A-Za-z0-9_.:-]",
        )),
        None => Ok(()),
    }
}

/// How urgent an alert is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// For the record.
    Info,
    /// Look soon.
    #[default]
    Warning,
    /// Act now.
    Critical,
}

/// One alert rule. See the [module docs](self).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertRule {
    /// The rule's name (the alert's name in notifications).
    pub name: String,
    /// What must hold.
    pub condition: Condition,
    /// How long it must hold before the alert fires.
    pub for_: Duration,
    /// How long the alert keeps firing after the condition stops holding.
    pub keep_firing_for: Duration,
    /// How urgent it is.
    pub severity: Severity,
    /// Labels every notification of it carries.
    pub labels: BTreeMap<String, String>,
}

impl AlertRule {
    /// A rule named `name` (1 to 128 characters from `[A-Za-z0-9_.:-]`) that fires as soon as `condition`
    /// holds and resolves as soon as it does not; a level must be finite.
    pub fn new(name: &str, condition: Condition) -> Result<Self> {
        let rule = AlertRule {
            name: name.to_string(),
            condition,
            for_: Duration::ZERO,
            keep_firing_for: Duration::ZERO,
            severity: Severity::default(),
            labels: BTreeMap::new(),
        };
        rule.validate()?;
        Ok(rule)
    }

    /// Sets how long the condition must hold before the alert fires.
    pub fn with_for(mut self, d: Duration) -> Self {
        self.for_ = d;
        self
    }

    /// Sets how long the alert keeps firing after the condition stops holding.
    pub fn with_keep_firing_for(mut self, d: Duration) -> Self {
        self.keep_firing_for = d;
        self
    }

    /// Sets the severity.
    pub fn with_severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    /// Adds a label.
    pub fn with_label(mut self, key: &str, value: &str) -> Self {
        self.labels.insert(key.to_string(), value.to_string());
        self
    }

    /// Checks the rule: its name, its level, its durations and its labels.
    pub fn validate(&self) -> Result<()> {
        check_name(&self.name)?;
        if let Condition::Above(l) | Condition::Below(l) = self.condition
            && !l.is_finite()
        {
            return Err(Error::parameter("level", l, "must be finite"));
        }
        for d in [self.for_, self.keep_firing_for] {
            if d > MAX_DURATION {
                return Err(Error::parameter("for", d, "must be at most 366 days"));
            }
        }
        if self.labels.len() > MAX_LABELS {
            return Err(Error::parameter("labels", self.labels.len(), "at most 32 labels"));
        }
        for (k, v) in &self.labels {
            let key_ok =
                !k.is_empty() && k.len() <= 64 && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            if !key_ok || v.len() > 256 {
                return Err(Error::parameter(
                    "labels",
                    k,
                    "keys are 1 to 64 characters from [A-Za-z0-9_], values at most 256 bytes",
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
