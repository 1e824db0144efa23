//! One sensor node: it answers every round with its measurement, applies sampling-period changes from the
//! config watch, and campaigns; while it leads, it opens rounds, fuses the answers (Brooks-Iyengar), scores
//! the fused row with the ensemble and appends it, fenced by its token, to the history.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aeroguard_consensus::history::{Compactor, HistoryStore, Point, RetentionSchedule, Writer};
use aeroguard_consensus::outbox::Append;
use aeroguard_consensus::round::{Announcement, RoundFollower, RoundLeader};
use aeroguard_consensus::{Config, ConfigEvent, Coordinator, Error, Leadership};
use aeroguard_core::fusion::{BrooksIyengar, Fusion};
use aeroguard_core::{Reading, SensorId, Timestamp};
use aeroguard_detect::{Model, Voter};

use super::alerting::{LeaderAlerts, RuleWatch};
use super::deliver::{Deliveries, Post};
use super::events::{NodeEvent, RoundLine};
use super::plan::{Plan, RoundRecord, Sampling, api_key_of};
use super::sim::{self, HALF_WIDTH};

/// Where a node's events go (JSON lines on stdout for a node process, a channel for in-process nodes).
pub type Emit = Arc<dyn Fn(NodeEvent) + Send + Sync>;

/// Runs node `index` until its coordinator closes or the task is dropped.
pub async fn run_node(
    coord: Arc<dyn Coordinator>,
    history: Arc<dyn HistoryStore>,
    plan: Plan,
    index: usize,
    emit: Emit,
) -> Result<(), Error> {
    let me = coord.node().to_string();
    let _registration = coord
        .registry()
        .register(&plan.service(), serde_json::json!({ "index": index }))
        .await?;
    let api_key = match &plan.api_keys {
        Some(file) => api_key_of(file, &me)?,
        None => None,
    };
    // What the node must deliver goes to disk first (and what an earlier life left is forwarded now).
    let limits = aeroguard_consensus::outbox::OutboxLimits::bytes(plan.outbox_max_bytes.unwrap_or(64 << 20));
    let mut deliveries = Deliveries::open(
        &plan.outbox_dir(),
        &plan.run,
        &me,
        history.clone(),
        limits,
        emit.clone(),
    )?;
    if let Some(addr) = &plan.post {
        deliveries = deliveries.with_posts(addr.clone(), api_key)?;
    }
    if let Some(notifier) = plan.notifier()? {
        deliveries = deliveries.with_notifier(notifier)?;
    }
    let deliveries = Arc::new(deliveries);
    let _metrics = match &plan.metrics_keys {
        Some(file) => Some(serve_node_metrics(file, &me, deliveries.clone(), &emit).await?),
        None => None,
    };
    let rules = RuleWatch::start(&coord, &plan, &emit).await?;
    let period = Arc::new(AtomicU64::new(plan.period_ms));
    // Sampling period: applied as soon as the watch delivers it, no restart.
    let sampling = Config::<Sampling>::new(coord.config(), &plan.sampling_key())?.with_validator(|s| {
        if s.period_ms >= 10 {
            Ok(())
        } else {
            Err("period_ms below 10".into())
        }
    });
    let mut watch = sampling.watch().await?;
    let (p2, e2, me2) = (period.clone(), emit.clone(), me.clone());
    let watching = tokio::spawn(async move {
        while let Some(event) = watch.next().await {
            match event {
                ConfigEvent::Applied(v) => {
                    p2.store(v.value.period_ms, Ordering::SeqCst);
                    e2(NodeEvent::Applied {
                        node: me2.clone(),
                        period_ms: v.value.period_ms,
                        version: v.version,
                    });
                }
                ConfigEvent::Rejected { version, error } => e2(NodeEvent::Rejected {
                    node: me2.clone(),
                    version,
                    error: error.to_string(),
                }),
            }
        }
    });
    // Follower: answer every round with this node's measurement.
    let mut follower = RoundFollower::<[f64; 3]>::new(coord.clone(), &plan.round_options()).await?;
    let (plan2, e3, me3) = (plan.clone(), emit.clone(), me.clone());
    let following = tokio::spawn(async move {
        loop {
            let round = match follower.next_round().await {
                Ok(r) => r,
                Err(_) => return,
            };
            let value = sim::measure(
                index,
                round.round,
                plan2.seed,
                &plan2.faults,
                plan2.upset.as_ref(),
            );
            if let Err(e) = follower.submit(&round, &value).await {
                e3(NodeEvent::Warn {
                    node: me3.clone(),
                    message: format!("submit round {}: {e}", round.round),
                });
            }
        }
    });
    let mut voter = super::detection::recipe()
        .fit(sim::normal_history(400, plan.seed).view())
        .map_err(|e| Error::Backend {
            backend: "detect",
            operation: "fit ensemble",
            message: e.to_string(),
        })?;
    let election = coord.election(&plan.election())?;
    let result = loop {
        let lead = match election.campaign().await {
            Ok(l) => l,
            Err(Error::Closed) => break Ok(()),
            Err(e) if e.is_retryable() => {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
            Err(Error::SessionExpired { .. }) => continue,
            Err(e) => break Err(e),
        };
        emit(NodeEvent::Elected {
            node: me.clone(),
            token: lead.token().0,
        });
        let term = Term {
            lead: &lead,
            history: &history,
            deliveries: &deliveries,
            rules: &rules,
        };
        match lead_rounds(&coord, &term, &plan, &mut voter, &period, &emit).await {
            Ok(()) => {
                // Every round reported: stay leader, idle, until the run is stopped.
                let reason = lead.lost().await;
                emit(NodeEvent::Lost {
                    node: me.clone(),
                    reason: reason.to_string(),
                });
            }
            Err(e) => emit(NodeEvent::Lost {
                node: me.clone(),
                reason: e.to_string(),
            }),
        }
    };
    watching.abort();
    following.abort();
    result
}

/// Serves the node's metrics to the keys in `file`; the server stops when the handle is dropped.
async fn serve_node_metrics(
    file: &std::path::Path,
    me: &str,
    deliveries: Arc<Deliveries>,
    emit: &Emit,
) -> Result<AbortOnDrop, Error> {
    let fail = |operation, e: &dyn std::fmt::Display| Error::Backend {
        backend: "metrics",
        operation,
        message: e.to_string(),
    };
    let keys = aeroguard_sentinel::ApiKeys::load(file).map_err(|e| fail("read the keys", &e))?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| fail("listen", &e))?;
    let addr = listener.local_addr().map_err(|e| fail("listen", &e))?;
    emit(NodeEvent::Metrics {
        node: me.to_string(),
        addr: addr.to_string(),
    });
    let render: Arc<dyn Fn() -> String + Send + Sync> = Arc::new(move || deliveries.metrics());
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

/// A leader's term: its leadership, the history it reads, and where its deliveries go.
struct Term<'a> {
    lead: &'a Leadership,
    history: &'a Arc<dyn HistoryStore>,
    deliveries: &'a Deliveries,
    rules: &'a RuleWatch,
}

/// Leads rounds until `plan.rounds` are reported or the leadership is lost.
async fn lead_rounds(
    coord: &Arc<dyn Coordinator>,
    term: &Term<'_>,
    plan: &Plan,
    voter: &mut Voter<Model>,
    period: &AtomicU64,
    emit: &Emit,
) -> Result<(), Error> {
    let Term {
        lead,
        history,
        deliveries,
        rules,
    } = *term;
    let me = coord.node().to_string();
    let series = plan.series();
    let reported = |points: &[Point]| {
        points
            .iter()
            .filter_map(|p| p.detail.as_ref()?.get("round")?.as_u64())
            .max()
            .unwrap_or(0)
    };
    // Account for a round the previous leader opened and never reported (it died in between).
    let announced = Config::<Announcement>::new(coord.config(), &format!("round-{}", plan.run))?
        .get()
        .await?
        .map_or(0, |a| a.value.round);
    // Rounds still in this node's outbox (an earlier term of its own, the link down) count as reported.
    // The newest points are enough (rounds grow with time), and older ones may have been folded by retention.
    let mut last = reported(&history.latest(&series, 64).await?).max(deliveries.last_buffered_round()?);
    for r in last + 1..=announced {
        let writer = lead.writer()?;
        let point = Point::new(Timestamp::now(), r as f64)
            .with_detail(serde_json::json!({ "round": r, "accounted_by": me, "token": writer.token.0 }));
        history.append(&plan.aborted_series(), &writer, &[point]).await?;
        emit(NodeEvent::Aborted {
            round: r,
            node: me.clone(),
        });
    }
    let leader = RoundLeader::<[f64; 3]>::new(coord.clone(), plan.round_options())?;
    let fusion = BrooksIyengar::new(1);
    let mut alerts = LeaderAlerts::start(&**history, plan, rules, &lead.writer()?, deliveries).await?;
    // Retention on the schedule in config (none set: nothing is compacted), fenced by this term.
    let mut compactor = Compactor::new(
        history.clone(),
        RetentionSchedule::config(coord.config(), &plan.retention_key())?,
    );
    let kept = [series.clone(), plan.aborted_series(), plan.alert_state_series()];
    while last < plan.rounds {
        let started = tokio::time::Instant::now();
        let result = leader.run(lead).await?;
        let now = Timestamp::now();
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
        // A channel the fusion could not settle leaves the round without a value or a vote.
        let fusable = fused.iter().all(|v| v.is_finite());
        let verdict = fusable.then(|| voter.update(ndarray::ArrayView1::from(&fused[..])));
        let record = RoundRecord {
            round: result.round,
            leader: me.clone(),
            token: result.token.0,
            fused: if fusable { fused } else { [0.0; 3] },
            excluded,
            answered: result.answered.iter().map(|(n, _)| n.to_string()).collect(),
            reached_quorum: fusable && result.reached_quorum,
            alarm: verdict.as_ref().is_some_and(|v| v.alarm),
            voted_yes: verdict
                .iter()
                .flat_map(|v| &v.members)
                .filter(|m| m.vote == aeroguard_detect::Vote::Yes)
                .map(|m| m.name.clone())
                .collect(),
        };
        let detail = serde_json::to_value(&record).map_err(|e| Error::Backend {
            backend: "json",
            operation: "encode round",
            message: e.to_string(),
        })?;
        let point = Point::new(now, record.fused[0])
            .with_alarm(record.alarm)
            .with_detail(detail);
        let outage = plan.outage.filter(|o| (o.from..=o.to).contains(&result.round));
        if outage.is_some_and(|o| o.from == result.round) {
            deliveries.set_link(false);
            emit(NodeEvent::Link {
                node: me.clone(),
                up: false,
                round: last,
                queued: deliveries.stats().0.queued,
            });
        }
        deliveries.append(&Append {
            series: series.clone(),
            writer: Writer::new(result.token, me.as_str()),
            points: vec![point],
        })?;
        deliveries.post(&Post {
            series: series.clone(),
            token: result.token.0,
            at: now.as_millis(),
            values: record.fused,
        })?;
        last = result.round;
        // Retention, when due (not while the link to the history is down).
        if deliveries.link_is_up() {
            let names: Vec<&str> = kept.iter().map(String::as_str).collect();
            match compactor.tick(lead, &names, now).await {
                Ok(Some(c)) => emit(NodeEvent::Compacted {
                    node: me.clone(),
                    round: result.round,
                    dropped: c.dropped,
                    folded: c.folded,
                    steps: c.steps,
                }),
                Ok(None) => {}
                Err(e) => emit(NodeEvent::Warn {
                    node: me.clone(),
                    message: format!("retention: {e}"),
                }),
            }
        }
        // The alert rules, on the round's own time: the upset must hold two rounds' worth before it fires.
        if fusable {
            let sample = aeroguard_detect::alert::Sample::verdict(record.fused[2], record.alarm);
            match alerts.observe(
                now,
                sample,
                rules,
                &Writer::new(result.token, me.as_str()),
                deliveries,
            ) {
                Ok(events) => {
                    for e in events {
                        emit(NodeEvent::Alert {
                            node: me.clone(),
                            rule: e.rule,
                            status: format!("{:?}", e.status).to_lowercase(),
                            round: record.round,
                        });
                    }
                }
                Err(e) => emit(NodeEvent::Warn {
                    node: me.clone(),
                    message: format!("alerts: {e}"),
                }),
            }
        }
        emit(NodeEvent::Round(RoundLine {
            round: record.round,
            leader: me.clone(),
            token: record.token,
            fused: record.fused,
            answered: record.answered.len(),
            nodes: plan.nodes,
            reached_quorum: record.reached_quorum,
            excluded: record.excluded.clone(),
            alarm: record.alarm,
            voted_yes: record.voted_yes.clone(),
        }));
        if outage.is_some_and(|o| o.to == result.round) {
            emit(NodeEvent::Link {
                node: me.clone(),
                up: true,
                round: last,
                queued: deliveries.stats().0.queued,
            });
            deliveries.set_link(true);
        }
        let wait = Duration::from_millis(period.load(Ordering::SeqCst)).saturating_sub(started.elapsed());
        tokio::time::sleep(wait).await;
    }
    Ok(())
}
