//! The summary as people read it.

use std::fmt;

use super::{Summary, UpsetRecord};

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "summary")?;
        writeln!(
            f,
            "  rounds reported      {} of {}",
            self.rounds_reported, self.rounds_planned
        )?;
        writeln!(f, "  reported twice       {:?}", self.duplicates)?;
        writeln!(f, "  lost                 {:?}", self.lost)?;
        writeln!(
            f,
            "  aborted by a crash   {:?} (opened by a dead leader, accounted by its successor)",
            self.aborted
        )?;
        let terms: Vec<String> = self.terms.iter().map(|(n, t)| format!("{n} #{t}")).collect();
        writeln!(f, "  leaders              {}", terms.join(" -> "))?;
        for fo in &self.failovers {
            writeln!(
                f,
                "  failover             {} killed -> {} elected after {} ms",
                fo.killed,
                fo.next.as_deref().unwrap_or("nobody"),
                fo.took_ms.map_or("-".into(), |t| t.to_string())
            )?;
        }
        writeln!(f, "  rounds without quorum {:?}", self.missing_quorum)?;
        self.fmt_faults(f)?;
        writeln!(f, "  healthy excluded     {} rounds", self.healthy_excluded)?;
        if !self.false_health.is_empty() {
            writeln!(
                f,
                "  health, no fault     {:?} (sensor, round)",
                self.false_health
            )?;
        }
        writeln!(
            f,
            "  alarms raised        {} ({} false)",
            self.alarms,
            self.false_alarms.len()
        )?;
        self.fmt_alone(f)?;
        if let Some(UpsetRecord {
            from,
            to,
            alarmed,
            drivers,
            ..
        }) = &self.upset
        {
            writeln!(
                f,
                "  process upset        rounds {from}-{to} (flow falls by a third, pressure sags; every sensor agrees)"
            )?;
            for (round, voters) in alarmed {
                writeln!(
                    f,
                    "    alarm in round {round:<3} voted for by {}",
                    voters.join(", ")
                )?;
            }
            if !drivers.is_empty() {
                let named: Vec<String> = drivers.iter().map(|(c, s)| format!("{c} {s:.2}")).collect();
                writeln!(f, "    driven by          {}", named.join(", "))?;
            }
        }
        self.fmt_behaviour(f)?;
        let problems = self.problems();
        if problems.is_empty() {
            write!(f, "  checks               ok: no round reported twice, none lost")
        } else {
            write!(f, "  checks               FAILED: {}", problems.join("; "))
        }
    }
}

impl Summary {
    /// The alerts, retention, the rule file, the outage and the config push, as people read them.
    fn fmt_behaviour(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (rule, status, round) in &self.alerts {
            writeln!(f, "  alert                {rule} {status} at round {round}")?;
        }
        if let Some(r) = &self.retention {
            let day = |ms: u64| match ms {
                ms if ms % 86_400_000 == 0 => format!("{} d", ms / 86_400_000),
                ms if ms % 3_600_000 == 0 => format!("{} h", ms / 3_600_000),
                ms if ms % 1_000 == 0 => format!("{} s", ms / 1_000),
                ms => format!("{ms} ms"),
            };
            writeln!(
                f,
                "  retention            raw for {}, then {} buckets, {} kept (the schedule in config): the leaders \
                 compacted {} times ({} points folded in {} steps, {} dropped)",
                r.raw_ms.map_or("ever".into(), day),
                day(r.bucket_ms),
                day(r.keep_ms),
                r.runs,
                r.folded,
                r.steps,
                r.dropped
            )?;
        }
        if let Some(r) = &self.bad_rules {
            writeln!(
                f,
                "  alert rules          v{} (a typo) refused by {} of {} live nodes, the rules in force kept: {}",
                r.version,
                r.refused_by.len(),
                r.live,
                r.reason
            )?;
        }
        if let Some(r) = &self.bad_policy {
            writeln!(
                f,
                "  action policy        v{} (a typo) refused by {} of {} live nodes, the policy in force kept: {}",
                r.version,
                r.refused_by.len(),
                r.live,
                r.reason
            )?;
        }
        self.fmt_actions(f)?;
        if let Some(o) = &self.outage {
            writeln!(
                f,
                "  link outage          rounds {}-{}: the leader's link to the history was down; {} rounds waited in \
                 its outbox on disk and {} entries were forwarded in order when it returned",
                o.from, o.to, o.buffered, o.forwarded
            )?;
        }
        if let Some((p, applied, live)) = &self.config {
            writeln!(
                f,
                "  sampling period      {p} ms applied by {} of {live} live nodes ({})",
                applied.len(),
                applied.join(", ")
            )?;
        }
        Ok(())
    }
}

impl Summary {
    /// The rounds the nodes measured alone, and their own alerts.
    fn fmt_alone(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.backfilled.is_empty() {
            return Ok(());
        }
        let local_alarms = self.local_alerts.iter().filter(|a| a.2 == "firing").count();
        writeln!(
            f,
            "  measured alone       {} rounds ({} measurements), stored by the next leader; {} local alerts fired",
            self.backfilled.len(),
            self.backfilled_measurements,
            local_alarms
        )
    }
}

impl Summary {
    /// The faults' lines: exclusions, and the health warning before them.
    fn fmt_faults(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for fr in &self.faults {
            writeln!(
                f,
                "  fault                {} {}: excluded in {} of {} rounds during the fault{}",
                fr.node,
                fr.fault,
                fr.excluded,
                fr.rounds,
                fr.first_excluded
                    .map(|r| format!(", from round {r}"))
                    .unwrap_or_default()
            )?;
            if let Some((round, rounds)) = fr.warned {
                let eta = rounds.map_or("beyond the horizon".into(), |r| format!("about {r} rounds"));
                writeln!(
                    f,
                    "  health warning       {} at round {round}: out of tolerance in {eta}",
                    fr.node
                )?;
            }
        }
        Ok(())
    }
}

impl Summary {
    /// The leaders' actions, and how many of them the history holds.
    fn fmt_actions(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for a in &self.actions {
            writeln!(
                f,
                "  action               round {} {} by {} #{}: {}",
                a.round, a.rule, a.by.0, a.by.1, a.recommendation
            )?;
        }
        if !self.actions.is_empty() {
            let logged = (self.actions.iter())
                .filter(|a| self.actions_logged.contains(&a.key))
                .count();
            writeln!(
                f,
                "  actions logged       {logged} of {} in the history, each under its leader's fencing token",
                self.actions.len()
            )?;
        }
        Ok(())
    }
}
