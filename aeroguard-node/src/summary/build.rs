//! The summary's parts, each read off the stored history or the events the orchestrator saw.

use std::collections::BTreeMap;

use aeroguard_consensus::history::{HistoryStore, RetentionSchedule};
use aeroguard_core::Timestamp;

use crate::sim::CHANNELS;

use super::{FailoverRecord, FaultRecord, OutageRecord, RetentionRecord, RulesRecord, UpsetRecord};
use crate::{Events, Plan, RoundRecord};

/// What the history holds of a run.
pub(super) struct Stored {
    /// The rounds' records, oldest first.
    pub records: Vec<RoundRecord>,
    /// Rounds a leader accounted for as opened and never reported.
    pub aborted: Vec<u64>,
    /// Points folded into retention buckets.
    pub in_buckets: u64,
    /// The keys of the actions logged.
    pub actions: Vec<String>,
}

impl Stored {
    pub(super) async fn read(plan: &Plan, history: &dyn HistoryStore) -> crate::Result<Stored> {
        let (from, to) = (Timestamp::EPOCH, Timestamp::from_millis(i64::MAX / 2));
        let points = history.range(&plan.series(), from, to).await?;
        let records = points
            .iter()
            .filter_map(|p| serde_json::from_value(p.detail.clone()?).ok())
            .collect();
        let aborted = history
            .range(&plan.aborted_series(), from, to)
            .await?
            .iter()
            .filter_map(|p| p.detail.as_ref()?.get("round")?.as_u64())
            .collect();
        let buckets = history.buckets(&plan.series(), from, to).await?;
        let actions = history
            .range(&plan.actions_series(), from, to)
            .await?
            .iter()
            .filter_map(|p| Some(p.detail.as_ref()?.get("key")?.as_str()?.to_string()))
            .collect();
        Ok(Stored {
            records,
            aborted,
            in_buckets: buckets.iter().map(|b| b.count).sum(),
            actions,
        })
    }

    /// How often each round was stored.
    pub(super) fn count(&self) -> BTreeMap<u64, u64> {
        let mut count: BTreeMap<u64, u64> = BTreeMap::new();
        for r in &self.records {
            *count.entry(r.round).or_default() += 1;
        }
        count
    }

    /// The rounds lost, and how many points the buckets must hold. Rounds older than the retention's raw
    /// horizon are folded into buckets: those must account exactly for the rounds below the first raw one that
    /// were not aborted.
    pub(super) fn lost_and_folded(&self, count: &BTreeMap<u64, u64>) -> (Vec<u64>, u64) {
        let max = count.keys().chain(&self.aborted).copied().max().unwrap_or(0);
        let first_raw = if self.in_buckets > 0 {
            count.keys().next().copied().unwrap_or(max + 1)
        } else {
            1
        };
        let folded_expected = (1..first_raw).filter(|r| !self.aborted.contains(r)).count() as u64;
        let lost = (first_raw..=max)
            .filter(|r| !count.contains_key(r) && !self.aborted.contains(r))
            .collect();
        (lost, folded_expected)
    }
}

/// Each term's leader and token, in order.
pub(super) fn terms(records: &[RoundRecord]) -> Vec<(String, u64)> {
    let mut terms: Vec<(String, u64)> = Vec::new();
    for r in records {
        if terms.last().is_none_or(|t| t.1 != r.token) {
            terms.push((r.leader.clone(), r.token));
        }
    }
    terms
}

/// Each killed leader, who took over and how long it took.
pub(super) fn failovers(ev: &Events) -> Vec<FailoverRecord> {
    ev.killed
        .iter()
        .map(|(at, who)| {
            let next = ev.elected.iter().find(|e| e.0 > *at && e.1 != *who);
            FailoverRecord {
                killed: who.clone(),
                next: next.map(|e| e.1.clone()),
                took_ms: next.map(|e| (e.0 - *at).as_millis() as u64),
            }
        })
        .collect()
}

fn excluded_in(r: &RoundRecord, node: &str) -> bool {
    r.excluded.iter().any(|c| c.iter().any(|n| n == node))
}

/// Each planned sensor fault, and in how many of its rounds fusion excluded the node.
pub(super) fn faults(
    plan: &Plan,
    records: &[RoundRecord],
    health: &[(String, String, u64, Option<u64>)],
) -> Vec<FaultRecord> {
    plan.plant
        .faults
        .iter()
        .map(|f| {
            let node = Plan::node_name(f.node);
            let during: Vec<&RoundRecord> = records
                .iter()
                .filter(|r| (f.from..=f.to).contains(&r.round) && r.answered.contains(&node))
                .collect();
            let warned = health
                .iter()
                .filter(|(sensor, _, round, _)| *sensor == node && (f.from..=f.to).contains(round))
                .min_by_key(|h| h.2)
                .map(|h| (h.2, h.3));
            let first_out = during
                .iter()
                .find(|r| !r.backfilled && excluded_in(r, &node))
                .copied();
            // The live rounds of the fault the excluding term watched before it excluded the node.
            let watched = first_out.map_or(0, |out| {
                during
                    .iter()
                    .filter(|r| !r.backfilled && r.token == out.token && r.round < out.round)
                    .count() as u64
            });
            FaultRecord {
                watched,
                fault: f.label().into(),
                rounds: during.len() as u64,
                excluded: during.iter().filter(|r| excluded_in(r, &node)).count() as u64,
                first_excluded: during
                    .iter()
                    .filter(|r| excluded_in(r, &node))
                    .map(|r| r.round)
                    .min(),
                warned,
                node,
            }
        })
        .collect()
}

/// Health warnings for a node with no fault in the window before them (the tracker's 20 rounds).
pub(super) fn false_health(plan: &Plan, health: &[(String, String, u64, Option<u64>)]) -> Vec<(String, u64)> {
    health
        .iter()
        .filter(|(sensor, _, round, _)| {
            !plan.plant.faults.iter().any(|f| {
                Plan::node_name(f.node) == *sensor && f.from <= *round && round.saturating_sub(20) <= f.to
            })
        })
        .map(|(sensor, _, round, _)| (sensor.clone(), *round))
        .collect()
}

/// Rounds in which fusion excluded a node that had no fault then (nor in the three rounds after one).
pub(super) fn healthy_excluded(plan: &Plan, records: &[RoundRecord]) -> u64 {
    if plan.plant.faults.is_empty() {
        return 0;
    }
    records
        .iter()
        .filter(|r| {
            (0..plan.nodes).map(Plan::node_name).any(|n| {
                let faulty_now = plan
                    .plant
                    .faults
                    .iter()
                    .any(|f| Plan::node_name(f.node) == n && (f.from..=f.to + 3).contains(&r.round));
                !faulty_now && excluded_in(r, &n)
            })
        })
        .count() as u64
}

/// The process upset's rounds that alarmed, with who voted yes.
pub(super) fn upset(plan: &Plan, records: &[RoundRecord]) -> Option<UpsetRecord> {
    plan.plant.upset.map(|u| {
        let alarmed: Vec<&RoundRecord> = records
            .iter()
            .filter(|r| r.alarm && (u.from..=u.to + 2).contains(&r.round))
            .collect();
        let led = alarmed.iter().filter(|r| !r.backfilled).count();
        let mut shares = [0.0; 3];
        for r in alarmed.iter().filter(|r| !r.backfilled) {
            for (channel, share) in &r.drivers {
                if let Some(c) = CHANNELS.iter().position(|n| n == channel) {
                    shares[c] += share / led as f64;
                }
            }
        }
        UpsetRecord {
            from: u.from,
            to: u.to,
            alarmed: alarmed.iter().map(|r| (r.round, r.voted_yes.clone())).collect(),
            drivers: super::ranked(&shares),
            alone: (alarmed.len() - led) as u64,
        }
    })
}

/// What the leaders' compactions did under `schedule`.
pub(super) fn retention(
    schedule: RetentionSchedule,
    ev: &Events,
    in_buckets: u64,
    expected_in_buckets: u64,
) -> RetentionRecord {
    RetentionRecord {
        raw_ms: schedule.raw_ms,
        keep_ms: schedule.keep_ms,
        bucket_ms: schedule.bucket_ms,
        runs: ev.compactions.len() as u64,
        folded: ev.compactions.iter().map(|c| c.1).sum(),
        dropped: ev.compactions.iter().map(|c| c.0).sum(),
        steps: ev.compactions.iter().map(|c| u64::from(c.2)).sum(),
        in_buckets,
        expected_in_buckets,
    }
}

/// Which live nodes refused and which applied the file of `version` (the one with a typo) among `reports`
/// (the rule files' or the policies').
pub(super) fn bad_file(
    plan: &Plan,
    ev: &Events,
    reports: &[(String, u64, bool, String)],
    version: u64,
) -> RulesRecord {
    let of = |applied: bool| {
        let mut n: Vec<String> = reports
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
        reason: reports
            .iter()
            .find(|r| r.1 == version && !r.2)
            .map(|r| r.3.clone())
            .unwrap_or_default(),
        live: plan.nodes - ev.dead.len(),
    }
}

/// The link outage: what the leader's outbox held back and what it forwarded when the link returned.
pub(super) fn outage(plan: &Plan, ev: &Events) -> Option<OutageRecord> {
    plan.plant.outage.and_then(|o| {
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
    })
}
