//! A Jepsen-style run against real servers in network namespaces: a workload of fenced history writes, queue
//! put/take/ack and config pushes, a nemesis of partitions, pauses, kills and lossy links, a history of every
//! operation, and a checker. Needs root (`ip netns`); starts and stops its own servers.
//!
//! ```text
//! aeroguard-jepsen run --backend zookeeper|redis [--seed N] [--duration-s S] [--scenarios a,b] [--out DIR]
//!     runs, prints a report table per scenario, exits 1 when the checker finds a violation
//! aeroguard-jepsen check DIR
//!     checks the history a run left in DIR
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use aeroguard_consensus::deployment::Backend;
use aeroguard_jepsen::nemesis::{Scenario, default_scripts};
use aeroguard_jepsen::{self as jepsen, RunOptions, worker};
use clap::{Parser, Subcommand};

/// A Jepsen-style run: workload, nemesis, history, checker (needs root for network namespaces).
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start servers and workers in namespaces, inject faults, check the history, print the report.
    Run {
        /// Where the recipes run (the history is on Redis either way).
        #[arg(long)]
        backend: Backend,
        /// The seed value of the nemesis's choices.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// How long faults are injected, in seconds.
        #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86_400))]
        duration_s: u64,
        /// The workers' session timeout, in milliseconds.
        #[arg(long, default_value_t = 3_000, value_parser = clap::value_parser!(u64).range(1_000..=60_000))]
        session_ms: u64,
        /// Scenarios to draw from (default: all that apply to the backend).
        #[arg(long, value_enum, value_delimiter = ',')]
        scenarios: Vec<Scenario>,
        /// Workers (1 to 5).
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=5))]
        workers: u64,
        /// Where the history and the report go.
        #[arg(long, default_value = "target/jepsen")]
        out: PathBuf,
        /// The project's scripts folder.
        #[arg(long)]
        scripts: Option<PathBuf>,
        /// Leave the servers and namespaces up afterwards.
        #[arg(long)]
        keep: bool,
    },
    /// Check the history a run left in DIR and print the report.
    Check {
        /// The run's output folder.
        dir: PathBuf,
    },
    /// One workload process (the run starts these in namespaces).
    #[command(hide = true)]
    Worker {
        #[arg(long)]
        node: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        out: PathBuf,
        #[arg(long)]
        zookeeper: bool,
        #[arg(long)]
        zk_hosts: String,
        #[arg(long, value_delimiter = ',')]
        sentinels: Vec<String>,
        #[arg(long)]
        session_ms: u64,
        #[arg(long, default_value_t = 0)]
        duration_ms: u64,
        /// Drain the queue and read the config instead.
        #[arg(long = "final")]
        last: bool,
        #[arg(long, default_value_t = 6_000)]
        quiet_ms: u64,
    },
}

fn main() -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,aeroguard_jepsen=info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
    match Cli::parse().command {
        Command::Run {
            backend,
            seed,
            duration_s,
            session_ms,
            scenarios,
            workers,
            out,
            scripts,
            keep,
        } => {
            let options = RunOptions {
                zookeeper: backend == Backend::ZooKeeper,
                seed,
                duration: Duration::from_secs(duration_s),
                session: Duration::from_millis(session_ms),
                out,
                scenarios: if scenarios.is_empty() {
                    Scenario::ALL.to_vec()
                } else {
                    scenarios
                },
                scripts: scripts.unwrap_or_else(default_scripts),
                workers: workers as usize,
                keep,
            };
            match jepsen::run(&options) {
                Ok(summary) => {
                    print!("{}", summary.table());
                    if summary.report.violations.is_empty() {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::from(1)
                    }
                }
                Err(e) => {
                    eprintln!("aeroguard-jepsen: {e}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Check { dir } => match jepsen::read_history(&dir) {
            Ok(events) => {
                let report = jepsen::check::check(&events);
                println!(
                    "{} operations, {} grants, {} appends, {} puts, {} config writes; {} violations",
                    report.operations,
                    report.grants,
                    report.appends,
                    report.puts,
                    report.config_writes,
                    report.violations.len()
                );
                for v in &report.violations {
                    println!("VIOLATION {v}");
                }
                if report.violations.is_empty() {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(1)
                }
            }
            Err(e) => {
                eprintln!("aeroguard-jepsen: {e}");
                ExitCode::from(2)
            }
        },
        Command::Worker {
            node,
            name,
            out,
            zookeeper,
            zk_hosts,
            sentinels,
            session_ms,
            duration_ms,
            last,
            quiet_ms,
        } => {
            let setup = worker::Setup {
                zookeeper,
                zk_hosts,
                sentinels,
                name,
                session: Duration::from_millis(session_ms),
            };
            let runtime = match tokio::runtime::Runtime::new() {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("aeroguard-jepsen worker: {e}");
                    return ExitCode::from(2);
                }
            };
            let done = runtime.block_on(async move {
                let log = worker::Log::open(&node, &out)?;
                if last {
                    return worker::finish(setup, log, Duration::from_millis(quiet_ms)).await;
                }
                let stop = Arc::new(AtomicBool::new(false));
                let timer = stop.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(duration_ms)).await;
                    timer.store(true, Ordering::SeqCst);
                });
                worker::run(setup, node, log, stop).await
            });
            match done {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("aeroguard-jepsen worker: {e}");
                    ExitCode::from(2)
                }
            }
        }
    }
}
