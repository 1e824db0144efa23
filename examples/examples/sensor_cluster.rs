//! The redundant sensor cluster, end to end: five nodes measure one simulated pump (pressure, temperature,
//! flow), elect a leader, hand in measurements each round through the queue; the leader fuses them
//! (Brooks-Iyengar), scores the fused row with the M-of-N ensemble and appends it with its fencing token to the
//! history. A stuck, a drifting and a spiking sensor, a leader crash and a sampling period pushed through the
//! config watch happen on schedule; the summary checks that no round was reported twice and none was lost.
//!
//! ```text
//! cargo run -p aeroguard-examples --example sensor_cluster                      # embedded memory backend
//! cargo run -p aeroguard-examples --example sensor_cluster -- --backend zookeeper  # nodes as processes
//! cargo run -p aeroguard-examples --example sensor_cluster -- --help
//! ```
//! With `--post`, the leader also posts every fused row to the `sentinel` analysis service.
//! ZooKeeper and Redis are the services of `scripts/services start`; on ZooKeeper the history lives in Redis.

use std::process::ExitCode;
use std::time::Duration;

use aeroguard_node::{self as cluster, ClusterOptions, NodeArgs, Where};
use clap::{Parser, Subcommand};

/// Five redundant sensor nodes elect a leader, hand in measurements each round; the leader fuses them, scores
/// them with the M-of-N ensemble and appends them, fenced, to the history. Faults, a leader crash and a config
/// push happen on schedule; exits non-zero if a check of the summary fails.
#[derive(Debug, Parser)]
#[command(version, args_conflicts_with_subcommands = true)]
struct Cli {
    /// Where the nodes run: tasks on the embedded backend, or processes on the test services.
    #[arg(long, value_enum, default_value = "memory")]
    backend: Where,
    /// How many nodes.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=64))]
    nodes: u64,
    /// Rounds to report.
    #[arg(long, default_value_t = 40, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    rounds: u64,
    /// Milliseconds between rounds.
    #[arg(long, default_value_t = 150, value_parser = clap::value_parser!(u64).range(10..=600_000))]
    period_ms: u64,
    /// Kill the leader once this round is reported.
    #[arg(long, default_value_t = 12)]
    kill_at: u64,
    /// Do not kill the leader.
    #[arg(long)]
    no_kill: bool,
    /// Seed of the measurement noise.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// The nodes' session timeout, in milliseconds.
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u64).range(300..=600_000))]
    session_ms: u64,
    /// Post every fused row to the sentinel service at this `host:port`.
    #[arg(long, value_name = "HOST:PORT")]
    post: Option<String>,
    /// The nodes' API keys for `--post`: a file of `identity key` lines (made with `sentinel --keygen`).
    #[arg(long, value_name = "FILE", requires = "post")]
    api_keys: Option<std::path::PathBuf>,
    /// Print the summary as JSON (and no progress lines).
    #[arg(long)]
    json: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run one node of a process cluster (the orchestrator starts these).
    #[command(hide = true)]
    SensorNode(NodeArgs),
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    aeroguard_examples::init_tracing();
    let cli = Cli::parse();
    if let Some(Command::SensorNode(args)) = &cli.command {
        return match cluster::node_process(args).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("sensor node: {e}");
                ExitCode::from(2)
            }
        };
    }
    let mut options = ClusterOptions::new(cli.backend, &cluster::unique_run("cluster"));
    options.plan.nodes = cli.nodes as usize;
    options.plan.rounds = cli.rounds;
    options.plan.period_ms = cli.period_ms;
    options.plan.seed = cli.seed;
    options.plan.faults = cluster::sim::default_faults(options.plan.nodes);
    options.plan.post = cli.post.clone();
    options.plan.api_keys = cli.api_keys.clone();
    options.kill_leader_at = (!cli.no_kill).then_some(cli.kill_at);
    options.session = Duration::from_millis(cli.session_ms);
    if cli.backend != Where::Memory {
        match std::env::current_exe() {
            Ok(me) => options.node_command = Some((me, vec!["sensor-node".into()])),
            Err(e) => {
                eprintln!("error: cannot find this program to start nodes: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    let json = cli.json;
    println!(
        "sensor cluster on {:?}: {} nodes, {} rounds every {} ms, faults {:?}, leader killed after round {:?}",
        cli.backend,
        options.plan.nodes,
        options.plan.rounds,
        options.plan.period_ms,
        options
            .plan
            .faults
            .iter()
            .map(|f| format!("n{} {} {}-{}", f.node + 1, f.label(), f.from, f.to))
            .collect::<Vec<_>>(),
        options.kill_leader_at
    );
    let bar = aeroguard_examples::progress(cli.rounds, "rounds");
    if json {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let outcome = cluster::run_cluster(options, |line| {
        if let Some(round) = line
            .strip_prefix("round")
            .and_then(|r| r.split_whitespace().next()?.parse().ok())
        {
            bar.set_position(round);
        }
        if !json && !line.starts_with("applied") {
            aeroguard_examples::say(&bar, line);
        }
    })
    .await;
    bar.finish_and_clear();
    match outcome {
        Ok(summary) => {
            if json {
                match serde_json::to_string_pretty(&summary) {
                    Ok(text) => println!("{text}"),
                    Err(e) => eprintln!("error: summary as JSON: {e}"),
                }
            } else {
                println!("{summary}");
            }
            if summary.problems().is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
