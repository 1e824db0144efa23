//! What the alarm log is told, and what it reports: its thresholds, each transition's outcome, the audit and
//! suppression records, and the review's figures.

use std::time::Duration;

use aeroguard_core::Timestamp;
use serde::{Deserialize, Serialize};

/// The thresholds of the review (ISA-18.2's and EEMUA 191's by default).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManagementOptions {
    /// The window of the alarm rate.
    pub rate_window: Duration,
    /// A flood: more than this many annunciations in `rate_window`.
    pub flood_above: usize,
    /// The window in which repeated activations are chattering.
    pub chatter_window: Duration,
    /// Activations in `chatter_window` that make an alarm chattering.
    pub chatter_count: usize,
    /// An alarm active longer than this is stale.
    pub stale_after: Duration,
    /// Operator positions sharing the alarms (the rate per operator divides by it).
    pub operators: usize,
    /// Hold back a chattering alarm's further activations (each on the suppression record).
    pub suppress_chattering: bool,
}

impl Default for ManagementOptions {
    fn default() -> Self {
        ManagementOptions {
            rate_window: Duration::from_secs(600),
            flood_above: 10,
            chatter_window: Duration::from_secs(60),
            chatter_count: 3,
            stale_after: Duration::from_secs(24 * 3600),
            operators: 1,
            suppress_chattering: true,
        }
    }
}

/// What became of one transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// It reached the operators.
    Annunciated,
    /// Held back: its alarm is shelved.
    Shelved,
    /// Held back: its alarm is chattering (on the suppression record).
    Suppressed,
    /// The alarm cleared.
    Cleared,
    /// Not an alarm (a pending alert).
    Ignored,
}

/// What someone did to an alarm, or what expired.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// When.
    pub at: Timestamp,
    /// The alarm's rule.
    pub rule: String,
    /// The alarm's series.
    pub series: String,
    /// Who (`"expiry"` when a shelf ran out).
    pub by: String,
    /// `shelved`, `unshelved` or `expired`.
    pub action: String,
    /// Until when (a shelf).
    pub until: Option<Timestamp>,
    /// Why, as given.
    pub reason: String,
}

/// An activation held back as chattering.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuppressedRecord {
    /// When.
    pub at: Timestamp,
    /// The alarm's rule.
    pub rule: String,
    /// The alarm's series.
    pub series: String,
    /// Its activations within the chatter window, this one included.
    pub activations: usize,
}

/// The review's figures at one moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlarmKpis {
    /// Annunciations in the last `rate_window`.
    pub annunciated: usize,
    /// The same per operator position.
    pub per_operator: f64,
    /// Whether the rate is a flood now.
    pub in_flood: bool,
    /// Floods begun since the log started.
    pub floods: u64,
    /// Alarms (rule, series) chattering now.
    pub chattering: Vec<(String, String)>,
    /// Alarms active for longer than `stale_after`.
    pub stale: Vec<(String, String)>,
    /// Alarms active now (shelved ones included).
    pub standing: usize,
    /// Alarms shelved now.
    pub shelved: usize,
    /// Activations held back as chattering since the log started.
    pub suppressed: u64,
}
