//! The redundant sensor cluster: N nodes measure one simulated pump, elect a leader, hand in measurements
//! through the round recipe; the leader fuses, scores and appends to the fenced history. The orchestrator
//! here starts the nodes (tasks on the memory backend, processes on ZooKeeper or Redis), kills the leader and
//! pushes a new sampling period on schedule, then checks the history: no round reported twice, none lost.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use aeroguard_consensus::history::{HistoryStore, MemoryHistory};
use aeroguard_consensus::memory::{MemoryCluster, MemoryOptions};
use aeroguard_consensus::redis::RedisCoordinator;
use aeroguard_consensus::{Config, Coordinator, Expect};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::backend::Backend;

mod node;
pub mod sim;
mod summary;

pub use node::{Emit, Plan, RoundRecord, Sampling, run_node};
pub use summary::{FailoverRecord, FaultRecord, Summary};

/// Where the cluster runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Where {
    /// Nodes as tasks of this process on the embedded memory backend; history in memory.
    Memory,
    /// Nodes as processes on the ZooKeeper ensemble; history in Redis (through Sentinel).
    ZooKeeper,
    /// Nodes as processes on Redis (through Sentinel), history in Redis.
    Redis,
}

impl std::str::FromStr for Where {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "memory" => Ok(Where::Memory),
            "zookeeper" | "zk" => Ok(Where::ZooKeeper),
            "redis" => Ok(Where::Redis),
            other => Err(format!("unknown backend {other:?}: memory, zookeeper or redis")),
        }
    }
}

/// A run: the plan the nodes share, and what the orchestrator does to them.
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    /// The backend.
    pub backend: Where,
    /// The nodes' plan.
    pub plan: Plan,
    /// Kill the leader once this round is reported.
    pub kill_leader_at: Option<u64>,
    /// Push a new sampling period (ms) once this round is reported.
    pub new_period_at: Option<(u64, u64)>,
    /// The nodes' session timeout.
    pub session: Duration,
    /// The node program for process backends (`aeroguard-node`, or this program re-run with `--sensor-node`),
    /// and the arguments that come before the node's own.
    pub node_command: Option<(std::path::PathBuf, Vec<String>)>,
    /// Give up after this long.
    pub timeout: Duration,
}

impl ClusterOptions {
    /// Five nodes, 40 rounds every 150 ms, the default faults, the leader killed after round 12, the sampling
    /// period halved after round 24, a 2 s session.
    pub fn new(backend: Where, run: &str) -> Self {
        ClusterOptions {
            backend,
            plan: Plan {
                run: run.to_string(),
                nodes: 5,
                rounds: 40,
                period_ms: 150,
                deadline_ms: 400,
                seed: 7,
                faults: sim::default_faults(5),
                post: None,
            },
            kill_leader_at: Some(12),
            new_period_at: Some((24, 75)),
            session: Duration::from_secs(2),
            node_command: None,
            timeout: Duration::from_secs(120),
        }
    }
}

/// A unique run name.
pub fn unique_run(base: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{base}-{}-{}", std::process::id(), nanos % 1_000_000_000)
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
                if let Some(mut c) = children.get_mut(index).and_then(Option::take) {
                    let _ = c.kill();
                    let _ = c.wait();
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

/// Runs a node in this process as a node process of a cluster (what `aeroguard-node sensor` and
/// `sensor_cluster --sensor-node` do): `--backend zookeeper|redis --index I --session-ms N --plan JSON`.
pub async fn node_process(args: &[String]) -> Result<(), String> {
    use crate::arg_value;
    let backend: Backend = arg_value(args, "--backend").ok_or("--backend zookeeper|redis is required")?;
    let index: usize = arg_value(args, "--index").ok_or("--index is required")?;
    let session = Duration::from_millis(arg_value(args, "--session-ms").unwrap_or(2000));
    let plan: Plan =
        serde_json::from_str(&arg_value::<String>(args, "--plan").ok_or("--plan JSON is required")?)
            .map_err(|e| format!("--plan: {e}"))?;
    let coord = backend
        .connect(&Plan::node_name(index), session)
        .await
        .map_err(|e| e.to_string())?;
    let history: Arc<dyn HistoryStore> =
        Arc::new(redis_history(&format!("{}-h", Plan::node_name(index))).await?);
    let emit: Emit = Arc::new(|line| {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    });
    run_node(coord, history, plan, index, emit)
        .await
        .map_err(|e| e.to_string())
}

async fn redis_history(node: &str) -> Result<aeroguard_consensus::redis::RedisHistory, String> {
    let c = RedisCoordinator::connect(
        node.parse().map_err(|e| format!("{e}"))?,
        Backend::redis_options(Duration::from_secs(4)),
    )
    .await
    .map_err(|e| format!("history store (Redis through Sentinel): {e}"))?;
    Ok(c.history())
}

/// Runs the cluster and returns its summary; `print` receives every event line as it happens.
pub async fn run_cluster(options: ClusterOptions, print: impl Fn(&str)) -> Result<Summary, String> {
    let plan = options.plan.clone();
    let (tx, mut rx) = mpsc::unbounded_channel::<(Instant, String)>();
    let (observer, history, mut nodes): (Arc<dyn Coordinator>, Arc<dyn HistoryStore>, Nodes) =
        match options.backend {
            Where::Memory => {
                let cluster = MemoryCluster::new();
                let history: Arc<dyn HistoryStore> = Arc::new(MemoryHistory::new());
                let memory = MemoryOptions {
                    session_timeout: options.session,
                    grace: options.session * 3 / 10,
                };
                let mut tasks = Vec::new();
                for i in 0..plan.nodes {
                    let id = Plan::node_name(i).parse().map_err(|e| format!("{e}"))?;
                    let coord: Arc<dyn Coordinator> =
                        cluster.connect_with(id, memory).map_err(|e| e.to_string())?;
                    let tx = tx.clone();
                    let emit: Emit = Arc::new(move |line| {
                        let _ = tx.send((Instant::now(), line));
                    });
                    let (h, p, e2) = (history.clone(), plan.clone(), emit.clone());
                    tasks.push(Some(tokio::spawn(async move {
                        if let Err(err) = run_node(coord, h, p, i, e2.clone()).await {
                            e2(format!("error {} {err}", i + 1));
                        }
                    })));
                }
                let observer = cluster
                    .connect("observer".parse().map_err(|e| format!("{e}"))?)
                    .map_err(|e| e.to_string())?;
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
                    .ok_or("process backends need a node program")?;
                let plan_json = serde_json::to_string(&plan).map_err(|e| e.to_string())?;
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
                        .map_err(|e| format!("start node {}: {e}", program.display()))?;
                    let stdout = child.stdout.take().ok_or("no stdout")?;
                    let tx = tx.clone();
                    std::thread::spawn(move || {
                        use std::io::BufRead;
                        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
                            if tx.send((Instant::now(), line)).is_err() {
                                return;
                            }
                        }
                    });
                    children.push(Some(child));
                }
                let observer = backend
                    .connect("observer", options.session)
                    .await
                    .map_err(|e| e.to_string())?;
                let history: Arc<dyn HistoryStore> = Arc::new(redis_history("observer-h").await?);
                (observer, history, Nodes::Processes(children))
            }
        };
    drop(tx);
    let outcome = watch(&options, &*observer, &mut nodes, &mut rx, &print).await;
    nodes.stop(options.session);
    let events = outcome?;
    let summary = Summary::build(&plan, &*history, events).await;
    observer.close().await;
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
}

async fn watch(
    options: &ClusterOptions,
    observer: &dyn Coordinator,
    nodes: &mut Nodes,
    rx: &mut mpsc::UnboundedReceiver<(Instant, String)>,
    print: &impl Fn(&str),
) -> Result<Events, String> {
    let plan = &options.plan;
    let mut ev = Events::default();
    let mut last_round = 0;
    let mut leader: Option<String> = None;
    let deadline = Instant::now() + options.timeout;
    let sampling =
        Config::<Sampling>::new(observer.config(), &plan.sampling_key()).map_err(|e| e.to_string())?;
    let mut round_seen_at: BTreeMap<u64, Instant> = BTreeMap::new();
    loop {
        let line = tokio::select! {
            l = rx.recv() => l,
            _ = tokio::time::sleep_until(deadline) => { ev.timed_out = true; break }
        };
        let Some((at, line)) = line else { break };
        print(&line);
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["elected", node, token, ..] => {
                leader = Some(node.to_string());
                ev.elected
                    .push((at, node.to_string(), token.parse().unwrap_or(0)));
            }
            ["applied", node, period, ..] if Some(period.parse().unwrap_or(0)) == ev.new_period => {
                ev.applied.insert(node.to_string());
            }
            ["round", r, ..] => {
                let r: u64 = r.parse().unwrap_or(0);
                round_seen_at.entry(r).or_insert(at);
                last_round = last_round.max(r);
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
                .map_err(|e| e.to_string())?
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
            sampling
                .set(&Sampling { period_ms: period }, Expect::Any)
                .await
                .map_err(|e| e.to_string())?;
        }
        if last_round >= plan.rounds {
            // Let the live nodes report the config change if they have not yet.
            let settle = Instant::now() + Duration::from_millis(500);
            while let Ok(Some((_, line))) = tokio::time::timeout_at(settle, rx.recv()).await {
                if let ["applied", node, period, ..] = line.split_whitespace().collect::<Vec<_>>().as_slice()
                    && Some(period.parse().unwrap_or(0)) == ev.new_period
                {
                    ev.applied.insert(node.to_string());
                }
            }
            break;
        }
    }
    Ok(ev)
}
