//! One sensor node: it answers every round with its measurement, applies sampling-period changes from the
//! config watch, and campaigns; while it leads, it opens rounds, fuses the answers (Brooks-Iyengar), scores
//! the fused row with the ensemble and appends it, fenced by its token, to the history.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aeroguard_consensus::history::HistoryStore;
use aeroguard_consensus::round::RoundFollower;
use aeroguard_consensus::{Config, ConfigEvent, Coordinator};
use aeroguard_detect::{Model, Voter};

use super::actions::PolicyWatch;
use super::alerting::RuleWatch;
use super::deliver::Deliveries;
use super::events::NodeEvent;
use super::plan::{Plan, Sampling, api_key_of};
use super::sim;
use crate::{Error, Result};

mod backfill;
mod clock;
mod degraded;
mod health;
mod leader;

use aeroguard_consensus::outbox::Outbox;
use backfill::{Answer, Measured};
use clock::ClockWatch;
use degraded::{Alone, Pulse};
use leader::Term;

pub use degraded::COORDINATION_LOST;

/// Where a node's events go (JSON lines on stdout for a node process, a channel for in-process nodes).
pub type Emit = Arc<dyn Fn(NodeEvent) + Send + Sync>;

/// Runs node `index` until its coordinator closes or the task is dropped.
pub async fn run_node(
    coord: Arc<dyn Coordinator>,
    history: Arc<dyn HistoryStore>,
    plan: Plan,
    index: usize,
    emit: Emit,
) -> Result<()> {
    let me = coord.node().to_string();
    let _registration = coord
        .registry()
        .register(&plan.service(), serde_json::json!({ "index": index }))
        .await?;
    let deliveries = Arc::new(open_deliveries(&plan, &me, &history, &emit)?);
    let clock = ClockWatch::new(Duration::from_millis(plan.clock_bound_ms));
    let pulse = Arc::new(Pulse::new());
    // What the node measures alone waits here for a leader.
    let measured = Arc::new(aeroguard_consensus::outbox::Outbox::<Measured>::open(
        super::deliver::outbox_file(&plan.outbox_dir(), &plan.run, &me, "measured"),
        limits_of(&plan),
    )?);
    let _metrics = match &plan.outputs.metrics_keys {
        Some(file) => Some(
            serve_node_metrics(
                file,
                &me,
                (deliveries.clone(), clock.clone(), pulse.clone(), measured.clone()),
                &emit,
            )
            .await?,
        ),
        None => None,
    };
    let rules = Arc::new(RuleWatch::rules(&coord, &plan, &emit).await?);
    let policy = PolicyWatch::policy(&coord, &plan, &emit).await?;
    let period = Arc::new(AtomicU64::new(plan.period_ms));
    let watching = AbortOnDrop(watch_sampling(&coord, &plan, period.clone(), emit.clone()).await?);
    let following = AbortOnDrop(follow_rounds(&coord, &plan, index, &pulse, &measured, emit.clone()).await?);
    let fit = || super::detection::recipe().fit(sim::normal_history(400, plan.plant.seed).view());
    let mut voter = fit()?;
    // Alone, a node scores with an ensemble of its own (its leader's window untouched): fitted only when the
    // plan turns the degraded mode on.
    let alone = match plan.degrade_after_periods {
        Some(_) => Some(AbortOnDrop(tokio::spawn(
            Alone {
                plan: plan.clone(),
                index,
                me: me.clone(),
                pulse: pulse.clone(),
                period: period.clone(),
                rules: rules.clone(),
                deliveries: deliveries.clone(),
                measured,
                voter: fit()?,
                emit: emit.clone(),
            }
            .run(),
        ))),
        None => None,
    };
    let lead = Campaign {
        coord: &coord,
        history: &history,
        deliveries: &deliveries,
        rules: &rules,
        policy: &policy,
        plan: &plan,
        period: &period,
        pulse: &pulse,
        clock: &clock,
        emit: &emit,
    };
    let result = lead.run(&mut voter).await;
    drop((watching, following, alone));
    result
}

/// Each outbox's limits, from the plan.
fn limits_of(plan: &Plan) -> aeroguard_consensus::outbox::OutboxLimits {
    aeroguard_consensus::outbox::OutboxLimits::bytes(plan.outputs.outbox_max_bytes.unwrap_or(64 << 20))
}

/// What the node must deliver goes to disk first (and what an earlier life left is forwarded now): its history
/// appends, its posts to the service and its alert notifications.
fn open_deliveries(
    plan: &Plan,
    me: &str,
    history: &Arc<dyn HistoryStore>,
    emit: &Emit,
) -> Result<Deliveries> {
    let api_key = match &plan.outputs.api_keys {
        Some(file) => api_key_of(file, me)?,
        None => None,
    };
    let limits = limits_of(plan);
    let mut deliveries = Deliveries::open(
        &plan.outbox_dir(),
        &plan.run,
        me,
        history.clone(),
        limits,
        emit.clone(),
    )?;
    if let Some(addr) = &plan.outputs.post {
        deliveries = deliveries.with_posts(addr.clone(), api_key)?;
    }
    if let Some(notifier) = plan.notifier()? {
        deliveries = deliveries.with_notifier(notifier)?;
    }
    if let Some(hook) = plan.action_hook()? {
        deliveries = deliveries.with_action_hook(hook)?;
    }
    Ok(deliveries)
}

/// Applies the sampling period from the config watch as soon as it arrives, no restart; reports each version
/// applied or refused.
async fn watch_sampling(
    coord: &Arc<dyn Coordinator>,
    plan: &Plan,
    period: Arc<AtomicU64>,
    emit: Emit,
) -> Result<tokio::task::JoinHandle<()>> {
    let sampling = Config::<Sampling>::new(coord.config(), &plan.sampling_key())?.with_validator(|s| {
        if s.period_ms >= 10 {
            Ok(())
        } else {
            Err("period_ms below 10".into())
        }
    });
    let mut watch = sampling.watch().await?;
    let me = coord.node().to_string();
    Ok(tokio::spawn(async move {
        while let Some(event) = watch.next().await {
            match event {
                ConfigEvent::Applied(v) => {
                    period.store(v.value.period_ms, Ordering::SeqCst);
                    emit(NodeEvent::Applied {
                        node: me.clone(),
                        period_ms: v.value.period_ms,
                        version: v.version,
                    });
                }
                ConfigEvent::Rejected { version, error } => emit(NodeEvent::Rejected {
                    node: me.clone(),
                    version,
                    error: error.to_string(),
                }),
            }
        }
    }))
}

/// As a follower: answers every round with this node's measurement, and what it measured alone meanwhile.
async fn follow_rounds(
    coord: &Arc<dyn Coordinator>,
    plan: &Plan,
    index: usize,
    pulse: &Arc<Pulse>,
    measured: &Arc<aeroguard_consensus::outbox::Outbox<Measured>>,
    emit: Emit,
) -> Result<tokio::task::JoinHandle<()>> {
    let mut follower = RoundFollower::<Answer>::new(coord.clone(), &plan.round_options()).await?;
    let (plan, me, coord) = (plan.clone(), coord.node().to_string(), coord.clone());
    let (pulse, measured) = (pulse.clone(), measured.clone());
    Ok(tokio::spawn(async move {
        while let Ok(round) = follower.next_round().await {
            pulse.saw(round.round);
            let value = sim::measure(
                index,
                round.round,
                plan.plant.seed,
                &plan.plant.faults,
                plan.plant.upset.as_ref(),
            );
            let backlog = backfill::backlog(&coord, &plan, &measured)
                .await
                .unwrap_or_else(|e| {
                    emit(NodeEvent::Warn {
                        node: me.clone(),
                        message: format!("measurements kept while degraded: {e}"),
                    });
                    Vec::new()
                });
            if let Err(e) = follower.submit(&round, &Answer { value, backlog }).await {
                emit(NodeEvent::Warn {
                    node: me.clone(),
                    message: format!("submit round {}: {e}", round.round),
                });
            }
        }
    }))
}

/// What a node campaigns with, and leads with once elected.
struct Campaign<'a> {
    coord: &'a Arc<dyn Coordinator>,
    history: &'a Arc<dyn HistoryStore>,
    deliveries: &'a Deliveries,
    rules: &'a RuleWatch,
    policy: &'a PolicyWatch,
    plan: &'a Plan,
    period: &'a AtomicU64,
    pulse: &'a Pulse,
    clock: &'a ClockWatch,
    emit: &'a Emit,
}

impl Campaign<'_> {
    /// Campaigns until the coordinator closes; leads each term won until its rounds are done or it is lost.
    async fn run(&self, voter: &mut Voter<Model>) -> Result<()> {
        use aeroguard_consensus::Error as Coordination;
        let me = self.coord.node().to_string();
        let election = self.coord.election(&self.plan.election())?;
        loop {
            // A clock off the servers' stamps rounds wrong: no campaign until it comes back.
            if !self.clock.may_lead(self.coord, self.emit).await {
                tokio::time::sleep(clock::CHECK_EVERY).await;
                continue;
            }
            let lead = match election.campaign().await {
                Ok(l) => l,
                Err(Coordination::Closed) => return Ok(()),
                // Unreachable servers, or a session that expired (a new one is built): try again shortly, not
                // in a loop that would starve the node's other tasks while it is cut off.
                Err(e) if e.is_retryable() || matches!(e, Coordination::SessionExpired { .. }) => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            (self.emit)(NodeEvent::Elected {
                node: me.clone(),
                token: lead.token().0,
            });
            let term = Term {
                coord: self.coord,
                lead: &lead,
                history: self.history,
                deliveries: self.deliveries,
                rules: self.rules,
                policy: self.policy,
                plan: self.plan,
                pulse: self.pulse,
                clock: self.clock,
                emit: self.emit,
            };
            let reason = match term.lead_rounds(voter, self.period).await {
                // Every round reported: stay leader, idle, until the run is stopped.
                Ok(()) => lead.lost().await.to_string(),
                Err(e) => e.to_string(),
            };
            self.pulse.set_alarms(None);
            (self.emit)(NodeEvent::Lost {
                node: me.clone(),
                reason,
            });
        }
    }
}

/// Serves the node's metrics to the keys in `file`; the server stops when the handle is dropped.
async fn serve_node_metrics(
    file: &std::path::Path,
    me: &str,
    (deliveries, clock, pulse, measured): (Arc<Deliveries>, ClockWatch, Arc<Pulse>, Arc<Outbox<Measured>>),
    emit: &Emit,
) -> Result<AbortOnDrop> {
    let keys = aeroguard_sentinel::ApiKeys::load(file)?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| Error::io("listen for metrics", e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::io("the metrics address", e))?;
    emit(NodeEvent::Metrics {
        node: me.to_string(),
        addr: addr.to_string(),
    });
    let render: Arc<dyn Fn() -> String + Send + Sync> = Arc::new(move || {
        let mut outboxes = deliveries.figures();
        outboxes.push(("measured", measured.stats()));
        crate::node_metrics(
            &outboxes,
            clock.last(),
            Some(pulse.figures()),
            pulse.alarms().as_ref(),
        )
    });
    Ok(AbortOnDrop(tokio::spawn(async move {
        if let Err(e) = super::serve_metrics(listener, keys, render).await {
            tracing::warn!("metrics server: {e}");
        }
    })))
}

/// A task stopped when this is dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
