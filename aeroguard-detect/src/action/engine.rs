//! The episodes of a policy's rules: which are open, when each began, and what acts when one opens.

use std::collections::BTreeMap;

use aeroguard_core::Timestamp;
use serde::{Deserialize, Serialize};

use super::{ActionRecord, ActionRule, Facts, Policy, SensorFact};
use crate::{Error, Result};

/// The most episodes open at once.
pub const MAX_EPISODES: usize = 100_000;

/// An open episode: a rule (for a sensor) whose conditions hold, or held less than its quiet time ago.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Episode {
    /// The subject.
    pub subject: String,
    /// The rule.
    pub rule: String,
    /// The sensor, for a health condition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sensor: Option<String>,
    /// When it began.
    pub since: Timestamp,
    /// When its conditions last held.
    pub last_held: Timestamp,
    /// Its key (the one its action carried).
    pub key: String,
}

/// The open episodes, for a successor to carry on from ([`Actions::restore`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ActionState {
    /// The episodes.
    pub episodes: Vec<Episode>,
}

type EpisodeKey = (String, String, Option<String>);

/// A policy at work: it takes what is known, one observation at a time, and gives the actions of the episodes
/// that open. See the [module docs](super).
#[derive(Debug, Clone)]
pub struct Actions {
    policy: Policy,
    open: BTreeMap<EpisodeKey, Episode>,
}

impl Actions {
    /// A policy with no episode open.
    pub fn new(policy: Policy) -> Actions {
        Actions {
            policy,
            open: BTreeMap::new(),
        }
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Puts `policy` in force: the open episodes of rules it keeps (by name) stay open, the others end.
    pub fn replace_policy(&mut self, policy: Policy) {
        self.open
            .retain(|(_, rule, _), _| policy.rules.iter().any(|r| &r.name == rule));
        self.policy = policy;
    }

    /// Takes what is known of a subject now; the actions of the episodes that open, in rule order. Episodes of
    /// the subject whose conditions have stayed away past their rule's quiet time end.
    ///
    /// Errors: a non-finite remaining life, more than [`MAX_SENSORS`](super::MAX_SENSORS) sensors, or an
    /// episode past [`MAX_EPISODES`].
    pub fn observe(&mut self, facts: &Facts) -> Result<Vec<ActionRecord>> {
        facts.check()?;
        let mut acted = Vec::new();
        for rule in &self.policy.rules {
            if !holds(rule, facts) {
                continue;
            }
            let targets: Vec<Option<&SensorFact>> = match rule.when.health {
                None => vec![None],
                Some(worst) => facts
                    .sensors
                    .iter()
                    .filter(|s| s.state >= worst)
                    .map(Some)
                    .collect(),
            };
            for sensor in targets {
                let key = (
                    facts.subject.clone(),
                    rule.name.clone(),
                    sensor.map(|s| s.sensor.clone()),
                );
                if let Some(open) = self.open.get_mut(&key) {
                    open.last_held = open.last_held.max(facts.at);
                    continue;
                }
                if self.open.len() >= MAX_EPISODES {
                    return Err(Error::parameter(
                        "episodes",
                        self.open.len(),
                        "at most 100,000 open at once",
                    ));
                }
                let record = ActionRecord::new(rule, facts, sensor, facts.at);
                self.open.insert(
                    key,
                    Episode {
                        subject: facts.subject.clone(),
                        rule: rule.name.clone(),
                        sensor: sensor.map(|s| s.sensor.clone()),
                        since: facts.at,
                        last_held: facts.at,
                        key: record.key.clone(),
                    },
                );
                acted.push(record);
            }
        }
        let rules = &self.policy.rules;
        self.open.retain(|(subject, rule, _), e| {
            let Some(r) = rules.iter().find(|r| &r.name == rule) else {
                return false;
            };
            let away = facts.at.as_millis().saturating_sub(e.last_held.as_millis());
            subject != &facts.subject || away <= i64::try_from(r.quiet.as_millis()).unwrap_or(i64::MAX)
        });
        Ok(acted)
    }

    /// The open episodes.
    pub fn state(&self) -> ActionState {
        ActionState {
            episodes: self.open.values().cloned().collect(),
        }
    }

    /// Carries on from a predecessor's open episodes (those of rules this policy has), so that what it acted
    /// on is not acted on again.
    pub fn restore(&mut self, state: ActionState) -> Result<()> {
        if state.episodes.len() > MAX_EPISODES {
            return Err(Error::parameter(
                "episodes",
                state.episodes.len(),
                "at most 100,000 open at once",
            ));
        }
        for e in state.episodes {
            if self.policy.rules.iter().any(|r| r.name == e.rule) {
                self.open
                    .insert((e.subject.clone(), e.rule.clone(), e.sensor.clone()), e);
            }
        }
        Ok(())
    }
}

/// Whether `rule`'s conditions other than health hold.
fn holds(rule: &ActionRule, facts: &Facts) -> bool {
    let w = &rule.when;
    (!w.vote || facts.verdict.as_ref().is_some_and(|v| v.alarm))
        && w.remaining_life_below
            .is_none_or(|l| facts.remaining_life.is_some_and(|r| r < l))
        && w.time_to_limit_below
            .is_none_or(|t| facts.time_to_limit.is_some_and(|r| r < t))
}
