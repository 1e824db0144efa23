//! The orchestrator: starts the nodes (tasks on the memory backend, processes on ZooKeeper or Redis), follows
//! their events, kills the leader and pushes a new sampling period on schedule, then builds the summary.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use aeroguard_consensus::history::{HistoryStore, MemoryHistory};
use aeroguard_consensus::memory::MemoryCluster;
use aeroguard_consensus::{Config, Coordinator, Expect, SessionOptions};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::process::redis_history;
use super::{ClusterOptions, Emit, NodeEvent, Plan, Sampling, Summary, Where, run_node};
use aeroguard_consensus::deployment::Backend;
use crate::{Error, Result};

/// What reaches the orchestrator from a node: an event, or a line that is not one (stray output).
#[derive(Debug)]
enum Heard {
    Event(NodeEvent),
    Line(String),
}

/// The nodes, however they run.
enum Nodes {
    Tasks {
        cluster: MemoryCluster,
        tasks: Vec<Option<tokio::task::JoinHandle<()>>>,
    },
    Processes(Vec<Option<std::process::Child>>),
}

impl Nodes {
    fn kill(&mut self, index: usize, session: Duration) {
        match self {
            Nodes::Tasks { cluster, tasks } => {
                // The session is cut first, so the dying task cannot resign on its way out: a crash, not a
                // resignation; its leadership lingers until the session times out.
                if let Ok(id) = Plan::node_name(index).parse() {
                    cluster.crash(&id, session);
                }
                if let Some(t) = tasks.get_mut(index).and_then(Option::take) {
                    t.abort();
                }
            }
            Nodes::Processes(children) => {
                if let Some(mut c) = children.get_mut(index).and_then(Option::take)
                    && let Err(e) = c.kill().and_then(|()| c.wait().map(drop))
                {
                    tracing::warn!(node = index + 1, error = %e, "could not kill the node process");
                }
            }
        }
    }

    fn stop(&mut self, session: Duration) {
        let n = match self {
            Nodes::Tasks { tasks, .. } => tasks.len(),
            Nodes::Processes(c) => c.len(),
        };
        for i in 0..n {
            self.kill(i, session);
        }
    }
}

/// Runs the cluster and returns its summary; `print` receives every event line as it happens.
pub async fn run_cluster(options: ClusterOptions, print: impl Fn(&str)) -> Result<Summary> {
    let plan = options.plan.clone();
    let (tx, mut rx) = mpsc::unbounded_channel::<(Instant, Heard)>();
    let (observer, history, mut nodes): (Arc<dyn Coordinator>, Arc<dyn HistoryStore>, Nodes) =
        match options.backend {
            Where::Memory => {
                let cluster = MemoryCluster::new();
                let history: Arc<dyn HistoryStore> = Arc::new(MemoryHistory::new());
                let memory = SessionOptions::new(options.session).with_grace(options.session * 3 / 10);
                let mut tasks = Vec::new();
                for i in 0..plan.nodes {
                    let id = Plan::node_name(i).parse().map_err(Error::Core)?;
                    let coord: Arc<dyn Coordinator> = cluster.connect_with(id, memory)?;
                    let tx = tx.clone();
                    let emit: Emit = Arc::new(move |event| {
                        // The orchestrator stops listening only when the run is over.
                        tx.send((Instant::now(), Heard::Event(event))).ok();
                    });
                    let (h, p, e2) = (history.clone(), plan.clone(), emit.clone());
                    tasks.push(Some(tokio::spawn(async move {
                        if let Err(err) = run_node(coord, h, p, i, e2.clone()).await {
                            e2(NodeEvent::Failed {
                                node: Plan::node_name(i),
                                message: err.to_string(),
                            });
                        }
                    })));
                }
                let observer = cluster.connect("observer".parse().map_err(Error::Core)?)?;
                (observer, history, Nodes::Tasks { cluster, tasks })
            }
            Where::ZooKeeper | Where::Redis => {
                let backend = if options.backend == Where::ZooKeeper {
                    Backend::ZooKeeper
                } else {
                    Backend::Redis
                };
                let (program, prefix) = options
                    .node_command
                    .clone()
                    .ok_or_else(|| Error::Run("process backends need a node program".into()))?;
                let plan_json =
                    serde_json::to_string(&plan).map_err(|source| Error::Json { what: "plan", source })?;
                let mut children = Vec::new();
                for i in 0..plan.nodes {
                    let mut child = std::process::Command::new(&program)
                        .args(&prefix)
                        .args(["--backend", backend.name(), "--index", &i.to_string()])
                        .args([
                            "--session-ms",
                            &options.session.as_millis().to_string(),
                            "--plan",
                            &plan_json,
                        ])
                        .stdout(std::process::Stdio::piped())
                        .stderr(std::process::Stdio::inherit())
                        .spawn()
                        .map_err(|e| Error::io(format!("start node {}", program.display()), e))?;
                    let stdout = child
                        .stdout
                        .take()
                        .ok_or_else(|| Error::Run("node started without a stdout".into()))?;
                    let tx = tx.clone();
                    std::thread::spawn(move || {
                        use std::io::BufRead;
                        for line in std::io::BufReader::new(stdout)
                            .lines()
                            .map_while(std::io::Result::ok)
                        {
                            let heard = NodeEvent::parse(&line).map_or(Heard::Line(line), Heard::Event);
                            if tx.send((Instant::now(), heard)).is_err() {
                                return;
                            }
                        }
                    });
                    children.push(Some(child));
                }
                let observer = backend.connect("observer", options.session).await?;
                let history: Arc<dyn HistoryStore> = Arc::new(redis_history("observer-h").await?);
                (observer, history, Nodes::Processes(children))
            }
        };
    drop(tx);
    if let Some(schedule) = &options.retention {
        // As an operator would: the schedule goes to config, where the leaders read it every round.
        aeroguard_consensus::history::RetentionSchedule::config(observer.config(), &plan.retention_key())?
            .set(schedule, Expect::Any)
            .await?;
    }
    let outcome = watch(&options, &*observer, &mut nodes, &mut rx, &print).await;
    nodes.stop(options.session);
    let events = outcome?;
    let summary = Summary::build(&plan, options.retention, &*history, events).await;
    observer.close().await;
    // The run's outboxes (their nodes are stopped; anything left in them is in the summary's figures).
    let _ = std::fs::remove_dir_all(plan.outbox_dir().join(&plan.run));
    summary
}

/// What the orchestrator saw while the cluster ran.
#[derive(Debug, Default)]
pub(crate) struct Events {
    /// (when, node, token) of each election.
    pub elected: Vec<(Instant, String, u64)>,
    /// Kill instants and whom.
    pub killed: Vec<(Instant, String)>,
    /// Nodes that applied the new sampling period.
    pub applied: BTreeSet<String>,
    /// The new period pushed, if any.
    pub new_period: Option<u64>,
    /// Nodes killed (not expected to apply later settings).
    pub dead: BTreeSet<String>,
    /// Whether the run ended by timeout.
    pub timed_out: bool,
    /// Alert transitions: (rule, status, round).
    pub alerts: Vec<(String, String, u64)>,
    /// The leader's history link going down or up: (up, last round, entries in its outbox).
    pub links: Vec<(bool, u64, u64)>,
    /// Entries the outboxes delivered after holding them back: (receiver, count).
    pub forwarded: Vec<(String, u64)>,
    /// The bad rule file's config version, once pushed.
    pub bad_rules: Option<u64>,
    /// Rule files reaching nodes: (node, version, applied, detail).
    pub rules: Vec<(String, u64, bool, String)>,
    /// Compactions by the leaders: (dropped, folded, steps).
    pub compactions: Vec<(u64, u64, u32)>,
}

async fn watch(
    options: &ClusterOptions,
    observer: &dyn Coordinator,
    nodes: &mut Nodes,
    rx: &mut mpsc::UnboundedReceiver<(Instant, Heard)>,
    print: &impl Fn(&str),
) -> Result<Events> {
    let plan = &options.plan;
    let mut ev = Events::default();
    let mut last_round = 0;
    let mut leader: Option<String> = None;
    let deadline = Instant::now() + options.timeout;
    let sampling = Config::<Sampling>::new(observer.config(), &plan.sampling_key())?;
    let mut round_seen_at: BTreeMap<u64, Instant> = BTreeMap::new();
    loop {
        let line = tokio::select! {
            l = rx.recv() => l,
            _ = tokio::time::sleep_until(deadline) => { ev.timed_out = true; break }
        };
        let Some((at, heard)) = line else { break };
        let event = match heard {
            Heard::Line(line) => {
                print(&line);
                continue;
            }
            Heard::Event(event) => event,
        };
        print(&event.to_string());
        match event {
            NodeEvent::Elected { node, token } => {
                leader = Some(node.clone());
                ev.elected.push((at, node, token));
            }
            NodeEvent::Applied { node, period_ms, .. } if Some(period_ms) == ev.new_period => {
                ev.applied.insert(node);
            }
            NodeEvent::Alert {
                rule, status, round, ..
            } => ev.alerts.push((rule, status, round)),
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
            NodeEvent::Compacted {
                dropped,
                folded,
                steps,
                ..
            } => ev.compactions.push((dropped, folded, steps)),
            NodeEvent::Round(r) => {
                round_seen_at.entry(r.round).or_insert(at);
                last_round = last_round.max(r.round);
            }
            _ => {}
        }
        if let (Some(k), Some(l)) = (options.kill_leader_at, &leader)
            && ev.killed.is_empty()
            && last_round >= k
        {
            let index = l
                .trim_start_matches('n')
                .parse::<usize>()
                .map_err(|e| Error::Run(format!("leader {l}: {e}")))?
                - 1;
            print(&format!("*** killing the leader {l} after round {last_round}"));
            nodes.kill(index, options.session);
            ev.killed.push((Instant::now(), l.clone()));
            ev.dead.insert(l.clone());
        }
        if let Some((at_round, period)) = options.new_period_at
            && ev.new_period.is_none()
            && last_round >= at_round
        {
            print(&format!(
                "*** pushing sampling period {period} ms after round {last_round}"
            ));
            ev.new_period = Some(period);
            sampling.set(&Sampling { period_ms: period }, Expect::Any).await?;
        }
        if let Some(at_round) = options.bad_rules_at
            && ev.bad_rules.is_none()
            && last_round >= at_round
        {
            // As a careless operator would: straight into the config, no validator on this side.
            let typo = super::DEFAULT_RULES.replace("severity = \"critical\"", "severity = \"critcal\"");
            print(&format!(
                "*** pushing alert rules with a typo (severity = \"critcal\") after round {last_round}"
            ));
            let rules = Config::<super::RuleFile>::new(observer.config(), &plan.rules_key())?;
            ev.bad_rules = Some(rules.set(&super::RuleFile { toml: typo }, Expect::Any).await?);
        }
        if last_round >= plan.rounds {
            // Let the live nodes report the config change if they have not yet.
            let settle = Instant::now() + Duration::from_millis(500);
            while let Ok(Some((_, heard))) = tokio::time::timeout_at(settle, rx.recv()).await {
                match heard {
                    Heard::Event(NodeEvent::Applied { node, period_ms, .. })
                        if Some(period_ms) == ev.new_period =>
                    {
                        ev.applied.insert(node);
                    }
                    Heard::Event(NodeEvent::Forwarded { to, sent, .. }) => ev.forwarded.push((to, sent)),
                    Heard::Event(NodeEvent::Rules {
                        node,
                        version,
                        applied,
                        detail,
                    }) => ev.rules.push((node, version, applied, detail)),
                    _ => {}
                }
            }
            break;
        }
    }
    Ok(ev)
}
