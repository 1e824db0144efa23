//! The leader's alerts: rules from a file that reloads hot through the config recipe (a bad file is refused with
//! its line and reason, and the last good rules stay in force), state carried across failovers in the history
//! with the term's fencing token, and notifications through the node's outbox.

use std::sync::Arc;

use aeroguard_consensus::Coordinator;
use aeroguard_consensus::history::{HistoryStore, Point, Writer};
use aeroguard_consensus::outbox::Append;
use aeroguard_core::Timestamp;
use aeroguard_detect::alert::{
    AlarmKpis, AlarmLog, AlertEvent, AlertRule, AlertState, Alerts, ManagementOptions, Outcome, Sample,
};
use serde::{Deserialize, Serialize};

use super::deliver::Deliveries;
use super::watched::{Parse, Report, Watched};
use super::{Emit, NodeEvent, Plan};
use crate::{Error, Result};

/// The main job's rules, as shipped (`rules.toml` beside this file).
pub const DEFAULT_RULES: &str = include_str!("rules.toml");

/// An alert rule file as the config recipe carries it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleFile {
    /// The file's text (TOML, see [`aeroguard_detect::alert::parse_rules`]).
    pub toml: String,
}

/// `text`'s rules for `plan`'s run (each labelled `run`), or why not, with the line.
pub fn rules_for(plan: &Plan, text: &str) -> aeroguard_detect::Result<Vec<AlertRule>> {
    let rules = aeroguard_detect::alert::parse_rules(text)?;
    Ok(rules
        .into_iter()
        .map(|r| r.with_label("run", &plan.run))
        .collect())
}

/// The rules in force on a node: the newest good rule file of the config key (the shipped rules until one is
/// set), kept current by a watch for the node's whole life.
pub type RuleWatch = Watched<Vec<AlertRule>>;

impl Watched<Vec<AlertRule>> {
    /// Reads the rule file of `plan` (or the shipped one) and starts watching it.
    pub async fn rules(coord: &Arc<dyn Coordinator>, plan: &Plan, emit: &Emit) -> Result<RuleWatch> {
        let p = plan.clone();
        let parse: Parse<Vec<AlertRule>> =
            Arc::new(move |text| rules_for(&p, text).map_err(|e| e.to_string()));
        let report: Report = |node, version, applied, detail| NodeEvent::Rules {
            node,
            version,
            applied,
            detail,
        };
        let describe = |rules: &Vec<AlertRule>| format!("{} rules in force", rules.len());
        Watched::start(
            coord,
            &plan.rules_key(),
            DEFAULT_RULES,
            parse,
            (report, describe),
            emit,
        )
        .await
    }
}

/// What a leader's alerts need each round.
pub struct LeaderAlerts {
    alerts: Alerts,
    version: u64,
    /// How often the firing alerts are sent again, and when they last were (`None`: not yet in this term, so
    /// a new leader sends what it restored at its first round).
    resend_every: std::time::Duration,
    resent: Option<Timestamp>,
    /// The alerts' state as last written (pending and firing, by rule and series, without the times that move
    /// every round).
    written: Vec<(String, String, Timestamp, bool)>,
    series: String,
    state_series: String,
    /// What the operators saw of the transitions, and the alarm-management figures (ISA-18.2): a chattering
    /// alarm's further activations are held back from the notifiers, on the suppression record.
    log: AlarmLog,
}

fn shape(state: &AlertState) -> Vec<(String, String, Timestamp, bool)> {
    state
        .alerts
        .iter()
        .map(|a| (a.rule.clone(), a.series.clone(), a.since, a.firing.is_some()))
        .collect()
}

impl LeaderAlerts {
    /// A new term's alerts: the rules in force, and the state its predecessors left in the history (written at
    /// once with this term's token, so a deposed leader can no longer write it).
    pub async fn start(
        history: &dyn HistoryStore,
        plan: &Plan,
        rules: &RuleWatch,
        writer: &Writer,
        deliveries: &Deliveries,
    ) -> Result<LeaderAlerts> {
        let (version, in_force) = rules.current();
        let mut alerts = Alerts::new(in_force)?;
        let saved = history.latest(&plan.alert_state_series(), 1).await?;
        if let Some(state) = saved
            .last()
            .and_then(|p| serde_json::from_value::<AlertState>(p.detail.clone()?).ok())
        {
            alerts.restore(state)?;
        }
        let mut me = LeaderAlerts {
            alerts,
            version,
            resend_every: std::time::Duration::from_millis(plan.alert_resend_ms),
            resent: None,
            written: Vec::new(),
            series: plan.series(),
            state_series: plan.alert_state_series(),
            log: AlarmLog::new(ManagementOptions::default())?,
        };
        me.write(Timestamp::now(), writer, deliveries).await?;
        Ok(me)
    }

    async fn write(&mut self, at: Timestamp, writer: &Writer, deliveries: &Deliveries) -> Result<()> {
        let state = self.alerts.state();
        let firing = state.alerts.iter().filter(|a| a.firing.is_some()).count();
        let detail = serde_json::to_value(&state).map_err(|source| Error::Json {
            what: "the alert state",
            source,
        })?;
        deliveries
            .append(&Append {
                series: self.state_series.clone(),
                writer: writer.clone(),
                points: vec![Point::new(at, firing as f64).with_detail(detail)],
            })
            .await?;
        self.written = shape(&state);
        Ok(())
    }

    /// Feeds the round's sample: picks up new rules, notifies the transitions, writes the state when an alert
    /// changed, and sends the firing alerts again when they are due (at a new term's first round, then every
    /// `alert_resend_ms`); the transitions and the alerts sent again, for the caller to report. The state is
    /// written before anything is notified: a notification never runs ahead of what a successor restores.
    pub async fn observe(
        &mut self,
        at: Timestamp,
        sample: Sample,
        rules: &RuleWatch,
        writer: &Writer,
        deliveries: &Deliveries,
    ) -> Result<(Vec<AlertEvent>, Vec<AlertEvent>)> {
        // The alerts move only once their new state is on disk: if it cannot be written, they are put back, and
        // the same transitions come again (and are notified) next round.
        let before = (self.alerts.clone(), self.version, self.log.clone());
        let moved = self.advance(at, sample, rules, writer, deliveries).await;
        if moved.is_err() {
            (self.alerts, self.version, self.log) = before;
        }
        moved
    }

    /// The alarm-management figures at `at`.
    pub fn kpis(&mut self, at: Timestamp) -> AlarmKpis {
        self.log.kpis(at)
    }

    async fn advance(
        &mut self,
        at: Timestamp,
        sample: Sample,
        rules: &RuleWatch,
        writer: &Writer,
        deliveries: &Deliveries,
    ) -> Result<(Vec<AlertEvent>, Vec<AlertEvent>)> {
        let mut events = Vec::new();
        if rules.version() != self.version {
            let (version, in_force) = rules.current();
            events = self.alerts.replace_rules(in_force, at)?;
            self.version = version;
        }
        events.extend(self.alerts.observe(&self.series, at, sample)?);
        if shape(&self.alerts.state()) != self.written {
            self.write(at, writer, deliveries).await?;
        }
        let shown: Vec<AlertEvent> = events
            .iter()
            .filter(|e| !matches!(self.log.record(e), Outcome::Suppressed | Outcome::Shelved))
            .cloned()
            .collect();
        deliveries.notify(&shown).await?;
        let due = self.resent.is_none_or(|last| {
            at.as_millis().saturating_sub(last.as_millis())
                >= i64::try_from(self.resend_every.as_millis()).unwrap_or(i64::MAX)
        });
        let mut again = Vec::new();
        if due {
            // What just fired was sent with this round's transitions.
            again = self.alerts.refresh(at);
            again.retain(|a| {
                !events
                    .iter()
                    .any(|e| (&e.rule, &e.series) == (&a.rule, &a.series))
            });
            deliveries.notify(&again).await?;
            self.resent = Some(at);
        }
        Ok((events, again))
    }
}
