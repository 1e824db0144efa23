//! Coordination benchmark against the services started by `scripts/services start`: prints a table.
//!
//! ```text
//! cargo build --release -p aeroguard-node
//! cargo run --release -p aeroguard-benches --example coordination_bench -- [--backend zookeeper|redis] [--trials 50] [--items 10000]
//! cargo run --release -p aeroguard-benches --example coordination_bench -- --help
//! ```
//! - (a) a leader resigns cleanly, until the next candidate is elected (p50, p99);
//! - (b) a leader process is killed (SIGKILL), until the next candidate is elected, at session timeouts of
//!   2 s and 10 s (trials run ten at a time, each on its own election); on Redis that is lease expiry;
//! - (c) queue put + take + ack throughput for small items, one at a time and pipelined (batches);
//! - (d) Redis only: fenced history appends (pipelined batches) and range queries, in points per second.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aeroguard_consensus::deployment::Backend;
use aeroguard_testkit::bench::{connect, history_throughput, percentile, queue_throughput, resign_failover};
use clap::Parser;

/// The programs allocate with mimalloc, as the node and the service do.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Coordination benchmark against the services of `scripts/services start`: failover after a resignation and
/// after a kill, queue throughput, and (Redis) fenced history throughput, as a table.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    /// The backend.
    #[arg(long, default_value = "zookeeper")]
    backend: Backend,
    /// Failover trials of each kind.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    trials: u64,
    /// Queue items (the history appends ten times as many points).
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
    items: u32,
}

fn row(what: &str, mut samples: Vec<Duration>, peer: &str) {
    samples.sort();
    println!(
        "| {what:<44} | {:>5} | {:>10.1} | {:>10.1} | {peer:<22} |",
        samples.len(),
        percentile(&samples, 0.5).as_secs_f64() * 1e3,
        percentile(&samples, 0.99).as_secs_f64() * 1e3
    );
}

fn node_binary() -> std::path::PathBuf {
    // The build beside this program first, then an installed one on the PATH.
    let exe = std::env::current_exe().unwrap();
    let beside = exe
        .parent()
        .and_then(|p| p.parent())
        .map(|p| p.join("aeroguard-node"));
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join("aeroguard-node"));
    let found = beside.into_iter().chain(on_path).find(|p| p.exists());
    let Some(bin) = found else {
        eprintln!(
            "aeroguard-node not found: install it with `cargo install --path aeroguard-node`, or build it with `cargo build --release -p aeroguard-node`"
        );
        std::process::exit(2);
    };
    bin
}

async fn kill_failover(backend: Backend, trials: usize, session: Duration, run: &str) -> Vec<Duration> {
    let bin = node_binary();
    let mut out = Vec::new();
    let parallel = 10;
    for batch in 0..trials.div_ceil(parallel) {
        let mut tasks = Vec::new();
        for t in 0..parallel.min(trials - batch * parallel) {
            let name = format!("kill-{run}-{}-{batch}-{t}", session.as_secs());
            let bin = bin.clone();
            tasks.push(tokio::spawn(async move {
                let mut child = Command::new(&bin)
                    .args([
                        "--backend",
                        backend.name(),
                        "--node",
                        "victim",
                        "--session-ms",
                        &session.as_millis().to_string(),
                        "lead",
                        &name,
                    ])
                    .stdout(Stdio::piped())
                    .spawn()
                    .unwrap();
                let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
                let first = tokio::task::spawn_blocking(move || lines.next()).await.unwrap();
                assert!(
                    first.is_some_and(|l| l.is_ok_and(|l| l.starts_with(r#"{"event":"elected""#))),
                    "victim not elected"
                );
                let follower = connect(backend, &format!("heir-{t}"), session).await;
                let e = follower.election(&name).unwrap();
                let waiting = tokio::spawn(async move { e.campaign().await.map(|l| (l, Instant::now())) });
                while follower
                    .election(&name)
                    .unwrap()
                    .contenders()
                    .await
                    .unwrap()
                    .len()
                    < 2
                {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                // Give the victim's pings a moment to settle, then kill it.
                tokio::time::sleep(Duration::from_millis(100)).await;
                let killed = Instant::now();
                child.kill().unwrap();
                let _ = child.wait();
                let (lead, at) = waiting.await.unwrap().unwrap();
                let took = at - killed;
                lead.resign().await.unwrap();
                follower.close().await;
                took
            }));
        }
        for t in tasks {
            out.push(t.await.unwrap());
        }
    }
    out
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    aeroguard_testkit::init_tracing();
    let Cli {
        backend,
        trials,
        items,
    } = Cli::parse();
    let trials = trials as usize;
    let run = format!("{}", std::process::id());
    match backend {
        Backend::ZooKeeper => println!(
            "ZooKeeper ensemble {} (tickTime 200 ms), {trials} trials each\n",
            aeroguard_consensus::deployment::ZK_HOSTS
        ),
        Backend::Redis => println!(
            "Redis master through Sentinels {:?} (one replica), {trials} trials each\n",
            aeroguard_consensus::deployment::SENTINELS
        ),
    }
    let peer = |zk: &'static str| if backend == Backend::ZooKeeper { zk } else { "-" };
    println!(
        "| {:<44} | {:>5} | {:>10} | {:>10} | {:<22} |",
        "failover", "n", "p50 ms", "p99 ms", "Kazoo, same machine"
    );
    println!("|{:-<46}|{:->7}|{:->12}|{:->12}|{:-<24}|", "", "", "", "", "");
    row(
        "(a) leader resigns -> next elected",
        resign_failover(backend, trials, &run).await,
        peer("13-16 ms"),
    );
    row(
        "(b) leader killed -> next elected, 2 s session",
        kill_failover(backend, trials, Duration::from_secs(2), &run).await,
        peer("2.7 s"),
    );
    row(
        "(b) leader killed -> next elected, 10 s session",
        kill_failover(backend, trials, Duration::from_secs(10), &run).await,
        "-",
    );
    let (single, pipelined) = queue_throughput(backend, items, &run).await;
    println!(
        "\n| {:<44} | {:>12} | {:<22} |",
        "queue put + take + ack", "items/s", "Kazoo, same machine"
    );
    println!("|{:-<46}|{:->14}|{:-<24}|", "", "", "");
    println!("| {:<44} | {:>12.0} | {:<22} |", "one at a time", single, "-");
    println!(
        "| {:<44} | {:>12.0} | {:<22} |",
        format!("pipelined ({items} items, batches of 256)"),
        pipelined,
        peer("about 300")
    );
    if backend == Backend::Redis {
        let points = items as usize * 10;
        let (appended, read, queries) = history_throughput(points, &run).await;
        println!("\n| {:<44} | {:>12} |", "fenced history", "per second");
        println!("|{:-<46}|{:->14}|", "", "");
        println!(
            "| {:<44} | {:>12.0} |",
            format!("append, {points} points, batches of 500"),
            appended
        );
        println!(
            "| {:<44} | {:>12.0} |",
            "range query of 1,000 points: points", read
        );
        println!(
            "| {:<44} | {:>12.0} |",
            "range query of 1,000 points: queries", queries
        );
    }
}
