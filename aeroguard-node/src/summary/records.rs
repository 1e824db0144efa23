//! The parts of a run's summary: each a record of one thing the run did.

use serde::{Deserialize, Serialize};

/// A failover: who was killed, who took over, and how long it took.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailoverRecord {
    /// The killed leader.
    pub killed: String,
    /// The next leader.
    pub next: Option<String>,
    /// From the kill to the next election, ms.
    pub took_ms: Option<u64>,
}

/// How the fusion treated a faulty node during its fault.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultRecord {
    /// The node.
    pub node: String,
    /// The fault.
    pub fault: String,
    /// Reported rounds inside the fault's span.
    pub rounds: u64,
    /// Of those, rounds where the node was excluded on at least one channel.
    pub excluded: u64,
    /// The first of those rounds that a leader ran as it happened (not one measured without a leader and
    /// stored later: no leader watched the sensors' health then).
    #[serde(default)]
    pub first_excluded: Option<u64>,
    /// Rounds of the fault that the term which first excluded the node ran before it did (its health watch
    /// starts with its term).
    #[serde(default)]
    pub watched: u64,
    /// The first health warning for the node in the fault's span: its round and the rounds it gave to
    /// tolerance.
    #[serde(default)]
    pub warned: Option<(u64, Option<u64>)>,
}

/// The process upset and the alarms it raised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpsetRecord {
    /// Its first round.
    pub from: u64,
    /// Its last round.
    pub to: u64,
    /// The alarmed rounds from its start to two rounds after it, with who voted for each alarm.
    pub alarmed: Vec<(u64, Vec<String>)>,
    /// The channels that drove those alarms: each one's mean share over the alarmed rounds a leader ran, the
    /// largest first.
    pub drivers: Vec<(String, f64)>,
    /// Of the alarmed rounds, those the nodes measured and alarmed alone (cut off from coordination), stored
    /// later: their votes are the nodes' own, without drivers.
    #[serde(default)]
    pub alone: u64,
}

/// The link outage: what the leader buffered while its link to the history was down, and what it forwarded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutageRecord {
    /// The first round reported with the link down.
    pub from: u64,
    /// The last one.
    pub to: u64,
    /// Entries waiting in the leader's outbox when the link came back.
    pub buffered: u64,
    /// Entries delivered to the history once it answered again.
    pub forwarded: u64,
}

/// The alert rule file with a typo: who refused it, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RulesRecord {
    /// Its config version.
    pub version: u64,
    /// Live nodes that refused it.
    pub refused_by: Vec<String>,
    /// Nodes that applied it (must be none).
    pub applied_by: Vec<String>,
    /// The reason the nodes gave (with the line).
    pub reason: String,
    /// Live nodes at the end.
    pub live: usize,
}

/// Retention: the schedule in force and what the leaders' compactions did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetentionRecord {
    /// Raw points kept this long, in ms (`None`: never folded).
    pub raw_ms: Option<u64>,
    /// Everything kept this long, in ms.
    pub keep_ms: u64,
    /// The bucket width, in ms.
    pub bucket_ms: u64,
    /// Compactions run.
    pub runs: u64,
    /// Raw points folded into buckets, in total.
    pub folded: u64,
    /// Raw points dropped for age.
    pub dropped: u64,
    /// The bounded steps they took.
    pub steps: u64,
    /// Points the fused series' buckets hold.
    pub in_buckets: u64,
    /// Points they should hold: the rounds below the first raw one, aborted ones aside.
    pub expected_in_buckets: u64,
}

/// An action a leader took, as the summary shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionLine {
    /// The round.
    pub round: u64,
    /// The rule.
    pub rule: String,
    /// The sensor, for a health rule.
    pub sensor: Option<String>,
    /// The leader and its fencing token.
    pub by: (String, u64),
    /// The episode's key.
    pub key: String,
    /// The detectors that voted yes, when the ensemble voted.
    pub voted_yes: Vec<String>,
    /// The recommendation.
    pub recommendation: String,
}

impl ActionLine {
    pub(crate) fn of(round: u64, r: &aeroguard_detect::action::ActionRecord) -> ActionLine {
        ActionLine {
            round,
            rule: r.rule.clone(),
            sensor: r.sensor.clone(),
            by: (r.by.clone().unwrap_or_default(), r.token.unwrap_or(0)),
            key: r.key.clone(),
            voted_yes: (r.votes.iter().flat_map(|v| &v.members))
                .filter(|m| m.vote == aeroguard_detect::Vote::Yes)
                .map(|m| m.name.clone())
                .collect(),
            recommendation: r.recommendation.clone(),
        }
    }
}
