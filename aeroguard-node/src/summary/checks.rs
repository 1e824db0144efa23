//! The checks a run must pass.

use super::{Summary, UpsetRecord};

/// The rounds a leader's health watch needs (its window) before a drift must show in it.
const HEALTH_WINDOW: u64 = 20;

impl Summary {
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
        out.extend(self.fault_problems());
        out
    }

    /// What the faults, the upset, retention, the rule file, the outage and the config push should have done.
    fn fault_problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        for f in &self.faults {
            // A slow drift may not leave its tolerance within the run: flagged by the health watch, it is caught.
            if f.rounds > 0 && f.excluded == 0 && !(f.fault == "drift" && f.warned.is_some()) {
                out.push(format!(
                    "{} ({}) was never excluded during its fault",
                    f.node, f.fault
                ));
            }
            // A drift shows in the sensor's health before fusion has to leave it out, once the term that leaves
            // it out has watched a health window of it.
            if let (Some(out_from), "drift") = (f.first_excluded, f.fault.as_str())
                && f.watched >= HEALTH_WINDOW
                && f.warned.is_none_or(|(w, _)| w >= out_from)
            {
                out.push(format!(
                    "{} (drift) was excluded from round {out_from} with no health warning before it",
                    f.node
                ));
            }
        }
        if !self.false_alarms.is_empty() {
            out.push(format!("false alarms in rounds {:?}", self.false_alarms));
        }
        out.extend(self.upset_problems());
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
        if let Some(r) = &self.bad_policy
            && (r.refused_by.len() < r.live || !r.applied_by.is_empty())
        {
            out.push(format!(
                "the action policy with a typo was refused by {:?} of {} live nodes, applied by {:?}",
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

    /// What the process upset should have raised: an alarm driven by flow and pressure, and the alert firing
    /// and resolving (the leader's, or the nodes' own while they were cut off).
    fn upset_problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(UpsetRecord {
            from,
            to,
            alarmed,
            drivers,
            alone,
        }) = &self.upset
        {
            if alarmed.is_empty() {
                out.push(format!("no alarm for the process upset in rounds {from}-{to}"));
            }
            // The upset moves flow and pressure: they, not temperature, must be what the alarm names first.
            let top: Vec<&str> = drivers.iter().take(2).map(|(c, _)| c.as_str()).collect();
            let names_both = top.contains(&"flow") && top.contains(&"pressure");
            if alarmed.len() as u64 > *alone && !names_both {
                out.push(format!(
                    "the process upset's alarm names {drivers:?}, not flow and pressure first"
                ));
            }
            // The leader's alert, or the nodes' own while they were cut off from coordination.
            let went = |status: &str| {
                let by = |rule: &String, s: &String| rule == "process-anomaly" && s == status;
                self.alerts.iter().any(|(rule, s, _)| by(rule, s))
                    || self.local_alerts.iter().any(|(_, rule, s, _)| by(rule, s))
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
            // A leader that raised the alarm acts on the policy: its recommendation names who voted yes.
            let recommended = self.actions.iter().any(|a| {
                a.rule == "process-upset"
                    && !a.voted_yes.is_empty()
                    && a.voted_yes
                        .iter()
                        .all(|m| a.recommendation.contains(&format!("{m} yes")))
            });
            if alarmed.len() as u64 > *alone && !recommended {
                out.push(format!(
                    "no process-upset recommendation carrying the vote record: {:?}",
                    self.actions
                ));
            }
        }
        out
    }
}
