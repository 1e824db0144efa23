//! The physical limit beside the project's figure, in one run, on the services of `scripts/services start`:
//! first each server's raw limit (pipelined `XADD` and `ZADD` on the Redis master, pipelined znode creates on
//! the ZooKeeper ensemble, one write round-trip), then the project's queue, history and election figures on
//! the same servers, and the ratios against the project's targets. The Redis queue and the history are
//! measured `--repeats` times, each beside a fresh `XADD` or `ZADD` limit, and the median ratio shown.
//!
//! ```text
//! bash scripts/services start && eval "$(bash scripts/services env)"
//! cargo run --release -p aeroguard-benches --example limits [-- --items 20000 --trials 200]
//! ```

use std::time::Duration;

mod raw;

use raw::*;

use aeroguard_consensus::deployment::Backend;
use aeroguard_testkit::bench::{cluster, history_throughput, percentile, queue_throughput, resign_failover};
use clap::Parser;

/// The programs allocate with mimalloc, as the node and the service do.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The physical limits of the test services beside the project's figures, as ratios, in one run.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    /// Queue items per backend (raw writes and history points scale with it).
    #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u32).range(1_000..=1_000_000))]
    items: u32,
    /// Election hand-overs per backend.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(10..=100_000))]
    trials: u64,
    /// Measurements of the Redis queue and of the history, each beside a fresh measurement of its limit (XADD,
    /// ZADD); the table gives the median ratio and the range (one short run on a shared machine swings by a
    /// third).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=50))]
    repeats: u64,
    /// Skip the Redis Cluster's table (its nodes are `AEROGUARD_REDIS_CLUSTER`).
    #[arg(long)]
    no_cluster: bool,
}

/// Series per cluster run: many, so that every master has work.
const CLUSTER_SERIES: usize = 48;

/// The history on the Redis Cluster: raw `ZADD` and fenced appends, with the series on one master and spread
/// over all three, and the scaling from one to three.
async fn cluster_table(run: &str, points: usize) {
    let one = cluster::series(run, CLUSTER_SERIES, false).await;
    let three = cluster::series(run, CLUSTER_SERIES, true).await;
    let points = points / cluster::BATCH * cluster::BATCH;
    let zadd1 = cluster::costed(points, cluster::zadd_limit(&one, points)).await;
    let zadd3 = cluster::costed(points, cluster::zadd_limit(&three, points)).await;
    let hist1 = cluster::costed(points, cluster::history_throughput(&one, points)).await;
    let hist3 = cluster::costed(points, cluster::history_throughput(&three, points)).await;
    println!(
        "\nRedis Cluster (3 masters, 1 replica each), {CLUSTER_SERIES} series, {} batches of 500 in flight:\n",
        cluster::IN_FLIGHT
    );
    println!(
        "| {:<28} | {:>10} | {:>10} | {:>6} | {:>12} | {:>12} |",
        "points/s", "1 master", "3 masters", "3 / 1", "server µs/pt", "client µs/pt"
    );
    println!(
        "|{:-<30}|{:->12}|{:->12}|{:->8}|{:->14}|{:->14}|",
        "", "", "", "", "", ""
    );
    for (what, a, b) in [
        ("raw ZADD x500", zadd1, zadd3),
        ("fenced history append", hist1, hist3),
    ] {
        println!(
            "| {what:<28} | {:>10.0} | {:>10.0} | {:>5.2}x | {:>5.2} / {:<4.2} | {:>5.2} / {:<4.2} |",
            a.rate,
            b.rate,
            b.rate / a.rate,
            a.server_us,
            b.server_us,
            a.client_us,
            b.client_us
        );
    }
    println!(
        "| {:<28} | {:>9.0}% | {:>9.0}% | {:>6} | {:>12} | {:>12} |",
        "history / raw ZADD",
        hist1.rate / zadd1.rate * 100.0,
        hist3.rate / zadd3.rate * 100.0,
        "",
        "",
        ""
    );
    // The model of DESIGN.md: a point costs `server` µs of CPU in the servers (its master and the replica that
    // copies it) and `client` µs in the client. A master-replica pair on a core of its own takes 1e6 / server
    // points/s, N pairs N times that, until the clients' cores run out; here all share the machine's cores.
    let cores = std::thread::available_parallelism().map_or(1, usize::from) as f64;
    let ceiling = cores * 1e6 / (hist3.server_us + hist3.client_us);
    println!(
        "\nScaling model (DESIGN.md): a fenced point costs {:.2} µs of server CPU (master + replica) and {:.2} µs \
         of client CPU. One master-replica pair per core: about {:.0} points/s per pair, N pairs N times that, \
         while each client core adds {:.0} points/s. On this machine's {cores} cores, shared by all six servers \
         and the client, the model's ceiling is {ceiling:.0} points/s; measured {:.0} ({:.0} %).",
        hist3.server_us,
        hist3.client_us,
        1e6 / hist3.server_us,
        1e6 / hist3.client_us,
        hist3.rate,
        hist3.rate / ceiling * 100.0
    );
}

fn line(what: &str, project: String, limit: String, ratio: f64, target: &str) {
    let met = match target
        .strip_prefix(">= ")
        .and_then(|t| t.trim_end_matches('%').parse::<f64>().ok())
    {
        Some(t) if ratio * 100.0 >= t => "met",
        Some(_) => "NOT met",
        None => "",
    };
    println!(
        "| {what:<40} | {project:>14} | {limit:>22} | {:>6.1} % | {target:<8} {met:<7} |",
        ratio * 100.0
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    aeroguard_testkit::init_tracing();
    let cli = Cli::parse();
    let run = format!("{}", std::process::id());
    let items = cli.items;
    let points = items as usize * 10;
    println!(
        "Raw limits first, then the project's figures, on the same servers in one run ({items} items)\n"
    );
    let mut master = redis_master().await;
    // The Redis queue and its limit, measured in pairs; the median pair by ratio is the one shown.
    let mut pairs = Vec::new();
    for i in 0..cli.repeats {
        let xadd = xadd_limit(&mut master, &format!("aeroguard:limits:{run}:xadd"), items * 5).await;
        let pattern =
            stream_pattern_limit(&mut master, &format!("aeroguard:limits:{run}:pattern"), items).await;
        let (_, queue) = queue_throughput(Backend::Redis, items, &format!("{run}-{i}")).await;
        pairs.push((queue / (xadd / REDIS_COMMANDS_PER_ITEM), xadd, queue, pattern));
    }
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (queue_ratio, xadd, redis_queue, pattern) = pairs[pairs.len() / 2];
    // The history and its limit, the same way.
    let mut history = Vec::new();
    for i in 0..cli.repeats {
        let zadd = zadd_limit(&master, &format!("aeroguard:limits:{run}:zadd{i}"), points).await;
        let (appended, _, _) = history_throughput(points, &format!("{run}-h{i}")).await;
        history.push((appended / zadd, zadd, appended));
    }
    history.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (history_ratio, zadd, appended) = history[history.len() / 2];
    let zk = zk_client().await;
    let (creates, rtt50, rtt99) = zk_limits(&zk, &format!("/aeroguard-limits-{run}"), items, 200).await;
    let (_, zk_queue) = queue_throughput(Backend::ZooKeeper, items, &run).await;
    let mut handover = resign_failover(Backend::ZooKeeper, cli.trials as usize, &run).await;
    handover.sort();
    let (h50, h99) = (percentile(&handover, 0.5), percentile(&handover, 0.99));
    println!(
        "| {:<40} | {:>14} | {:>22} | {:>8} | {:<16} |",
        "what", "project", "limit", "ratio", "target"
    );
    println!("|{:-<42}|{:->16}|{:->24}|{:->10}|{:-<18}|", "", "", "", "", "");
    line(
        "Redis queue, pipelined (items/s)",
        format!("{redis_queue:.0}"),
        format!("XADD {xadd:.0} / 3 = {:.0}", xadd / REDIS_COMMANDS_PER_ITEM),
        queue_ratio,
        ">= 60%",
    );
    line(
        "  the same, against its raw commands",
        format!("{redis_queue:.0}"),
        format!("XREADGROUP+XACK+XDEL {pattern:.0}"),
        redis_queue / pattern,
        "",
    );
    line(
        "fenced history append (points/s)",
        format!("{appended:.0}"),
        format!("ZADD x500: {zadd:.0}"),
        history_ratio,
        ">= 50%",
    );
    line(
        "ZooKeeper queue, pipelined (items/s)",
        format!("{zk_queue:.0}"),
        format!("create {creates:.0} / 4 = {:.0}", creates / ZK_WRITES_PER_ITEM),
        zk_queue / (creates / ZK_WRITES_PER_ITEM),
        ">= 50%",
    );
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    line(
        "ZooKeeper hand-over p50 (ms)",
        format!("{:.2}", ms(h50)),
        format!("write RTT p50 {:.2}", ms(rtt50)),
        ms(rtt50) / ms(h50),
        "",
    );
    println!(
        "| {:<40} | {:>14} | {:>22} | {:>8} | {:<16} |",
        "ZooKeeper hand-over p99 (ms)",
        format!("{:.2}", ms(h99)),
        format!("write RTT p99 {:.2}", ms(rtt99)),
        "",
        if ms(h99) <= 5.0 {
            "<= 5 ms met"
        } else {
            "<= 5 ms NOT met"
        }
    );
    println!(
        "\nThe Redis queue's line is the median of {} pairs (queue, then a fresh XADD limit) by ratio; the ratios \
         ranged {:.0}-{:.0} %.\nThe history's line is the median of {} pairs (a fresh ZADD limit, then the \
         appends); the ratios ranged {:.0}-{:.0} %.",
        pairs.len(),
        pairs[0].0 * 100.0,
        pairs[pairs.len() - 1].0 * 100.0,
        history.len(),
        history[0].0 * 100.0,
        history[history.len() - 1].0 * 100.0
    );
    if !cli.no_cluster {
        cluster_table(&run, points).await;
    }
}
