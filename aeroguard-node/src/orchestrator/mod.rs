//! The orchestrator: starts the nodes (tasks on the memory backend, processes on ZooKeeper or Redis), follows
//! their events, kills the leader and pushes a new sampling period on schedule, then builds the summary.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use aeroguard_consensus::history::{HistoryStore, MemoryHistory};
use aeroguard_consensus::memory::MemoryCluster;
use aeroguard_consensus::{Coordinator, Expect, SessionOptions};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::process::redis_history;
use crate::{ClusterOptions, Emit, NodeEvent, Plan, Summary, Where, run_node};
use crate::{Error, Result};
use aeroguard_consensus::deployment::Backend;

mod watch;

/// What reaches the orchestrator from a node: an event, or a line that is not one (stray output).
#[derive(Debug)]
pub(crate) enum Heard {
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

    /// Cuts every node off the coordination servers for `duration`.
    fn cut(&self, duration: Duration, session: Duration) -> Result<()> {
        match self {
            Nodes::Tasks { cluster, tasks } => {
                for i in 0..tasks.len() {
                    if let Ok(id) = Plan::node_name(i).parse() {
                        cluster.suspend(&id, duration, session);
                    }
                }
                Ok(())
            }
            Nodes::Processes(_) => Err(Error::Run(
                "cutting the nodes off the servers needs the memory backend (use the fault-injection harness)"
                    .into(),
            )),
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

/// What a cluster run reports as it goes, for a progress display or a log.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Progress<'a> {
    /// A node's event.
    Event(&'a NodeEvent),
    /// A line a node process printed that is not an event (its own diagnostics).
    Output(&'a str),
    /// The orchestrator acted on the cluster.
    Action(&'a Action),
}

/// What the orchestrator does to the cluster on schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// Killed the leader (a crash: its session lingers until it times out).
    KillLeader {
        /// The leader.
        node: String,
        /// The last round reported before.
        after_round: u64,
    },
    /// Pushed a new sampling period through the config watch.
    PushPeriod {
        /// The new period.
        period_ms: u64,
        /// The last round reported before.
        after_round: u64,
    },
    /// Pushed an alert rule file and an action policy with a typo each (the nodes must refuse them and keep
    /// what they had).
    PushBadRules {
        /// The last round reported before.
        after_round: u64,
    },
    /// Cut every node off the coordination servers.
    Cut {
        /// For how long (ms).
        for_ms: u64,
        /// The last round reported before.
        after_round: u64,
    },
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Action::KillLeader { node, after_round } => {
                write!(f, "*** killing the leader {node} after round {after_round}")
            }
            Action::PushPeriod {
                period_ms,
                after_round,
            } => write!(
                f,
                "*** pushing sampling period {period_ms} ms after round {after_round}"
            ),
            Action::Cut { for_ms, after_round } => write!(
                f,
                "*** cutting every node off the coordination servers for {for_ms} ms after round {after_round}"
            ),
            Action::PushBadRules { after_round } => write!(
                f,
                "*** pushing alert rules with a typo (severity = \"critcal\") and an action policy with one \
                 ({{vote}}) after round {after_round}"
            ),
        }
    }
}

impl std::fmt::Display for Progress<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Progress::Event(e) => e.fmt(f),
            Progress::Output(line) => f.write_str(line),
            Progress::Action(a) => a.fmt(f),
        }
    }
}

type Message = (Instant, Heard);

/// Started nodes: an observer's coordinator, the history they write, and the nodes themselves.
type Started = (Arc<dyn Coordinator>, Arc<dyn HistoryStore>, Nodes);

/// The nodes as tasks of this process on one memory cluster, their history in memory.
fn start_tasks(options: &ClusterOptions, tx: &mpsc::UnboundedSender<Message>) -> Result<Started> {
    let (plan, session) = (&options.plan, options.session);
    let cluster = MemoryCluster::new();
    let history: Arc<dyn HistoryStore> = Arc::new(MemoryHistory::new());
    let memory = SessionOptions::new(session).with_grace(session * 3 / 10);
    let mut tasks = Vec::new();
    for i in 0..plan.nodes {
        let id = Plan::node_name(i).parse().map_err(Error::Core)?;
        if let Some((node, offset_ms)) = options.skewed_clock
            && node == i
        {
            cluster.skew_clock(&id, offset_ms);
        }
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
    Ok((observer, history, Nodes::Tasks { cluster, tasks }))
}

/// The nodes as processes of `options.node_command` on the deployment's `backend`, their history in Redis.
async fn start_processes(
    options: &ClusterOptions,
    backend: Backend,
    tx: &mpsc::UnboundedSender<Message>,
) -> Result<Started> {
    let plan = &options.plan;
    let (program, prefix) = options
        .node_command
        .clone()
        .ok_or_else(|| Error::Run("process backends need a node program".into()))?;
    let plan_json = serde_json::to_string(plan).map_err(|source| Error::Json { what: "plan", source })?;
    let session_ms = options.session.as_millis().to_string();
    let mut children = Vec::new();
    for i in 0..plan.nodes {
        let mut command = std::process::Command::new(&program);
        command
            .args(&prefix)
            .args(["--backend", backend.name(), "--index", &i.to_string()])
            .args(["--session-ms", &session_ms, "--plan", &plan_json])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit());
        if let Some((node, offset_ms)) = options.skewed_clock
            && node == i
        {
            shift_clock(&mut command, offset_ms)?;
        }
        let mut child = command
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
    Ok((observer, history, Nodes::Processes(children)))
}

/// Starts the node's process with its wall clock shifted by `offset_ms` (libfaketime, from `AEROGUARD_FAKETIME`
/// as `scripts/services env` gives it; timers on the monotonic clock are left alone).
fn shift_clock(command: &mut std::process::Command, offset_ms: i64) -> Result<()> {
    let lib = std::env::var("AEROGUARD_FAKETIME").map_err(|_| {
        Error::Run(
            "a node with a shifted clock needs libfaketime: AEROGUARD_FAKETIME is not set \
             (eval \"$(scripts/services env)\" after scripts/services install)"
                .into(),
        )
    })?;
    let seconds = offset_ms as f64 / 1000.0;
    command
        .env("LD_PRELOAD", lib)
        .env("FAKETIME", format!("{seconds:+}s"))
        .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
        .env("FAKETIME_NO_CACHE", "1");
    Ok(())
}

/// Runs the cluster and returns its summary; `progress` receives every event and action as it happens.
pub async fn run_cluster(options: ClusterOptions, progress: impl Fn(Progress<'_>)) -> Result<Summary> {
    let plan = options.plan.clone();
    let (tx, mut rx) = mpsc::unbounded_channel::<Message>();
    // Nodes with logins of their own may not write Redis elections: an authority does it for them.
    let authority = match options.backend {
        Where::Redis => {
            let names: Vec<String> = (0..plan.nodes).map(Plan::node_name).collect();
            let instance = format!("authority-{}", std::process::id());
            aeroguard_consensus::deployment::election_authority(&instance, &names, options.session).await?
        }
        _ => None,
    };
    let (observer, history, mut nodes) = match options.backend {
        Where::Memory => start_tasks(&options, &tx)?,
        Where::ZooKeeper => start_processes(&options, Backend::ZooKeeper, &tx).await?,
        Where::Redis => start_processes(&options, Backend::Redis, &tx).await?,
    };
    drop(tx);
    if let Some(schedule) = &options.retention {
        // As an operator would: the schedule goes to config, where the leaders read it every round.
        aeroguard_consensus::history::RetentionSchedule::config(observer.config(), &plan.retention_key())?
            .set(schedule, Expect::Any)
            .await?;
    }
    let outcome = watch::watch(&options, &*observer, &mut nodes, &mut rx, &progress).await;
    nodes.stop(options.session);
    let events = outcome?;
    let summary = Summary::build(&plan, options.retention, &*history, events).await;
    observer.close().await;
    if let Some(a) = authority {
        a.close().await;
    }
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
    /// When the nodes were cut off the servers, if they were.
    pub cut: Option<Instant>,
    /// The nodes' own alert transitions while degraded: (node, rule, status, round).
    pub local_alerts: Vec<(String, String, String, u64)>,
    /// Sensors the leaders saw start drifting out of tolerance: (sensor, channel, round, rounds to tolerance).
    pub health: Vec<(String, String, u64, Option<u64>)>,
    /// The bad policy file's config version, once pushed.
    pub bad_policy: Option<u64>,
    /// Policy files reaching nodes: (node, version, applied, detail).
    pub policies: Vec<(String, u64, bool, String)>,
    /// The leaders' actions: (round, record).
    pub actions: Vec<(u64, aeroguard_detect::action::ActionRecord)>,
}
