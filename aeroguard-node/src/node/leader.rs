//! A node's term as leader: it accounts for a round its predecessor left open, then opens rounds, fuses the
//! answers (Brooks-Iyengar), scores the fused row with the ensemble, stores and posts it through the outbox,
//! compacts the history on schedule and evaluates the alert rules, until the plan's rounds are done.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aeroguard_consensus::history::{Compactor, HistoryStore, Point, RetentionSchedule, Writer};
use aeroguard_consensus::outbox::Append;
use aeroguard_consensus::round::{Announcement, RoundLeader, RoundResult};
use aeroguard_consensus::{Config, Coordinator, Leadership};
use aeroguard_core::fusion::{BrooksIyengar, Fusion};
use aeroguard_core::{Reading, SensorId, Timestamp};
use aeroguard_detect::action::Facts;
use aeroguard_detect::{Model, Verdict, Voter};

use super::Emit;
use super::backfill::{Answer, Backfill, Backlogs, split};
use crate::actions::{LeaderActions, PolicyWatch};
use crate::alerting::{LeaderAlerts, RuleWatch};
use crate::deliver::{Deliveries, Post};
use crate::events::{NodeEvent, RoundLine};
use crate::plan::{Plan, RoundRecord};
use crate::sim::HALF_WIDTH;
use crate::{Error, Result};

/// A leader's term: its leadership and what it leads with.
pub(super) struct Term<'a> {
    pub coord: &'a Arc<dyn Coordinator>,
    pub lead: &'a Leadership,
    pub history: &'a Arc<dyn HistoryStore>,
    pub deliveries: &'a Deliveries,
    pub rules: &'a RuleWatch,
    pub policy: &'a PolicyWatch,
    pub plan: &'a Plan,
    pub pulse: &'a super::Pulse,
    pub clock: &'a super::ClockWatch,
    pub emit: &'a Emit,
}

/// The rounds reported among `points` (the newest of them).
fn reported(points: &[Point]) -> u64 {
    points
        .iter()
        .filter_map(|p| p.detail.as_ref()?.get("round")?.as_u64())
        .max()
        .unwrap_or(0)
}

/// Fuses each channel of the answers; a channel the fusion cannot settle stays NaN, with no exclusions.
fn fuse(result: &RoundResult<[f64; 3]>, now: Timestamp) -> ([f64; 3], [Vec<String>; 3]) {
    let fusion = BrooksIyengar::new(1);
    let mut fused = [f64::NAN; 3];
    let mut excluded: [Vec<String>; 3] = Default::default();
    for c in 0..3 {
        let readings: Vec<Reading> = result
            .answered
            .iter()
            .filter_map(|(node, v)| {
                Some(
                    Reading::new(SensorId::new(node.as_str()).ok()?, v[c], now)
                        .with_half_width(HALF_WIDTH[c]),
                )
            })
            .collect();
        if let Ok(e) = fusion.fuse(&readings, now) {
            fused[c] = e.value;
            excluded[c] = e.excluded.iter().map(|x| x.sensor.to_string()).collect();
        }
    }
    (fused, excluded)
}

/// The channels that drove a verdict's yes votes: each channel's mean share over the members that voted yes
/// (a member that cannot tell counts for none), the largest first.
pub(crate) fn drivers(v: &Verdict) -> Vec<(String, f64)> {
    let yes: Vec<_> = v
        .members
        .iter()
        .filter(|m| m.vote == aeroguard_detect::Vote::Yes)
        .collect();
    let mut shares = [0.0; 3];
    for m in &yes {
        for d in &m.drivers {
            if let Some(s) = shares.get_mut(d.column) {
                *s += d.share / yes.len() as f64;
            }
        }
    }
    crate::summary::ranked(&shares)
}

/// The round's record (what was fused and excluded, who answered, the vote), whether every channel fused, and
/// the ensemble's verdict with every member's vote.
fn round_record(
    me: &str,
    result: &RoundResult<[f64; 3]>,
    now: Timestamp,
    voter: &mut Voter<Model>,
) -> (RoundRecord, bool, Option<Verdict>) {
    let (fused, excluded) = fuse(result, now);
    // A channel the fusion could not settle leaves the round without a value or a vote.
    let fusable = fused.iter().all(|v| v.is_finite());
    let verdict: Option<Verdict> = fusable.then(|| voter.update(ndarray::ArrayView1::from(&fused[..])));
    let record = RoundRecord {
        round: result.round,
        leader: me.to_string(),
        token: result.token.0,
        fused: if fusable { fused } else { [0.0; 3] },
        excluded,
        answered: result.answered.iter().map(|(n, _)| n.to_string()).collect(),
        reached_quorum: fusable && result.reached_quorum,
        backfilled: false,
        degraded: None,
        alarm: verdict.as_ref().is_some_and(|v| v.alarm),
        voted_yes: verdict
            .iter()
            .flat_map(|v| &v.members)
            .filter(|m| m.vote == aeroguard_detect::Vote::Yes)
            .map(|m| m.name.clone())
            .collect(),
        drivers: verdict.as_ref().map(drivers).unwrap_or_default(),
    };
    (record, fusable, verdict)
}

impl Term<'_> {
    fn me(&self) -> String {
        self.coord.node().to_string()
    }

    /// Accounts for rounds the previous leader opened and never reported (it died in between); the last round
    /// reported. Rounds still in this node's outbox (an earlier term of its own, the link down) count as
    /// reported. The newest points are enough (rounds grow with time; older ones may have been folded).
    async fn account_for_aborted(&self) -> Result<u64> {
        let (plan, me) = (self.plan, self.me());
        let announced = Config::<Announcement>::new(self.coord.config(), &format!("round-{}", plan.run))?
            .get()
            .await?
            .map_or(0, |a| a.value.round);
        let last = reported(&self.history.latest(&plan.series(), 64).await?)
            .max(self.deliveries.last_buffered_round()?);
        for r in last + 1..=announced {
            let writer = self.lead.writer()?;
            let point = Point::new(Timestamp::now(), r as f64)
                .with_detail(serde_json::json!({ "round": r, "accounted_by": me, "token": writer.token.0 }));
            self.history
                .append(&plan.aborted_series(), &writer, &[point])
                .await?;
            (self.emit)(NodeEvent::Aborted {
                round: r,
                node: me.clone(),
            });
        }
        Ok(last)
    }

    /// Leads rounds until `plan.rounds` are reported or the leadership is lost.
    pub(super) async fn lead_rounds(&self, voter: &mut Voter<Model>, period: &AtomicU64) -> Result<()> {
        let plan = self.plan;
        let mut last = self.account_for_aborted().await?;
        let leader = RoundLeader::<Answer>::new(self.coord.clone(), plan.round_options())?;
        let mut backfill = Backfill::new(self.coord, plan, last)?;
        let mut alerts = LeaderAlerts::start(
            &**self.history,
            plan,
            self.rules,
            &self.lead.writer()?,
            self.deliveries,
        )
        .await?;
        let mut actions = LeaderActions::start(&**self.history, plan, self.policy).await?;
        // Retention on the schedule in config (none set: nothing is compacted), fenced by this term.
        let mut health = super::health::Health::new();
        let mut compactor = Compactor::new(
            self.history.clone(),
            RetentionSchedule::config(self.coord.config(), &plan.retention_key())?,
        );
        while last < plan.rounds {
            // A clock gone off steps the node down (the leadership resigns as it is dropped).
            if !self.clock.may_still_lead(self.coord, self.emit).await {
                let offset = self.clock.last().map(|(o, _)| o.to_string());
                return Err(Error::Run(format!(
                    "stepped down, its clock {}",
                    offset.unwrap_or_else(|| "off".into())
                )));
            }
            let started = tokio::time::Instant::now();
            // Past the rounds the members numbered alone while no leader ran them.
            let (result, backlogs) = split(leader.run_after(self.lead, self.pulse.round()).await?);
            let now = Timestamp::now();
            let (record, fusable, verdict) = round_record(&self.me(), &result, now, voter);
            let every = Duration::from_millis(period.load(Ordering::SeqCst));
            let sensors = (health.iter_mut())
                .flat_map(|h| h.observe(&result, &record, self.emit, every))
                .collect();
            // The rules and the policy first, and whatever becomes of the round's delivery (a full disk must not
            // silence them).
            if fusable {
                self.alert(&mut alerts, &record, &result, now).await;
                let mut facts = Facts::new(&plan.series(), now);
                facts.verdict = verdict;
                facts.sensors = sensors;
                let writer = Writer::new(result.token, self.me().as_str());
                (actions.round(facts, record.round, self.policy, &writer, self.deliveries))
                    .await
                    .into_iter()
                    .for_each(|e| (self.emit)(e));
            }
            self.deliver(&record, &result, now, last).await;
            self.backfill(&mut backfill, (&result, last), backlogs).await;
            last = result.round;
            self.compact(&mut compactor, result.round, now).await;
            self.report(&record, last);
            let wait = Duration::from_millis(period.load(Ordering::SeqCst)).saturating_sub(started.elapsed());
            tokio::time::sleep(wait).await;
        }
        Ok(())
    }

    /// Stores the round (fenced by its token) and posts it to the service, both through the outbox; the plan's
    /// link outage starts here. A round neither the outbox nor the history could take, or a post the outbox
    /// could not take, is reported and the term goes on: the next round's rules must run.
    async fn deliver(&self, record: &RoundRecord, result: &RoundResult<[f64; 3]>, now: Timestamp, last: u64) {
        if let Err(e) = self.try_deliver(record, result, now, last).await {
            (self.emit)(NodeEvent::Warn {
                node: self.me(),
                message: format!("round {}: {e}", record.round),
            });
        }
    }

    async fn try_deliver(
        &self,
        record: &RoundRecord,
        result: &RoundResult<[f64; 3]>,
        now: Timestamp,
        last: u64,
    ) -> Result<()> {
        let (me, series) = (self.me(), self.plan.series());
        let detail = serde_json::to_value(record).map_err(|source| Error::Json {
            what: "the round record",
            source,
        })?;
        let point = Point::new(now, record.fused[0])
            .with_alarm(record.alarm)
            .with_detail(detail);
        if self.plan.plant.outage.is_some_and(|o| o.from == result.round) {
            self.deliveries.set_link(false);
            (self.emit)(NodeEvent::Link {
                node: me.clone(),
                up: false,
                round: last,
                queued: self.deliveries.stats().0.queued,
            });
        }
        self.deliveries
            .append(&Append {
                series: series.clone(),
                writer: Writer::new(result.token, me.as_str()),
                points: vec![point],
            })
            .await?;
        self.deliveries.post(&Post {
            series,
            token: result.token.0,
            at: now.as_millis(),
            values: record.fused,
        })
    }

    /// Stores what the members measured alone, as the answers brought it; a failure is reported (the members
    /// keep it and hand it in again).
    async fn backfill(
        &self,
        backfill: &mut Backfill,
        (result, after): (&RoundResult<[f64; 3]>, u64),
        backlogs: Backlogs,
    ) {
        let me = self.me();
        let expected: Vec<String> = (result.answered.iter().map(|a| &a.0))
            .chain(&result.missing)
            .map(ToString::to_string)
            .collect();
        match backfill
            .take(
                (result.round, after),
                result.token,
                backlogs,
                &expected,
                self.deliveries,
                self.plan,
                &me,
            )
            .await
        {
            Ok(Some(t)) => (self.emit)(NodeEvent::Backfilled {
                node: me,
                rounds: t.rounds,
                measurements: t.measurements,
                late: t.late,
            }),
            Ok(None) => {}
            Err(e) => (self.emit)(NodeEvent::Warn {
                node: me,
                message: format!("rounds measured without a leader: {e}"),
            }),
        }
    }

    /// Retention, when due (not while the link to the history is down).
    async fn compact(&self, compactor: &mut Compactor, round: u64, now: Timestamp) {
        if !self.deliveries.link_is_up() {
            return;
        }
        let plan = self.plan;
        let kept = [plan.series(), plan.aborted_series(), plan.alert_state_series()];
        let names: Vec<&str> = kept.iter().map(String::as_str).collect();
        match compactor.tick(self.lead, &names, now).await {
            Ok(Some(c)) => (self.emit)(NodeEvent::Compacted {
                node: self.me(),
                round,
                dropped: c.dropped,
                folded: c.folded,
                steps: c.steps,
            }),
            Ok(None) => {}
            Err(e) => (self.emit)(NodeEvent::Warn {
                node: self.me(),
                message: format!("retention: {e}"),
            }),
        }
    }

    /// The alert rules, on the round's own time: the upset must hold two rounds' worth before it fires.
    async fn alert(
        &self,
        alerts: &mut LeaderAlerts,
        record: &RoundRecord,
        result: &RoundResult<[f64; 3]>,
        now: Timestamp,
    ) {
        let sample = aeroguard_detect::alert::Sample::verdict(record.fused[2], record.alarm);
        let writer = Writer::new(result.token, self.me().as_str());
        match alerts
            .observe(now, sample, self.rules, &writer, self.deliveries)
            .await
        {
            Ok((events, again)) => {
                self.pulse.set_alarms(Some(alerts.kpis(now)));
                let again = again.into_iter().map(|e| (e.rule, "sent-again".to_string()));
                let moved = events
                    .into_iter()
                    .map(|e| (e.rule, format!("{:?}", e.status).to_lowercase()));
                for (rule, status) in moved.chain(again) {
                    (self.emit)(NodeEvent::Alert {
                        node: self.me(),
                        rule,
                        status,
                        round: record.round,
                    });
                }
            }
            Err(e) => (self.emit)(NodeEvent::Warn {
                node: self.me(),
                message: format!("alerts: {e}"),
            }),
        }
    }

    /// Reports the round; the plan's link outage ends here.
    fn report(&self, record: &RoundRecord, last: u64) {
        (self.emit)(NodeEvent::Round(RoundLine {
            round: record.round,
            leader: self.me(),
            token: record.token,
            fused: record.fused,
            answered: record.answered.len(),
            nodes: self.plan.nodes,
            reached_quorum: record.reached_quorum,
            excluded: record.excluded.clone(),
            alarm: record.alarm,
            voted_yes: record.voted_yes.clone(),
        }));
        if self.plan.plant.outage.is_some_and(|o| o.to == record.round) {
            (self.emit)(NodeEvent::Link {
                node: self.me(),
                up: true,
                round: last,
                queued: self.deliveries.stats().0.queued,
            });
            self.deliveries.set_link(true);
        }
    }
}
