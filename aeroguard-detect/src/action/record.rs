//! What an action leaves behind: its record (logged, notified, sent to the webhook), the vote record as a line
//! of text, the recommendation's placeholders, and the episode's key.

use std::collections::BTreeMap;
use std::time::Duration;

use aeroguard_core::Timestamp;
use serde::{Deserialize, Serialize};

use super::{ActionRule, Facts, PLACEHOLDERS, SensorFact};
use crate::alert::{AlertEvent, AlertStatus, Severity};
use crate::{Error, Result, Verdict, Vote};

/// One action: what a rule decided for an episode, as it is logged, notified and sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionRecord {
    /// The rule.
    pub rule: String,
    /// What it is about (a series, a unit).
    pub subject: String,
    /// The sensor, for a health condition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sensor: Option<String>,
    /// The episode's key: the same for every record of the episode, whoever makes it (receivers keep the keys
    /// they have seen and refuse repeats).
    pub key: String,
    /// When the episode began.
    pub since: Timestamp,
    /// When the action was decided.
    pub at: Timestamp,
    /// The recommendation, placeholders filled in.
    pub recommendation: String,
    /// How urgent it is.
    pub severity: Severity,
    /// Whether it goes to the notifiers.
    pub notify: bool,
    /// Whether it goes to the action webhook.
    pub webhook: bool,
    /// The ensemble's verdict with every member's vote, when it voted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub votes: Option<Verdict>,
    /// The remaining life the decision saw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remaining_life: Option<f64>,
    /// The time to the limit the decision saw, in ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_to_limit_ms: Option<u64>,
    /// The fencing token of the leader that acted ([`fenced`](Self::fenced)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<u64>,
    /// Who acted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
}

impl ActionRecord {
    pub(super) fn new(
        rule: &ActionRule,
        facts: &Facts,
        sensor: Option<&SensorFact>,
        since: Timestamp,
    ) -> Self {
        ActionRecord {
            rule: rule.name.clone(),
            subject: facts.subject.clone(),
            sensor: sensor.map(|s| s.sensor.clone()),
            key: key(
                &facts.subject,
                &rule.name,
                sensor.map(|s| s.sensor.as_str()),
                since,
            ),
            since,
            at: facts.at,
            recommendation: render(&rule.recommend, rule, facts, sensor),
            severity: rule.severity,
            notify: rule.notify,
            webhook: rule.webhook,
            votes: facts.verdict.clone(),
            remaining_life: facts.remaining_life,
            time_to_limit_ms: facts.time_to_limit.map(millis),
            token: None,
            by: None,
        }
    }

    /// The record as acted on by `by` under fencing token `token`.
    pub fn fenced(mut self, token: u64, by: &str) -> Self {
        self.token = Some(token);
        self.by = Some(by.to_string());
        self
    }

    /// The record as an alert for the notifiers: firing, named after the rule, on the subject (and sensor), the
    /// recommendation and the key in its labels.
    pub fn as_alert(&self) -> AlertEvent {
        let mut labels = BTreeMap::new();
        labels.insert("action".to_string(), self.rule.clone());
        labels.insert("recommendation".to_string(), self.recommendation.clone());
        labels.insert("idempotency_key".to_string(), self.key.clone());
        AlertEvent {
            rule: self.rule.clone(),
            series: match &self.sensor {
                Some(s) => format!("{} {s}", self.subject),
                None => self.subject.clone(),
            },
            status: AlertStatus::Firing,
            at: self.at,
            since: self.since,
            severity: self.severity,
            labels,
            value: self.votes.as_ref().map_or(1.0, |v| v.yes),
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// An episode's key: a hash of the subject, the rule and the sensor (FNV-1a, 64 bits), and the episode's start.
fn key(subject: &str, rule: &str, sensor: Option<&str>, since: Timestamp) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in [subject, rule, sensor.unwrap_or("")] {
        for b in part.bytes().chain([0xff]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{h:016x}-{}", since.as_millis())
}

/// The vote record as a line: the tally, then each member's vote with its score against its threshold.
///
/// ```
/// use aeroguard_detect::{MemberRecord, Verdict, Vote};
/// use aeroguard_detect::action::vote_line;
/// let member = |name: &str, score, vote| MemberRecord {
///     name: name.into(), score: Some(score), threshold: 0.5, weight: 1.0, vote, fault: None, drivers: vec![],
/// };
/// let verdict = Verdict {
///     alarm: true, passed: true, yes: 2.0, required: 2.0, available: 3.0, degraded: false,
///     members: vec![member("iforest", 0.71, Vote::Yes), member("ae", 0.9, Vote::Yes), member("lstm", 0.2, Vote::No)],
/// };
/// assert_eq!(
///     vote_line(&verdict),
///     "alarm, 2 of 3 for (2 needed): iforest yes 0.71 > 0.5, ae yes 0.9 > 0.5, lstm no 0.2 <= 0.5"
/// );
/// ```
pub fn vote_line(v: &Verdict) -> String {
    let members: Vec<String> = v
        .members
        .iter()
        .map(|m| {
            let score = m
                .score
                .map_or_else(|| "-".to_string(), |s| format!("{}", round3(s)));
            match &m.vote {
                Vote::Yes => format!("{} yes {score} > {}", m.name, round3(m.threshold)),
                Vote::No => format!("{} no {score} <= {}", m.name, round3(m.threshold)),
                Vote::Abstained(why) => format!("{} abstained ({why})", m.name),
                Vote::Failed(why) => format!("{} failed ({why})", m.name),
            }
        })
        .collect();
    format!(
        "{}, {} of {} for ({} needed): {}",
        if v.alarm { "alarm" } else { "no alarm" },
        round3(v.yes),
        round3(v.available),
        round3(v.required),
        members.join(", ")
    )
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// A duration as people say it: `0.4 s`, `90 s`, `4 min`, `3 h`, `2 d`.
fn shown(d: Duration) -> String {
    let s = d.as_secs_f64();
    match s {
        s if s < 10.0 => format!("{} s", (s * 10.0).round() / 10.0),
        s if s < 120.0 => format!("{} s", s.round()),
        s if s < 7200.0 => format!("{} min", (s / 60.0).round()),
        s if s < 172_800.0 => format!("{} h", (s / 3600.0).round()),
        s => format!("{} d", (s / 86_400.0).round()),
    }
}

/// Fills in the placeholders of `template`; one with nothing to say becomes `?`.
fn render(template: &str, rule: &ActionRule, facts: &Facts, sensor: Option<&SensorFact>) -> String {
    let value = |name: &str| -> Option<String> {
        match name {
            "subject" => Some(facts.subject.clone()),
            "rule" => Some(rule.name.clone()),
            "sensor" => sensor.map(|s| s.sensor.clone()),
            "votes" => facts.verdict.as_ref().map(vote_line),
            "remaining_life" => facts.remaining_life.map(|l| format!("{}", l.round())),
            "time_to_limit" => facts.time_to_limit.map(shown),
            "time_to_tolerance" => sensor.and_then(|s| s.time_to_tolerance).map(shown),
            _ => None,
        }
    };
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('}') else {
            out.push_str(&rest[open..]);
            return out;
        };
        let name = &rest[open + 1..open + close];
        out.push_str(&value(name).unwrap_or_else(|| "?".into()));
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    out
}

/// Checks that every brace of `template` opens a known placeholder and is closed.
pub(super) fn check_template(template: &str) -> Result<()> {
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            return Err(Error::parameter("recommend", template, "a `{` is never closed"));
        };
        let name = &rest[open + 1..open + close];
        if !PLACEHOLDERS.contains(&name) {
            return Err(Error::parameter(
                "recommend",
                name,
                "unknown placeholder: use {subject}, {rule}, {sensor}, {votes}, {remaining_life}, \
                 {time_to_limit} or {time_to_tolerance}",
            ));
        }
        rest = &rest[open + close + 1..];
    }
    Ok(())
}
