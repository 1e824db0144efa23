//! The degraded mode: when no leader has opened a round for the plan's `degrade_after_periods`, the node goes on
//! alone every period. It measures, fuses what it can see (its own reading: the median of one, marked
//! degraded), scores it with its own ensemble and evaluates the rules in force, labelled `node` and
//! `mode = "local"`, with `coordination-lost` firing. Its alarms are unfenced: they go to the notifier, never to
//! the history. Each measurement waits in the node's outbox until a leader fuses it with the others' and stores
//! it under its token ([`super::backfill`]). When a leader's round reaches the node again, its local alerts
//! resolve.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aeroguard_consensus::outbox::Outbox;
use aeroguard_core::fusion::{Degrading, Fusion, FusionConfig, StrategyKind};
use aeroguard_core::{Reading, SensorId, Timestamp};
use aeroguard_detect::alert::{AlertEvent, AlertRule, Alerts, Condition, Sample, Severity};
use aeroguard_detect::{Model, Voter};
use tokio::time::Instant;

use super::Emit;
use super::backfill::Measured;
use crate::alerting::RuleWatch;
use crate::deliver::Deliveries;
use crate::events::NodeEvent;
use crate::plan::Plan;
use crate::sim::{self, HALF_WIDTH};
use crate::{Error, Result};

/// The name of the alert a degraded node raises.
pub const COORDINATION_LOST: &str = "coordination-lost";

/// When a leader's round last reached the node, and the plant's round as the node counts it (the newest a
/// leader opened, or the node's own count since).
#[derive(Debug)]
pub(crate) struct Pulse {
    seen: parking_lot::Mutex<(Instant, Timestamp)>,
    round: AtomicU64,
    alone: std::sync::atomic::AtomicBool,
    /// The alarm-management figures of this node's term as leader (none while it does not lead).
    alarms: parking_lot::Mutex<Option<aeroguard_detect::alert::AlarmKpis>>,
}

impl Pulse {
    pub(crate) fn new() -> Pulse {
        Pulse {
            seen: parking_lot::Mutex::new((Instant::now(), Timestamp::now())),
            round: AtomicU64::new(0),
            alone: std::sync::atomic::AtomicBool::new(false),
            alarms: parking_lot::Mutex::new(None),
        }
    }

    /// The leader's alarm-management figures now (`None`: it no longer leads).
    pub(crate) fn set_alarms(&self, kpis: Option<aeroguard_detect::alert::AlarmKpis>) {
        *self.alarms.lock() = kpis;
    }

    /// For the metrics: the alarm-management figures, while the node leads.
    pub(crate) fn alarms(&self) -> Option<aeroguard_detect::alert::AlarmKpis> {
        self.alarms.lock().clone()
    }

    /// A leader's round `round` reached the node.
    pub(crate) fn saw(&self, round: u64) {
        *self.seen.lock() = (Instant::now(), Timestamp::now());
        self.round.fetch_max(round, Ordering::SeqCst);
    }

    /// For the metrics: when the last round came, and whether the node works alone.
    pub(crate) fn figures(&self) -> crate::RoundsSeen {
        crate::RoundsSeen {
            last_round_at: self.seen.lock().1,
            alone: self.alone.load(Ordering::SeqCst),
        }
    }

    /// The newest round number used, by a leader or by this node alone.
    pub(crate) fn round(&self) -> u64 {
        self.round.load(Ordering::SeqCst)
    }

    fn quiet_for(&self) -> Duration {
        self.seen.lock().0.elapsed()
    }
}

/// A degraded node's own alerts: the plan's rules on what it measures, and `coordination-lost` on its own
/// series (one engine each: an engine evaluates every rule on every series it sees).
struct Own {
    rules: Alerts,
    lost: Alerts,
    /// When the firing ones were last sent (again), so Alertmanager never lets them lapse.
    sent: Timestamp,
}

/// What the node works alone with.
pub(crate) struct Alone {
    pub plan: Plan,
    pub index: usize,
    pub me: String,
    pub pulse: Arc<Pulse>,
    pub period: Arc<AtomicU64>,
    pub rules: Arc<RuleWatch>,
    pub deliveries: Arc<Deliveries>,
    pub measured: Arc<Outbox<Measured>>,
    pub voter: Voter<Model>,
    pub emit: Emit,
}

impl Alone {
    /// Runs for the node's life (the task is aborted with it); does nothing unless the plan turns the mode on,
    /// nor before a leader's first round has reached the node.
    pub(crate) async fn run(mut self) {
        let Some(after) = self.plan.degrade_after_periods else {
            return;
        };
        let mut alerts: Option<Own> = None;
        loop {
            let period = Duration::from_millis(self.period.load(Ordering::SeqCst).max(1));
            tokio::time::sleep(period).await;
            // Armed by the first round that reaches the node: before it, the node is still starting.
            let lost = self.pulse.round() > 0 && self.pulse.quiet_for() >= period * after;
            let outcome = match (&mut alerts, lost) {
                (None, true) => self.enter().map(|a| alerts = Some(a)),
                (Some(a), true) => self.measure(a).await,
                (Some(a), false) => {
                    let result = self.leave(a).await;
                    alerts = None;
                    result
                }
                (None, false) => Ok(()),
            };
            if let Err(e) = outcome {
                (self.emit)(NodeEvent::Warn {
                    node: self.me.clone(),
                    message: format!("degraded mode: {e}"),
                });
            }
        }
    }

    /// The node's own alerts: the rules in force on its measurements, and `coordination-lost` on its own
    /// series, each labelled with the node.
    fn enter(&self) -> Result<Own> {
        let local = |r: AlertRule| r.with_label("node", &self.me).with_label("mode", "local");
        let (_, in_force) = self.rules.current();
        let lost = AlertRule::new(COORDINATION_LOST, Condition::Above(0.5))?
            .with_severity(Severity::Critical)
            .with_label("run", &self.plan.run);
        self.pulse.alone.store(true, Ordering::SeqCst);
        (self.emit)(NodeEvent::Degraded {
            node: self.me.clone(),
            round: self.pulse.round(),
        });
        Ok(Own {
            rules: Alerts::new(in_force.into_iter().map(local).collect())?,
            lost: Alerts::new(vec![local(lost)])?,
            sent: Timestamp::now(),
        })
    }

    fn series(&self) -> String {
        format!("{}-local-{}", self.plan.run, self.me)
    }

    /// One round alone: measure, keep, fuse, score, alarm.
    async fn measure(&mut self, alerts: &mut Own) -> Result<()> {
        let round = self.pulse.round.fetch_add(1, Ordering::SeqCst) + 1;
        let plant = &self.plan.plant;
        let value = sim::measure(self.index, round, plant.seed, &plant.faults, plant.upset.as_ref());
        let now = Timestamp::now();
        let fused = self.fuse(&value, now)?;
        let alarm = self.voter.update(ndarray::ArrayView1::from(&fused[..])).alarm;
        self.measured.push(&Measured {
            round,
            at: now.as_millis(),
            value,
            alarm,
        })?;
        let mut events = (alerts.rules).observe(&self.series(), now, Sample::verdict(fused[2], alarm))?;
        events.extend(
            alerts
                .lost
                .observe(&self.lost_series(), now, Sample::value(1.0))?,
        );
        (self.emit)(NodeEvent::Local {
            node: self.me.clone(),
            round,
            fused,
            alarm,
        });
        self.tell(&events, round).await?;
        // The firing ones again, every `alert_resend_ms` (as the leader does).
        let every = i64::try_from(self.plan.alert_resend_ms).unwrap_or(i64::MAX);
        if now.as_millis().saturating_sub(alerts.sent.as_millis()) >= every {
            alerts.sent = now;
            let mut again = alerts.rules.refresh(now);
            again.extend(alerts.lost.refresh(now));
            self.deliveries
                .notify(&again)
                .await
                .map_err(|e| Error::Run(format!("local alerts sent again: {e}")))?;
        }
        Ok(())
    }

    fn lost_series(&self) -> String {
        format!("{}-coordination-{}", self.plan.run, self.me)
    }

    /// What the node sees of the channel, fused: its own reading alone (the median of one), marked degraded.
    fn fuse(&self, value: &[f64; 3], now: Timestamp) -> Result<[f64; 3]> {
        let fusion = Degrading::new(
            &FusionConfig::new(StrategyKind::BrooksIyengar, 1),
            StrategyKind::Median,
        )?;
        let id = SensorId::new(&self.me)?;
        let mut fused = [0.0; 3];
        for c in 0..3 {
            let reading = Reading::new(id.clone(), value[c], now).with_half_width(HALF_WIDTH[c]);
            fused[c] = fusion.fuse(&[reading], now)?.value;
        }
        Ok(fused)
    }

    /// A leader's round came: the local alerts resolve (the leader's own take over).
    async fn leave(&self, alerts: &mut Own) -> Result<()> {
        let round = self.pulse.round();
        self.pulse.alone.store(false, Ordering::SeqCst);
        (self.emit)(NodeEvent::Recovered {
            node: self.me.clone(),
            round,
            buffered: self.measured.stats().queued,
        });
        let now = Timestamp::now();
        let mut events = alerts.rules.replace_rules(Vec::new(), now)?;
        events.extend(alerts.lost.replace_rules(Vec::new(), now)?);
        self.tell(&events, round).await
    }

    async fn tell(&self, events: &[AlertEvent], round: u64) -> Result<()> {
        for e in events {
            (self.emit)(NodeEvent::LocalAlert {
                node: self.me.clone(),
                rule: e.rule.clone(),
                status: format!("{:?}", e.status).to_lowercase(),
                round,
            });
        }
        self.deliveries
            .notify(events)
            .await
            .map_err(|e| Error::Run(format!("local alerts: {e}")))
    }
}
