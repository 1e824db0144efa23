//! The redundant sensor cluster, end to end: five nodes measure one simulated pump (pressure, temperature,
//! flow), elect a leader, hand in measurements each round through the queue; the leader fuses them
//! (Brooks-Iyengar), scores the fused row with the M-of-N ensemble and appends it with its fencing token to the
//! history. A stuck, a drifting and a spiking sensor, a leader crash and a sampling period pushed through the
//! config watch happen on schedule; the summary checks that no round was reported twice and none was lost.
//!
//! ```text
//! cargo run -p aeroguard-examples --example sensor_cluster                      # embedded memory backend
//! cargo run -p aeroguard-examples --example sensor_cluster -- --backend zookeeper  # nodes as processes
//! cargo run -p aeroguard-examples --example sensor_cluster -- --backend redis
//!     [--nodes 5] [--rounds 40] [--period-ms 150] [--kill-at 12] [--no-kill] [--seed 7] [--json]
//!     [--post 127.0.0.1:8080]
//! ```
//! With `--post`, the leader also posts every fused row to the `sentinel` analysis service.
//! ZooKeeper and Redis are the services of `scripts/services start`; on ZooKeeper the history lives in Redis.

use std::process::ExitCode;
use std::time::Duration;

use aeroguard_examples::arg_value;
use aeroguard_examples::cluster::{self, ClusterOptions, Where};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--sensor-node") {
        return match cluster::node_process(&args).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("sensor node: {e}");
                ExitCode::from(2)
            }
        };
    }
    let backend: Where = arg_value(&args, "--backend").unwrap_or(Where::Memory);
    let mut options = ClusterOptions::new(backend, &cluster::unique_run("cluster"));
    options.plan.nodes = arg_value(&args, "--nodes").unwrap_or(options.plan.nodes);
    options.plan.rounds = arg_value(&args, "--rounds").unwrap_or(options.plan.rounds);
    options.plan.period_ms = arg_value(&args, "--period-ms").unwrap_or(options.plan.period_ms);
    options.plan.seed = arg_value(&args, "--seed").unwrap_or(options.plan.seed);
    options.plan.faults = cluster::sim::default_faults(options.plan.nodes);
    options.plan.post = arg_value(&args, "--post");
    options.kill_leader_at = if args.iter().any(|a| a == "--no-kill") {
        None
    } else {
        arg_value(&args, "--kill-at").or(options.kill_leader_at)
    };
    options.session = Duration::from_millis(arg_value(&args, "--session-ms").unwrap_or(2000));
    if backend != Where::Memory {
        match std::env::current_exe() {
            Ok(me) => options.node_command = Some((me, vec!["--sensor-node".into()])),
            Err(e) => {
                eprintln!("error: cannot find this program to start nodes: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    let json = args.iter().any(|a| a == "--json");
    println!(
        "sensor cluster on {backend:?}: {} nodes, {} rounds every {} ms, faults {:?}, leader killed after round {:?}",
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
    match cluster::run_cluster(options, |line| {
        if !json && !line.starts_with("applied") {
            println!("{line}");
        }
    })
    .await
    {
        Ok(summary) => {
            if json {
                println!("{}", serde_json::to_string_pretty(&summary).unwrap_or_default());
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
