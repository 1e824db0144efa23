//! The run's summary, read back from the history: what was reported, by whom, what was excluded, and the checks.

use std::collections::BTreeMap;

use aeroguard_consensus::history::{HistoryStore, RetentionSchedule};
use aeroguard_core::Timestamp;
use serde::{Deserialize, Serialize};

use super::{Events, Plan, RoundRecord};

mod display;
mod records;

pub use records::{FailoverRecord, FaultRecord, OutageRecord, RetentionRecord, RulesRecord, UpsetRecord};

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
        let all = (Timestamp::EPOCH, Timestamp::from_millis(i64::MAX / 2));
        let points = history.range(&plan.series(), all.0, all.1).await?;
        let records: Vec<RoundRecord> = points
            .iter()
            .filter_map(|p| serde_json::from_value(p.detail.clone()?).ok())
            .collect();
        let aborted: Vec<u64> = history
            .range(&plan.aborted_series(), all.0, all.1)
            .await?
            .iter()
            .filter_map(|p| p.detail.as_ref()?.get("round")?.as_u64())
            .collect();
        let mut count: BTreeMap<u64, u64> = BTreeMap::new();
        for r in &records {
            *count.entry(r.round).or_default() += 1;
        }
        let max = count.keys().chain(&aborted).copied().max().unwrap_or(0);
        // Rounds older than the retention's raw horizon are folded into buckets: those must account exactly for
        // the rounds below the first raw one that were not aborted.
        let buckets = history.buckets(&plan.series(), all.0, all.1).await?;
        let in_buckets: u64 = buckets.iter().map(|b| b.count).sum();
        let first_raw = if in_buckets > 0 {
            count.keys().next().copied().unwrap_or(max + 1)
        } else {
            1
        };
        let folded_expected = (1..first_raw).filter(|r| !aborted.contains(r)).count() as u64;
        let lost = (first_raw..=max)
            .filter(|r| !count.contains_key(r) && !aborted.contains(r))
            .collect();
        let mut terms: Vec<(String, u64)> = Vec::new();
        for r in &records {
            if terms.last().is_none_or(|t| t.1 != r.token) {
                terms.push((r.leader.clone(), r.token));
            }
        }
        let failovers = ev
            .killed
            .iter()
            .map(|(at, who)| {
                let next = ev.elected.iter().find(|e| e.0 > *at && e.1 != *who);
                FailoverRecord {
                    killed: who.clone(),
                    next: next.map(|e| e.1.clone()),
                    took_ms: next.map(|e| (e.0 - *at).as_millis() as u64),
                }
            })
            .collect();
        let faulty: Vec<String> = plan.faults.iter().map(|f| Plan::node_name(f.node)).collect();
        let excluded_in =
            |r: &RoundRecord, node: &str| r.excluded.iter().any(|c| c.iter().any(|n| n == node));
        let faults = plan
            .faults
            .iter()
            .map(|f| {
                let node = Plan::node_name(f.node);
                let during: Vec<&RoundRecord> = records
                    .iter()
                    .filter(|r| (f.from..=f.to).contains(&r.round) && r.answered.contains(&node))
                    .collect();
                FaultRecord {
                    fault: f.label().into(),
                    rounds: during.len() as u64,
                    excluded: during.iter().filter(|r| excluded_in(r, &node)).count() as u64,
                    node,
                }
            })
            .collect();
        let healthy_excluded = records
            .iter()
            .filter(|r| {
                (0..plan.nodes).map(Plan::node_name).any(|n| {
                    let faulty_now = plan
                        .faults
                        .iter()
                        .any(|f| Plan::node_name(f.node) == n && (f.from..=f.to + 3).contains(&r.round));
                    !faulty_now && !faulty.is_empty() && excluded_in(r, &n)
                })
            })
            .count() as u64;
        let live = plan.nodes - ev.dead.len();
        Ok(Summary {
            rounds_planned: plan.rounds,
            rounds_reported: count.len() as u64 + in_buckets,
            duplicates: count.iter().filter(|(_, n)| **n > 1).map(|(r, _)| *r).collect(),
            aborted,
            lost,
            // Tokens never go down, and an equal token is the same term: one leader per token.
            tokens_in_order: records
                .windows(2)
                .all(|w| w[1].token > w[0].token || (w[1].token == w[0].token && w[1].leader == w[0].leader))
                && one_leader_per_token(&records),
            terms,
            failovers,
            missing_quorum: records
                .iter()
                .filter(|r| !r.reached_quorum)
                .map(|r| r.round)
                .collect(),
            faults,
            healthy_excluded,
            alarms: records.iter().filter(|r| r.alarm).count() as u64,
            upset: plan.upset.map(|u| {
                let alarmed = records
                    .iter()
                    .filter(|r| r.alarm && (u.from..=u.to + 2).contains(&r.round))
                    .map(|r| (r.round, r.voted_yes.clone()))
                    .collect();
                UpsetRecord {
                    from: u.from,
                    to: u.to,
                    alarmed,
                }
            }),
            alerts: ev.alerts.clone(),
            retention: plan_retention.map(|r| RetentionRecord {
                raw_ms: r.raw_ms,
                keep_ms: r.keep_ms,
                bucket_ms: r.bucket_ms,
                runs: ev.compactions.len() as u64,
                folded: ev.compactions.iter().map(|c| c.1).sum(),
                dropped: ev.compactions.iter().map(|c| c.0).sum(),
                steps: ev.compactions.iter().map(|c| u64::from(c.2)).sum(),
                in_buckets,
                expected_in_buckets: folded_expected,
            }),
            bad_rules: ev.bad_rules.map(|version| {
                let of = |applied: bool| {
                    let mut n: Vec<String> = ev
                        .rules
                        .iter()
                        .filter(|r| r.1 == version && r.2 == applied && !ev.dead.contains(&r.0))
                        .map(|r| r.0.clone())
                        .collect();
                    n.sort();
                    n.dedup();
                    n
                };
                RulesRecord {
                    version,
                    refused_by: of(false),
                    applied_by: of(true),
                    reason: ev
                        .rules
                        .iter()
                        .find(|r| r.1 == version && !r.2)
                        .map(|r| r.3.clone())
                        .unwrap_or_default(),
                    live: plan.nodes - ev.dead.len(),
                }
            }),
            outage: plan.outage.and_then(|o| {
                let up = ev.links.iter().find(|l| l.0)?;
                Some(OutageRecord {
                    from: o.from,
                    to: o.to,
                    buffered: up.2,
                    forwarded: ev
                        .forwarded
                        .iter()
                        .filter(|f| f.0 == "history")
                        .map(|f| f.1)
                        .sum(),
                })
            }),
            false_alarms: records
                .iter()
                .filter(|r| r.alarm && plan.upset.is_none_or(|u| !(u.from..=u.to + 4).contains(&r.round)))
                .map(|r| r.round)
                .collect(),
            config: ev
                .new_period
                .map(|p| (p, ev.applied.iter().cloned().collect(), live)),
            timed_out: ev.timed_out,
        })
    }

    /// The checks a run must pass, as problems found (empty: all good).
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.timed_out {
            out.push("the run timed out".into());
        }
        if self.rounds_reported < self.rounds_planned.saturating_sub(self.aborted.len() as u64) {
            out.push(format!(
                "only {} of {} rounds reported",
                self.rounds_reported, self.rounds_planned
            ));
        }
        if !self.duplicates.is_empty() {
            out.push(format!("rounds reported twice: {:?}", self.duplicates));
        }
        if !self.lost.is_empty() {
            out.push(format!("rounds lost: {:?}", self.lost));
        }
        if !self.tokens_in_order {
            out.push("the history accepted a lower token after a higher one".into());
        }
        for f in &self.failovers {
            if f.next.is_none() {
                out.push(format!("nobody took over from {}", f.killed));
            }
        }
        for f in &self.faults {
            if f.rounds > 0 && f.excluded == 0 {
                out.push(format!(
                    "{} ({}) was never excluded during its fault",
                    f.node, f.fault
                ));
            }
        }
        if !self.false_alarms.is_empty() {
            out.push(format!("false alarms in rounds {:?}", self.false_alarms));
        }
        if let Some(UpsetRecord { from, to, alarmed }) = &self.upset {
            if alarmed.is_empty() {
                out.push(format!("no alarm for the process upset in rounds {from}-{to}"));
            }
            let went = |status: &str| {
                self.alerts
                    .iter()
                    .any(|(rule, s, _)| rule == "process-anomaly" && s == status)
            };
            // Firing needs a few rounds of the upset, resolving a few after it (the vote's window).
            let fire_by = self.rounds_planned >= from + 6;
            let resolve_by = self.rounds_planned >= to + 7;
            if (fire_by && !went("firing")) || (resolve_by && !went("resolved")) {
                out.push(format!(
                    "the process-anomaly alert did not fire and resolve: {:?}",
                    self.alerts
                ));
            }
        }
        if let Some(r) = &self.retention
            && (r.runs == 0 || r.folded < r.in_buckets || r.in_buckets != r.expected_in_buckets)
        {
            out.push(format!(
                "retention: {} compactions, {} folded, {} in buckets where the rounds below the first raw one \
                 make {}",
                r.runs, r.folded, r.in_buckets, r.expected_in_buckets
            ));
        }
        if let Some(r) = &self.bad_rules
            && (r.refused_by.len() < r.live || !r.applied_by.is_empty())
        {
            out.push(format!(
                "the rule file with a typo was refused by {:?} of {} live nodes, applied by {:?}",
                r.refused_by, r.live, r.applied_by
            ));
        }
        if let Some(o) = &self.outage
            && (o.buffered == 0 || o.forwarded < o.buffered)
        {
            out.push(format!(
                "the link outage in rounds {}-{}: {} rounds buffered, {} forwarded",
                o.from, o.to, o.buffered, o.forwarded
            ));
        }
        if let Some((period, applied, live)) = &self.config
            && applied.len() < *live
        {
            out.push(format!(
                "only {applied:?} of {live} live nodes applied period {period} ms"
            ));
        }
        out
    }
}
