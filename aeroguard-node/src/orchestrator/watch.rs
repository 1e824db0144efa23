//! Following a run: the nodes' events recorded, the scheduled actions taken, until the last round.

use std::time::Duration;

use aeroguard_consensus::{Config, Coordinator, Expect};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::{Action, Events, Heard, Message, Nodes, Progress};
use crate::{ClusterOptions, DEFAULT_POLICY, DEFAULT_RULES, NodeEvent, RuleFile, Sampling};
use crate::{Error, Result};

/// Where the run stands: the current leader and the last round reported.
#[derive(Debug, Default)]
struct Standing {
    leader: Option<String>,
    last_round: u64,
}

/// Records `event` (heard at `at`) in `ev` and `standing`.
fn record(ev: &mut Events, standing: &mut Standing, at: Instant, event: NodeEvent) {
    match event {
        NodeEvent::Elected { node, token } => {
            standing.leader = Some(node.clone());
            ev.elected.push((at, node, token));
        }
        NodeEvent::Round(r) => standing.last_round = standing.last_round.max(r.round),
        other => record_late(ev, other),
    }
}

/// Records any other event.
fn record_late(ev: &mut Events, event: NodeEvent) {
    match event {
        NodeEvent::Applied { node, period_ms, .. } if Some(period_ms) == ev.new_period => {
            ev.applied.insert(node);
        }
        NodeEvent::Alert {
            rule, status, round, ..
        } => ev.alerts.push((rule, status, round)),
        NodeEvent::LocalAlert {
            node,
            rule,
            status,
            round,
        } => ev.local_alerts.push((node, rule, status, round)),
        NodeEvent::Health {
            sensor,
            channel,
            round,
            rounds,
            ..
        } => ev.health.push((sensor, channel, round, rounds)),
        NodeEvent::Link {
            up, round, queued, ..
        } => ev.links.push((up, round, queued)),
        NodeEvent::Forwarded { to, sent, .. } => ev.forwarded.push((to, sent)),
        NodeEvent::Rules {
            node,
            version,
            applied,
            detail,
        } => ev.rules.push((node, version, applied, detail)),
        NodeEvent::Policy {
            node,
            version,
            applied,
            detail,
        } => ev.policies.push((node, version, applied, detail)),
        NodeEvent::Action { round, record, .. } => ev.actions.push((round, *record)),
        NodeEvent::Compacted {
            dropped,
            folded,
            steps,
            ..
        } => ev.compactions.push((dropped, folded, steps)),
        _ => {}
    }
}

/// Takes the actions whose round has come: kill the leader, push a sampling period, push a bad rule file.
async fn act(
    options: &ClusterOptions,
    observer: &dyn Coordinator,
    nodes: &mut Nodes,
    ev: &mut Events,
    standing: &Standing,
    progress: &impl Fn(Progress<'_>),
) -> Result<()> {
    let (plan, after_round) = (&options.plan, standing.last_round);
    if let (Some(k), Some(l)) = (options.kill_leader_at, &standing.leader)
        && ev.killed.is_empty()
        && after_round >= k
    {
        let index = l
            .trim_start_matches('n')
            .parse::<usize>()
            .map_err(|e| Error::Run(format!("leader {l}: {e}")))?
            - 1;
        progress(Progress::Action(&Action::KillLeader {
            node: l.clone(),
            after_round,
        }));
        nodes.kill(index, options.session);
        ev.killed.push((Instant::now(), l.clone()));
        ev.dead.insert(l.clone());
    }
    if let Some((at_round, period_ms)) = options.new_period_at
        && ev.new_period.is_none()
        && after_round >= at_round
    {
        progress(Progress::Action(&Action::PushPeriod {
            period_ms,
            after_round,
        }));
        ev.new_period = Some(period_ms);
        let sampling = Config::<Sampling>::new(observer.config(), &plan.sampling_key())?;
        sampling.set(&Sampling { period_ms }, Expect::Any).await?;
    }
    if let Some((at_round, duration)) = options.cut_at
        && ev.cut.is_none()
        && after_round >= at_round
    {
        progress(Progress::Action(&Action::Cut {
            for_ms: u64::try_from(duration.as_millis()).unwrap_or(u64::MAX),
            after_round,
        }));
        ev.cut = Some(Instant::now());
        nodes.cut(duration, options.session)?;
    }
    if let Some(at_round) = options.bad_rules_at
        && ev.bad_rules.is_none()
        && after_round >= at_round
    {
        // As a careless operator would: straight into the config, no validator on this side.
        let typo = DEFAULT_RULES.replace("severity = \"critical\"", "severity = \"critcal\"");
        progress(Progress::Action(&Action::PushBadRules { after_round }));
        let rules = Config::<RuleFile>::new(observer.config(), &plan.rules_key())?;
        ev.bad_rules = Some(rules.set(&RuleFile { toml: typo }, Expect::Any).await?);
        // And a policy whose recommendation names a placeholder that does not exist.
        let typo = DEFAULT_POLICY.replace("{votes}", "{vote}");
        let policy = Config::<RuleFile>::new(observer.config(), &plan.policy_key())?;
        ev.bad_policy = Some(policy.set(&RuleFile { toml: typo }, Expect::Any).await?);
    }
    Ok(())
}

/// Follows the run until its last round (or its timeout), acting on schedule.
pub(super) async fn watch(
    options: &ClusterOptions,
    observer: &dyn Coordinator,
    nodes: &mut Nodes,
    rx: &mut mpsc::UnboundedReceiver<Message>,
    progress: &impl Fn(Progress<'_>),
) -> Result<Events> {
    let mut ev = Events::default();
    let mut standing = Standing::default();
    let deadline = Instant::now() + options.timeout;
    loop {
        let message = tokio::select! {
            m = rx.recv() => m,
            _ = tokio::time::sleep_until(deadline) => { ev.timed_out = true; break }
        };
        let Some((at, heard)) = message else { break };
        match heard {
            Heard::Line(line) => progress(Progress::Output(&line)),
            Heard::Event(event) => {
                progress(Progress::Event(&event));
                record(&mut ev, &mut standing, at, event);
                act(options, observer, nodes, &mut ev, &standing, progress).await?;
            }
        }
        if standing.last_round >= options.plan.rounds {
            // Let the live nodes report the config change and their forwarding if they have not yet.
            let settle = Instant::now() + Duration::from_millis(500);
            while let Ok(Some((_, heard))) = tokio::time::timeout_at(settle, rx.recv()).await {
                if let Heard::Event(
                    event @ (NodeEvent::Applied { .. }
                    | NodeEvent::Forwarded { .. }
                    | NodeEvent::Rules { .. }
                    | NodeEvent::Policy { .. }),
                ) = heard
                {
                    record_late(&mut ev, event);
                }
            }
            break;
        }
    }
    Ok(ev)
}
