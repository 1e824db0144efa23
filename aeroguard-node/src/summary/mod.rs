//! The run's summary, read back from the history: what was reported, by whom, what was excluded, and the checks.

use std::collections::BTreeMap;

use aeroguard_consensus::history::{HistoryStore, RetentionSchedule};
use serde::{Deserialize, Serialize};

use super::{Events, Plan, RoundRecord};

mod build;
mod checks;
mod display;
mod records;

use build::{
    Stored, bad_file, failovers, false_health, faults, healthy_excluded, outage, retention, terms, upset,
};

pub use records::{
    ActionLine, FailoverRecord, FaultRecord, OutageRecord, RetentionRecord, RulesRecord, UpsetRecord,
};

/// What a run did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Rounds asked for.
    pub rounds_planned: u64,
    /// Distinct rounds reported in the history.
    pub rounds_reported: u64,
    /// Rounds reported more than once.
    pub duplicates: Vec<u64>,
    /// Rounds opened by a leader that died before reporting them, accounted by its successor.
    pub aborted: Vec<u64>,
    /// Rounds neither reported nor accounted for.
    pub lost: Vec<u64>,
    /// Leaders, in order, with their tokens.
    pub terms: Vec<(String, u64)>,
    /// Failovers after a kill.
    pub failovers: Vec<FailoverRecord>,
    /// Rounds whose answers did not reach a majority in time.
    pub missing_quorum: Vec<u64>,
    /// Per faulty node: how often it was excluded during its fault.
    pub faults: Vec<FaultRecord>,
    /// Rounds in which a healthy node was excluded.
    pub healthy_excluded: u64,
    /// Rounds with an ensemble alarm.
    pub alarms: u64,
    /// The process upset and the alarms it raised.
    pub upset: Option<UpsetRecord>,
    /// Alert transitions of the leaders' rules: (rule, status, round).
    pub alerts: Vec<(String, String, u64)>,
    /// Retention, if a schedule was set.
    pub retention: Option<RetentionRecord>,
    /// The alert rule file with a typo, if one was pushed.
    pub bad_rules: Option<RulesRecord>,
    /// The action policy with a typo, if one was pushed.
    #[serde(default)]
    pub bad_policy: Option<RulesRecord>,
    /// The leaders' actions, as they reported them.
    #[serde(default)]
    pub actions: Vec<ActionLine>,
    /// The keys of the actions logged in the history (fenced by the term that decided each).
    #[serde(default)]
    pub actions_logged: Vec<String>,
    /// The link outage, if the run had one and its leader lived through it.
    pub outage: Option<OutageRecord>,
    /// Alarmed rounds with no process upset in them or in the four rounds before (the ensemble's window and
    /// vote carry an alarm a few rounds past the upset).
    pub false_alarms: Vec<u64>,
    /// Whether the history's tokens never went down.
    pub tokens_in_order: bool,
    /// The sampling period pushed, and which live nodes applied it.
    pub config: Option<(u64, Vec<String>, usize)>,
    /// Whether the run ended by timeout.
    pub timed_out: bool,
    /// Rounds the nodes measured alone (cut off from the coordination servers) and a leader stored later.
    #[serde(default)]
    pub backfilled: Vec<u64>,
    /// The measurements stored in them.
    #[serde(default)]
    pub backfilled_measurements: u64,
    /// Alert transitions of the nodes' own rules while they were cut off: (node, rule, status, round).
    #[serde(default)]
    pub local_alerts: Vec<(String, String, String, u64)>,
    /// Health warnings for nodes with no planned fault then: (node, round). Shown, not a failed check: a node
    /// answering late after a cut shows a moving gap, which is what the watch looks for.
    #[serde(default)]
    pub false_health: Vec<(String, u64)>,
}

/// Whether every token in the history was written by one leader only.
fn one_leader_per_token(records: &[RoundRecord]) -> bool {
    let mut holder: BTreeMap<u64, &str> = BTreeMap::new();
    records
        .iter()
        .all(|r| *holder.entry(r.token).or_insert(r.leader.as_str()) == r.leader.as_str())
}

impl Summary {
    pub(crate) async fn build(
        plan: &Plan,
        plan_retention: Option<RetentionSchedule>,
        history: &dyn HistoryStore,
        ev: Events,
    ) -> crate::Result<Summary> {
        let stored = Stored::read(plan, history).await?;
        let Stored {
            records,
            aborted,
            in_buckets,
            ..
        } = &stored;
        let count = stored.count();
        let (lost, folded_expected) = stored.lost_and_folded(&count);
        let live = plan.nodes - ev.dead.len();
        Ok(Summary {
            rounds_planned: plan.rounds,
            rounds_reported: count.len() as u64 + in_buckets,
            duplicates: count.iter().filter(|(_, n)| **n > 1).map(|(r, _)| *r).collect(),
            aborted: aborted.clone(),
            lost,
            // Tokens never go down, and an equal token is the same term: one leader per token.
            tokens_in_order: records
                .windows(2)
                .all(|w| w[1].token > w[0].token || (w[1].token == w[0].token && w[1].leader == w[0].leader))
                && one_leader_per_token(records),
            terms: terms(records),
            failovers: failovers(&ev),
            missing_quorum: records
                .iter()
                .filter(|r| !r.reached_quorum && !r.backfilled)
                .map(|r| r.round)
                .collect(),
            faults: faults(plan, records, &ev.health),
            healthy_excluded: healthy_excluded(plan, records),
            alarms: records.iter().filter(|r| r.alarm).count() as u64,
            upset: upset(plan, records),
            alerts: ev.alerts.clone(),
            retention: plan_retention.map(|r| retention(r, &ev, *in_buckets, folded_expected)),
            bad_rules: ev
                .bad_rules
                .map(|version| bad_file(plan, &ev, &ev.rules, version)),
            bad_policy: ev
                .bad_policy
                .map(|version| bad_file(plan, &ev, &ev.policies, version)),
            actions: ev
                .actions
                .iter()
                .map(|(round, r)| ActionLine::of(*round, r))
                .collect(),
            actions_logged: stored.actions.clone(),
            outage: outage(plan, &ev),
            false_alarms: records
                .iter()
                .filter(|r| {
                    r.alarm
                        && plan
                            .plant
                            .upset
                            .is_none_or(|u| !(u.from..=u.to + 4).contains(&r.round))
                })
                .map(|r| r.round)
                .collect(),
            config: ev
                .new_period
                .map(|p| (p, ev.applied.iter().cloned().collect(), live)),
            timed_out: ev.timed_out,
            local_alerts: ev.local_alerts.clone(),
            false_health: false_health(plan, &ev.health),
            backfilled: records.iter().filter(|r| r.backfilled).map(|r| r.round).collect(),
            backfilled_measurements: records
                .iter()
                .filter(|r| r.backfilled)
                .map(|r| r.answered.len() as u64)
                .sum(),
        })
    }
}

/// Per-channel shares as (channel, share) pairs above 0, the largest first, rounded to two decimals.
pub(crate) fn ranked(shares: &[f64; 3]) -> Vec<(String, f64)> {
    let mut out: Vec<(String, f64)> = crate::sim::CHANNELS
        .iter()
        .zip(shares)
        .filter(|(_, s)| **s > 0.0)
        .map(|(c, s)| (c.to_string(), (s * 100.0).round() / 100.0))
        .collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1));
    out
}
