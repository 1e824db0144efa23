//! Actions: a policy maps what the monitoring knows (the ensemble's vote, a remaining life, a time to a limit,
//! the sensors' health) to what should be done about it: a recommendation whose text can carry the vote
//! record, a notification, and a call to a webhook that carries the caller's fencing token and an idempotency
//! key ([`ActionHook`], feature `notify`).
//!
//! A rule acts once per episode: when all its conditions start to hold (with a health condition, per sensor)
//! it gives one [`ActionRecord`], and nothing more until they have not held for the rule's `quiet` time, which
//! ends the episode. An episode's key is the same whoever computes it (from the subject, the rule, the sensor
//! and the time the episode began): a new leader that restores the open episodes ([`Actions::restore`]) does
//! not act again, and a receiver that is handed the same key twice knows it for a repeat ([`Gate`]).
//!
//! ```
//! use aeroguard_detect::action::{Actions, Facts, parse_policy};
//! let policy = parse_policy(r#"
//! [[action]]
//! name = "short-life"
//! remaining_life_below = 30.0
//! recommend = "Plan the overhaul of {subject}: about {remaining_life} cycles left."
//! "#)?;
//! let mut actions = Actions::new(policy);
//! let at = |s: i64| aeroguard_core::Timestamp::from_millis(s * 1000);
//! let facts = |s, life| Facts::new("engine-7", at(s)).with_remaining_life(life);
//! assert!(actions.observe(&facts(0, 80.0))?.is_empty());
//! let acted = actions.observe(&facts(1, 25.0))?;
//! assert_eq!(acted[0].recommendation, "Plan the overhaul of engine-7: about 25 cycles left.");
//! assert!(actions.observe(&facts(2, 24.0))?.is_empty(), "once per episode");
//! # Ok::<(), aeroguard_detect::Error>(())
//! ```

use std::time::Duration;

use aeroguard_core::Timestamp;
use serde::{Deserialize, Serialize};

use crate::alert::Severity;
use crate::{Error, Result, Verdict};

mod engine;
mod file;
mod gate;
#[cfg(feature = "notify")]
mod hook;
mod record;

pub use engine::{ActionState, Actions, Episode, MAX_EPISODES};
pub use file::{MAX_POLICY_FILE_BYTES, parse_policy};
pub use gate::{Admission, Gate};
#[cfg(feature = "notify")]
pub use hook::{ActionHook, FENCING_TOKEN_HEADER, IDEMPOTENCY_KEY_HEADER};
pub use record::{ActionRecord, vote_line};

/// The most rules a policy holds.
pub const MAX_ACTIONS: usize = 100;
/// The longest recommendation text a rule may give, in bytes.
pub const MAX_RECOMMENDATION: usize = 1000;
/// The most sensors one observation may name.
pub const MAX_SENSORS: usize = 10_000;
/// The placeholders a recommendation may use.
pub const PLACEHOLDERS: [&str; 7] = [
    "subject",
    "rule",
    "sensor",
    "votes",
    "remaining_life",
    "time_to_limit",
    "time_to_tolerance",
];

/// How a sensor fares, from well to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SensorState {
    /// Nothing to say.
    Healthy,
    /// Within its tolerance, drifting out of it.
    Drifting,
    /// Past its tolerance.
    OutOfTolerance,
    /// Fusion leaves it out.
    Excluded,
}

/// One sensor's health, as the caller's health watch sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SensorFact {
    /// The sensor.
    pub sensor: String,
    /// How it fares.
    pub state: SensorState,
    /// When it will leave its tolerance, if it is drifting out of it.
    pub time_to_tolerance: Option<Duration>,
}

/// What a rule's conditions ask; every condition given must hold.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct When {
    /// The ensemble raised its alarm.
    pub vote: bool,
    /// The remaining life is below this (in the caller's units: cycles, hours).
    pub remaining_life_below: Option<f64>,
    /// The forecast reaches its limit sooner than this.
    pub time_to_limit_below: Option<Duration>,
    /// A sensor fares this badly or worse (one episode per sensor).
    pub health: Option<SensorState>,
}

/// One rule of a policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionRule {
    /// Its name (1 to 128 characters from `[A-Za-z0-9_.:-]`).
    pub name: String,
    /// Its conditions.
    pub when: When,
    /// The recommendation, with placeholders in braces (see [`PLACEHOLDERS`]).
    pub recommend: String,
    /// Whether the recommendation is also sent to the notifiers.
    pub notify: bool,
    /// Whether the action webhook is called.
    pub webhook: bool,
    /// How long the conditions must stay away before the episode ends.
    pub quiet: Duration,
    /// How urgent it is.
    pub severity: Severity,
}

impl ActionRule {
    /// Checks the rule: its name, that it has a condition, its thresholds and its text.
    pub fn validate(&self) -> Result<()> {
        crate::alert::check_name(&self.name)?;
        let w = &self.when;
        if !w.vote
            && w.remaining_life_below.is_none()
            && w.time_to_limit_below.is_none()
            && w.health.is_none()
        {
            return Err(Error::parameter(
                "when",
                &self.name,
                "give at least one condition: vote, remaining_life_below, time_to_limit_below or health",
            ));
        }
        if let Some(l) = w.remaining_life_below
            && !(l.is_finite() && l > 0.0)
        {
            return Err(Error::parameter(
                "remaining_life_below",
                l,
                "must be finite and above 0",
            ));
        }
        for d in w.time_to_limit_below.iter().chain([&self.quiet]) {
            if *d > crate::alert::MAX_DURATION {
                return Err(Error::parameter("quiet", d, "durations are at most 366 days"));
            }
        }
        if w.health == Some(SensorState::Healthy) {
            return Err(Error::parameter(
                "health",
                "healthy",
                "must be drifting, out_of_tolerance or excluded",
            ));
        }
        if self.recommend.len() > MAX_RECOMMENDATION {
            return Err(Error::parameter(
                "recommend",
                self.recommend.len(),
                "at most 1000 bytes",
            ));
        }
        record::check_template(&self.recommend)
    }
}

/// A checked set of rules.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    rules: Vec<ActionRule>,
}

impl Policy {
    /// A policy of `rules`, each checked, names unique, at most [`MAX_ACTIONS`].
    pub fn new(rules: Vec<ActionRule>) -> Result<Policy> {
        if rules.len() > MAX_ACTIONS {
            return Err(Error::parameter("rules", rules.len(), "at most 100 rules"));
        }
        for (i, r) in rules.iter().enumerate() {
            r.validate()?;
            if rules[..i].iter().any(|o| o.name == r.name) {
                return Err(Error::parameter(
                    "name",
                    &r.name,
                    "each rule needs a name of its own",
                ));
            }
        }
        Ok(Policy { rules })
    }

    /// The rules.
    pub fn rules(&self) -> &[ActionRule] {
        &self.rules
    }
}

/// What the monitoring knows of one subject (a series, a unit) at one time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Facts {
    /// The subject.
    pub subject: String,
    /// When.
    pub at: Timestamp,
    /// The ensemble's verdict with every member's vote, if it voted.
    pub verdict: Option<Verdict>,
    /// The remaining life, if estimated.
    pub remaining_life: Option<f64>,
    /// The time until the forecast crosses its limit, if it does.
    pub time_to_limit: Option<Duration>,
    /// The sensors' health.
    pub sensors: Vec<SensorFact>,
}

impl Facts {
    /// Nothing known yet of `subject` at `at`.
    pub fn new(subject: &str, at: Timestamp) -> Facts {
        Facts {
            subject: subject.to_string(),
            at,
            verdict: None,
            remaining_life: None,
            time_to_limit: None,
            sensors: Vec::new(),
        }
    }

    /// With the ensemble's verdict.
    pub fn with_verdict(mut self, verdict: Verdict) -> Facts {
        self.verdict = Some(verdict);
        self
    }

    /// With a remaining life.
    pub fn with_remaining_life(mut self, life: f64) -> Facts {
        self.remaining_life = Some(life);
        self
    }

    /// With a time to the limit.
    pub fn with_time_to_limit(mut self, within: Duration) -> Facts {
        self.time_to_limit = Some(within);
        self
    }

    /// With one sensor's health.
    pub fn with_sensor(
        mut self,
        sensor: &str,
        state: SensorState,
        time_to_tolerance: Option<Duration>,
    ) -> Facts {
        self.sensors.push(SensorFact {
            sensor: sensor.to_string(),
            state,
            time_to_tolerance,
        });
        self
    }

    fn check(&self) -> Result<()> {
        if let Some(l) = self.remaining_life
            && !l.is_finite()
        {
            return Err(Error::parameter("remaining_life", l, "must be finite"));
        }
        if self.sensors.len() > MAX_SENSORS {
            return Err(Error::parameter(
                "sensors",
                self.sensors.len(),
                "at most 10,000 sensors",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
