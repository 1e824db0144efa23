//! A Jepsen-style run: workers in network namespaces write fenced history, use the queue and push config
//! while a nemesis partitions, pauses, kills and slows servers and workers; every operation is logged with
//! its start and end, and [`check`] reads the history for what must never happen.
//!
//! The program is `aeroguard-jepsen` (`cargo install --path aeroguard-jepsen`, then `aeroguard-jepsen run --help`);
//! it needs root (network namespaces) and starts its own servers with `scripts/services` in namespace mode.

pub mod check;
mod error;
pub mod event;
pub mod nemesis;
mod table;
pub mod worker;

use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

use self::event::{Event, Op, now_us};
use self::nemesis::{Nemesis, Scenario};
pub use error::{Error, Result};

/// What a run does.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Recipes on ZooKeeper (`true`) or Redis; the history is on Redis either way.
    pub zookeeper: bool,
    /// The seed value of the nemesis's choices.
    pub seed: u64,
    /// How long faults are injected.
    pub duration: Duration,
    /// The session timeout of every worker.
    pub session: Duration,
    /// Where the history and the report go.
    pub out: PathBuf,
    /// The scenarios to draw from (those that apply to the backend).
    pub scenarios: Vec<Scenario>,
    /// The project's `scripts` folder.
    pub scripts: PathBuf,
    /// Workers (at most 5).
    pub workers: usize,
    /// Leave the servers and namespaces up afterwards.
    pub keep: bool,
}

/// One fault: which scenario, when it began and when its settling ended, what was done, server failovers.
#[derive(Debug, Clone)]
pub struct Strike {
    /// The scenario.
    pub scenario: Scenario,
    /// When it began (us).
    pub from: i64,
    /// When the settling after it ended (us).
    pub to: i64,
    /// What the nemesis did.
    pub what: String,
    /// Redis master changes and ZooKeeper servers killed.
    pub server_failovers: usize,
}

/// One row of the report.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The scenario's name.
    pub scenario: &'static str,
    /// Operations that started during its strikes.
    pub operations: usize,
    /// Strikes.
    pub faults: usize,
    /// New leadership terms granted during its strikes (leader failovers).
    pub failovers: usize,
    /// Redis master changes and ZooKeeper servers killed.
    pub server_failovers: usize,
    /// Violations found during its strikes.
    pub violations: usize,
    /// Write stall p50 and p99 (ms): gaps between consecutive accepted appends.
    pub stall_p50: f64,
    /// See `stall_p50`.
    pub stall_p99: f64,
}

/// The report of a run: a row per scenario and the checker's findings.
#[derive(Debug, Clone)]
pub struct Summary {
    /// The backend's name.
    pub backend: &'static str,
    /// A row per scenario that struck.
    pub rows: Vec<Row>,
    /// The whole history's check.
    pub report: check::Report,
}

/// Builds the report rows: each strike's window gets the operations, grants, violations and stalls in it.
pub fn summarise(backend: &'static str, events: &[Event], strikes: &[Strike]) -> Summary {
    let report = check::check(events);
    let mut rows: Vec<Row> = Vec::new();
    for scenario in Scenario::ALL {
        let mine: Vec<&Strike> = strikes.iter().filter(|s| s.scenario == scenario).collect();
        if mine.is_empty() {
            continue;
        }
        let inside = |t: i64| mine.iter().any(|s| t >= s.from && t < s.to);
        let stalls: Vec<i64> = report
            .stalls
            .iter()
            .filter(|g| inside(g.0))
            .map(|g| g.1)
            .collect();
        let q = |p: f64| {
            let mut s = stalls.clone();
            s.sort_unstable();
            s.get(((s.len().max(1) - 1) as f64 * p).round() as usize)
                .map_or(0.0, |&v| v as f64 / 1_000.0)
        };
        rows.push(Row {
            scenario: scenario.name(),
            operations: events
                .iter()
                .filter(|e| !matches!(e.op, Op::Nemesis { .. }) && inside(e.start))
                .count(),
            faults: mine.len(),
            failovers: events
                .iter()
                .filter(|e| matches!(e.op, Op::Elected { .. }) && inside(e.end))
                .count(),
            server_failovers: mine.iter().map(|s| s.server_failovers).sum(),
            violations: report.violations.iter().filter(|v| inside(v.at)).count(),
            stall_p50: q(0.5),
            stall_p99: q(0.99),
        });
    }
    Summary {
        backend,
        rows,
        report,
    }
}

/// Reads every `*.jsonl` history file in `dir`.
pub fn read_history(dir: &std::path::Path) -> Result<Vec<Event>> {
    let mut events = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(format!("read {}", dir.display()), e))?;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|x| x != "jsonl") {
            continue;
        }
        let text =
            std::fs::read_to_string(&path).map_err(|e| Error::io(format!("read {}", path.display()), e))?;
        // A worker killed mid-line leaves a partial last line: it is no operation.
        events.extend(text.lines().filter_map(|l| serde_json::from_str::<Event>(l).ok()));
    }
    Ok(events)
}

fn spawn_worker(o: &RunOptions, name: &str, node: &str, args: &[String]) -> Result<Child> {
    let exe = std::env::current_exe().map_err(|e| Error::io("find this program", e))?;
    let ns = format!("ag-{}", if node == "final" { "hub" } else { node });
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", &ns])
        .arg(exe)
        .arg("worker")
        .args(["--node", node, "--name", name])
        .arg("--out")
        .arg(o.out.join(format!("{node}.jsonl")))
        .args(["--session-ms", &o.session.as_millis().to_string()])
        .args(args);
    if o.zookeeper {
        cmd.arg("--zookeeper");
    }
    // The credentials of this run's servers, from its services' credentials file: every variable that file
    // names is taken out of the environment (a caller may have exported the loopback test services' own).
    let dir = services_dir(o.zookeeper);
    let named = std::fs::read_to_string(dir.join("credentials")).unwrap_or_default();
    for name in named.lines().filter_map(|l| l.split_once('=').map(|(n, _)| n)) {
        cmd.env_remove(name);
    }
    cmd.env("AEROGUARD_SERVICES_DIR", dir)
        .env_remove("AEROGUARD_ZK_AUTH")
        .env_remove("AEROGUARD_ZK_SASL")
        .env_remove("AEROGUARD_MEMBERS")
        .env_remove("AEROGUARD_REDIS_AUTH")
        .env_remove("AEROGUARD_SENTINEL_AUTH")
        .env_remove("AEROGUARD_REDIS_CA");
    // Faults make the clients warn all the time; the history says what happened.
    if std::env::var_os("RUST_LOG").is_none() {
        cmd.env("RUST_LOG", "error");
    }
    cmd.spawn()
        .map_err(|e| Error::io(format!("start worker {node} (ip netns exec)"), e))
}

/// The workers a run started: any still running when this is dropped (the run failed half-way) are killed, so
/// no worker outlives its run.
struct Workers(Vec<(String, Child)>);

impl Drop for Workers {
    fn drop(&mut self) {
        for (_, child) in &mut self.0 {
            if matches!(child.try_wait(), Ok(None)) {
                child.kill().ok();
                child.wait().ok();
            }
        }
    }
}

fn wait_child(child: &mut Child, limit: Duration, what: &str) -> Result<()> {
    let until = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => return Err(Error::Run(format!("{what} exited with {status}"))),
            Ok(None) if Instant::now() < until => std::thread::sleep(Duration::from_millis(200)),
            Ok(None) => {
                child.kill().ok();
                return Err(Error::Run(format!("{what} did not finish within {limit:?}")));
            }
            Err(e) => return Err(Error::io(format!("wait for {what}"), e)),
        }
    }
}

/// Runs the whole thing: namespaces and servers up, workers started, faults for `duration`, everything healed,
/// the queue drained and the config read, the history checked. The servers and namespaces go down afterwards,
/// whatever happened (unless `keep`).
pub fn run(o: &RunOptions) -> Result<Summary> {
    let outcome = run_inner(o);
    if !o.keep {
        let n = Nemesis {
            scripts: o.scripts.clone(),
            services_dir: services_dir(o.zookeeper),
            dir: o.out.clone(),
            workers: Vec::new(),
            session: o.session,
        };
        let down = n.services(&["stop"]).and_then(|_| n.netns(&["down"]));
        if let (Ok(_), Err(e)) = (&outcome, down) {
            return Err(e);
        }
    }
    outcome
}

/// The state folder (configs, data, logs) of the servers a run on the backend starts; kept until the next run.
pub fn services_dir(zookeeper: bool) -> PathBuf {
    let backend = if zookeeper { "zookeeper" } else { "redis" };
    std::env::temp_dir().join(format!("aeroguard-jepsen-{backend}"))
}

fn run_inner(o: &RunOptions) -> Result<Summary> {
    if o.workers == 0 || o.workers > 5 {
        return Err(Error::Run(format!("--workers {}: must be 1 to 5", o.workers)));
    }
    let scenarios: Vec<Scenario> = o
        .scenarios
        .iter()
        .copied()
        .filter(|s| s.applies(o.zookeeper))
        .collect();
    if scenarios.is_empty() {
        return Err(Error::Run("no scenario applies to this backend".into()));
    }
    std::fs::create_dir_all(&o.out).map_err(|e| Error::io(format!("create {}", o.out.display()), e))?;
    for entry in std::fs::read_dir(&o.out)
        .map_err(|e| Error::io("list the output folder", e))?
        .flatten()
    {
        if entry.path().extension().is_some_and(|x| x == "jsonl") {
            std::fs::remove_file(entry.path()).map_err(|e| Error::io("clear the output folder", e))?;
        }
    }
    let backend = if o.zookeeper { "zookeeper" } else { "redis" };
    let mut nemesis = Nemesis {
        scripts: o.scripts.clone(),
        services_dir: services_dir(o.zookeeper),
        dir: o.out.clone(),
        workers: Vec::new(),
        session: o.session,
    };
    nemesis.netns(&["up"])?;
    nemesis.services(&["clean"])?;
    nemesis.services(&["start"])?;
    let name = format!("jepsen-{}-{}", o.seed, now_us());
    let zk = "10.77.0.11:2181,10.77.0.12:2182,10.77.0.13:2183".to_string();
    let sentinels = "10.77.0.31:26379,10.77.0.32:26380,10.77.0.33:26381".to_string();
    let lasts = o.duration + Duration::from_secs(8);
    let common = vec!["--zk-hosts".to_string(), zk, "--sentinels".to_string(), sentinels];
    let mut children = Workers(Vec::new());
    for i in 1..=o.workers {
        let node = format!("n{i}");
        let mut args = common.clone();
        args.extend(["--duration-ms".to_string(), lasts.as_millis().to_string()]);
        let child = spawn_worker(o, &name, &node, &args)?;
        nemesis.workers.push((node.clone(), child.id()));
        children.0.push((node, child));
    }
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(o.seed);
    let log = worker::Log::open("nemesis", &o.out.join("nemesis.jsonl"))?;
    // Let a leader be elected and the queue get going.
    std::thread::sleep(Duration::from_secs(4));
    let started = Instant::now();
    let mut strikes = Vec::new();
    while started.elapsed() < o.duration {
        let scenario = scenarios[rng.gen_range(0..scenarios.len())];
        let from = now_us();
        let (what, server_failovers) = nemesis.strike(scenario, &mut rng)?;
        std::thread::sleep(Duration::from_millis(rng.gen_range(2_000..4_000)));
        let to = now_us();
        log.event(Event {
            node: "nemesis".into(),
            start: from,
            end: to,
            op: Op::Nemesis {
                what: format!("{}: {what}", scenario.name()),
            },
            error: None,
        });
        eprintln!("nemesis: {}: {what}", scenario.name());
        strikes.push(Strike {
            scenario,
            from,
            to,
            what,
            server_failovers,
        });
    }
    nemesis.heal_all()?;
    for (node, child) in &mut children.0 {
        wait_child(child, lasts + Duration::from_secs(60), &format!("worker {node}"))?;
    }
    let mut args = common;
    args.extend([
        "--final".to_string(),
        "--quiet-ms".to_string(),
        (o.session * 2).as_millis().to_string(),
    ]);
    let last = spawn_worker(o, &name, "final", &args)?;
    let mut last = Workers(vec![("final".into(), last)]);
    wait_child(&mut last.0[0].1, Duration::from_secs(180), "the final drain")?;
    let events = read_history(&o.out)?;
    let summary = summarise(backend, &events, &strikes);
    std::fs::write(o.out.join("report.txt"), summary.table())
        .map_err(|e| Error::io("write the report", e))?;
    Ok(summary)
}
