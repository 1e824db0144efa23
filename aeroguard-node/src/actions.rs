//! The leader's actions: a policy from a file that reloads hot through the config recipe (a bad file is refused
//! with its line and reason, the last good policy stays in force), its open episodes carried across failovers in
//! the history with the term's fencing token, every action logged there under that token before it is notified
//! or sent to the action webhook (through the node's outboxes).

use std::sync::Arc;

use aeroguard_consensus::Coordinator;
use aeroguard_consensus::history::{HistoryStore, Point, Writer};
use aeroguard_consensus::outbox::Append;
use aeroguard_detect::action::{ActionRecord, ActionState, Actions, Facts, Policy, parse_policy};

use super::deliver::Deliveries;
use super::watched::{Parse, Report, Watched};
use super::{Emit, NodeEvent, Plan};
use crate::{Error, Result};

/// The main job's action policy, as shipped (`policy.toml` beside this file).
pub const DEFAULT_POLICY: &str = include_str!("policy.toml");

/// The action policy in force on a node.
pub type PolicyWatch = Watched<Policy>;

impl Watched<Policy> {
    /// Reads the policy file of `plan` (or the shipped one) and starts watching it.
    pub async fn policy(coord: &Arc<dyn Coordinator>, plan: &Plan, emit: &Emit) -> Result<PolicyWatch> {
        let parse: Parse<Policy> = Arc::new(|text| parse_policy(text).map_err(|e| e.to_string()));
        let report: Report = |node, version, applied, detail| NodeEvent::Policy {
            node,
            version,
            applied,
            detail,
        };
        let describe = |p: &Policy| format!("{} action rules in force", p.rules().len());
        Watched::start(
            coord,
            &plan.policy_key(),
            DEFAULT_POLICY,
            parse,
            (report, describe),
            emit,
        )
        .await
    }
}

/// The open episodes without the time they last held (which moves every round): written when this changes.
fn shape(state: &ActionState) -> Vec<(String, String, Option<String>, String)> {
    state
        .episodes
        .iter()
        .map(|e| (e.subject.clone(), e.rule.clone(), e.sensor.clone(), e.key.clone()))
        .collect()
}

/// A leader's actions for its term.
pub struct LeaderActions {
    actions: Actions,
    version: u64,
    written: Vec<(String, String, Option<String>, String)>,
    log: String,
    state: String,
}

impl LeaderActions {
    /// A new term's actions: the policy in force, and the episodes its predecessors left open in the history
    /// (so what they acted on is not acted on again).
    pub async fn start(
        history: &dyn HistoryStore,
        plan: &Plan,
        policy: &PolicyWatch,
    ) -> Result<LeaderActions> {
        let (version, in_force) = policy.current();
        let mut actions = Actions::new(in_force);
        let saved = history.latest(&plan.action_state_series(), 1).await?;
        if let Some(mut state) = saved
            .last()
            .and_then(|p| serde_json::from_value::<ActionState>(p.detail.clone()?).ok())
        {
            // An episode open when the predecessor went is taken as holding now: the quiet time that ends it
            // runs from this term's start, not from the last change the predecessor wrote.
            let now = aeroguard_core::Timestamp::now();
            state
                .episodes
                .iter_mut()
                .for_each(|e| e.last_held = e.last_held.max(now));
            actions.restore(state)?;
        }
        Ok(LeaderActions {
            written: shape(&actions.state()),
            actions,
            version,
            log: plan.actions_series(),
            state: plan.action_state_series(),
        })
    }

    /// Takes the round's facts: picks up a new policy, logs each action (fenced by `writer`) and the open
    /// episodes when they changed, then notifies and calls the webhook. If the log cannot be written nothing
    /// moves, and the same actions come again next round.
    pub async fn observe(
        &mut self,
        facts: &Facts,
        policy: &PolicyWatch,
        writer: &Writer,
        deliveries: &Deliveries,
    ) -> Result<Vec<ActionRecord>> {
        let before = (self.actions.clone(), self.version, self.written.clone());
        let acted = self.advance(facts, policy, writer, deliveries).await;
        if acted.is_err() {
            (self.actions, self.version, self.written) = before;
        }
        acted
    }

    async fn advance(
        &mut self,
        facts: &Facts,
        policy: &PolicyWatch,
        writer: &Writer,
        deliveries: &Deliveries,
    ) -> Result<Vec<ActionRecord>> {
        if policy.version() != self.version {
            let (version, in_force) = policy.current();
            self.actions.replace_policy(in_force);
            self.version = version;
        }
        let acted: Vec<ActionRecord> = self
            .actions
            .observe(facts)?
            .into_iter()
            .map(|mut r| {
                // The log says what was sent: a node without a notifier or a webhook sends nothing there.
                r.notify &= deliveries.notifies();
                r.webhook &= deliveries.calls_actions();
                r.fenced(writer.token.0, &writer.owner)
            })
            .collect();
        let json =
            |what, v: serde_json::Result<serde_json::Value>| v.map_err(|source| Error::Json { what, source });
        let mut points = Vec::with_capacity(acted.len());
        for r in &acted {
            points.push(Point::new(r.at, 1.0).with_detail(json("an action", serde_json::to_value(r))?));
        }
        if !points.is_empty() {
            self.append(&self.log, points, writer, deliveries).await?;
        }
        let state = self.actions.state();
        if shape(&state) != self.written {
            let point = Point::new(facts.at, state.episodes.len() as f64)
                .with_detail(json("the open actions", serde_json::to_value(&state))?);
            self.append(&self.state, vec![point], writer, deliveries).await?;
            self.written = shape(&state);
        }
        for r in &acted {
            if r.notify {
                deliveries.notify(&[r.as_alert()]).await?;
            }
            if r.webhook {
                deliveries.call_action(r)?;
            }
        }
        Ok(acted)
    }

    async fn append(
        &self,
        series: &str,
        points: Vec<Point>,
        writer: &Writer,
        deliveries: &Deliveries,
    ) -> Result<()> {
        deliveries
            .append(&Append {
                series: series.to_string(),
                writer: writer.clone(),
                points,
            })
            .await
    }

    /// The round's facts acted on: an event per action, or a warning (the term goes on either way).
    pub async fn round(
        &mut self,
        facts: Facts,
        round: u64,
        policy: &PolicyWatch,
        writer: &Writer,
        deliveries: &Deliveries,
    ) -> Vec<NodeEvent> {
        let node = writer.owner.clone();
        match self.observe(&facts, policy, writer, deliveries).await {
            Ok(acted) => acted
                .into_iter()
                .map(|r| NodeEvent::Action {
                    node: node.clone(),
                    round,
                    record: Box::new(r),
                })
                .collect(),
            Err(e) => vec![NodeEvent::Warn {
                node,
                message: format!("actions: {e}"),
            }],
        }
    }
}
