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

use std::time::{Duration, Instant};

use aeroguard_consensus::deployment::{Backend, SENTINELS, ZK_HOSTS, services_credential};
use aeroguard_testkit::bench::{cluster, history_throughput, percentile, queue_throughput, resign_failover};
use clap::Parser;
use zookeeper_client as zk;

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

/// Commands one queue item needs on Redis: `XADD`, `XACK`, `XDEL` (`XREADGROUP` is shared by a batch).
const REDIS_COMMANDS_PER_ITEM: f64 = 3.0;
/// Writes one queue item needs on ZooKeeper: create the item, create the claim, delete both (one `multi`).
const ZK_WRITES_PER_ITEM: f64 = 4.0;
/// Points per history append (and members per raw `ZADD`).
const BATCH: usize = 500;

async fn redis_master() -> redis::aio::MultiplexedConnection {
    let client = |addr: &str, credential: &str| {
        let auth = services_credential(credential).expect("the services' credentials");
        let (user, password) = auth.split_once(':').unwrap_or(("", ""));
        match services_credential("AEROGUARD_REDIS_CA") {
            Ok(ca) if !ca.is_empty() => redis::Client::build_with_tls(
                format!("rediss://{user}:{password}@{addr}"),
                redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(std::fs::read(ca).expect("the services' CA")),
                },
            ),
            _ => redis::Client::open(format!("redis://{user}:{password}@{addr}")),
        }
        .expect("a Redis URL")
    };
    let mut sentinel = client(SENTINELS[0], "AEROGUARD_SENTINEL_AUTH")
        .get_multiplexed_async_connection()
        .await
        .expect("Sentinel reachable: run `scripts/services start`");
    let (host, port): (String, u16) = redis::cmd("SENTINEL")
        .arg("get-master-addr-by-name")
        .arg("aeroguard")
        .query_async(&mut sentinel)
        .await
        .expect("Sentinel names the master");
    client(&format!("{host}:{port}"), "AEROGUARD_REDIS_AUTH")
        .get_multiplexed_async_connection()
        .await
        .expect("the master reachable")
}

/// `n` small entries `XADD`ed to `key`, 500 per pipeline, one pipeline at a time (as the queue puts).
async fn xadd_pipelined(c: &mut redis::aio::MultiplexedConnection, key: &str, n: u32) {
    for chunk in (0..n).collect::<Vec<_>>().chunks(BATCH) {
        let mut pipe = redis::pipe();
        for i in chunk {
            pipe.cmd("XADD")
                .arg(key)
                .arg("*")
                .arg("d")
                .arg(&i.to_be_bytes()[..])
                .ignore();
        }
        pipe.query_async::<()>(c).await.expect("XADD");
    }
}

/// Pipelined `XADD` of `n` small entries, 500 per pipeline, one pipeline at a time (as the queue puts).
async fn xadd_limit(c: &mut redis::aio::MultiplexedConnection, key: &str, n: u32) -> f64 {
    let start = Instant::now();
    xadd_pipelined(c, key, n).await;
    let rate = f64::from(n) / start.elapsed().as_secs_f64();
    let _: () = redis::cmd("DEL").arg(key).query_async(c).await.expect("DEL");
    rate
}

/// The queue's own commands, raw: pipelined `XADD` of `n` entries as [`xadd_limit`], then `XREADGROUP` of 256 at
/// a time, each batch's `XACK` and `XDEL` in one pipeline (no claims checked, no scripts, no reclaiming), items
/// per second. `XREADGROUP` sends the replicas one `XCLAIM` per entry it delivers, so an item costs the
/// replication stream two entries where a bare `XADD` costs one.
async fn stream_pattern_limit(c: &mut redis::aio::MultiplexedConnection, key: &str, n: u32) -> f64 {
    let _: () = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(key)
        .arg("g")
        .arg("0")
        .arg("MKSTREAM")
        .query_async(c)
        .await
        .expect("XGROUP CREATE");
    let start = Instant::now();
    xadd_pipelined(c, key, n).await;
    let mut done = 0;
    while done < n {
        let reply: redis::streams::StreamReadReply = redis::cmd("XREADGROUP")
            .arg("GROUP")
            .arg("g")
            .arg("c")
            .arg("COUNT")
            .arg(256)
            .arg("STREAMS")
            .arg(key)
            .arg(">")
            .query_async(c)
            .await
            .expect("XREADGROUP");
        let ids: Vec<String> = reply.keys.into_iter().flat_map(|k| k.ids).map(|e| e.id).collect();
        if ids.is_empty() {
            break;
        }
        done += ids.len() as u32;
        let mut pipe = redis::pipe();
        pipe.cmd("XACK").arg(key).arg("g").arg(&ids).ignore();
        pipe.cmd("XDEL").arg(key).arg(&ids).ignore();
        pipe.query_async::<()>(c).await.expect("XACK, XDEL");
    }
    let rate = f64::from(done) / start.elapsed().as_secs_f64();
    let _: () = redis::cmd("DEL").arg(key).query_async(c).await.expect("DEL");
    rate
}

/// `ZADD` of `points` members, 500 per command, eight commands in flight (as the history appends).
async fn zadd_limit(c: &redis::aio::MultiplexedConnection, key: &str, points: usize) -> f64 {
    let start = Instant::now();
    let mut in_flight = tokio::task::JoinSet::new();
    for b in 0..points.div_ceil(BATCH) {
        if in_flight.len() >= 8 {
            in_flight.join_next().await.expect("a task").expect("joined");
        }
        let (mut c, key) = (c.clone(), key.to_string());
        in_flight.spawn(async move {
            let mut cmd = redis::cmd("ZADD");
            cmd.arg(&key);
            for i in b * BATCH..((b + 1) * BATCH).min(points) {
                cmd.arg(i).arg(format!("{{\"at\":{i},\"value\":{}.5}}", i % 1000));
            }
            cmd.query_async::<()>(&mut c).await.expect("ZADD");
        });
    }
    while let Some(r) = in_flight.join_next().await {
        r.expect("joined");
    }
    let rate = points as f64 / start.elapsed().as_secs_f64();
    let _: () = redis::cmd("DEL")
        .arg(key)
        .query_async(&mut c.clone())
        .await
        .expect("DEL");
    rate
}

async fn zk_client() -> zk::Client {
    let mut connector = zk::Client::connector();
    let auth = services_credential("AEROGUARD_ZK_AUTH").unwrap_or_default();
    if !auth.is_empty() {
        connector = connector.with_auth("digest", auth.as_bytes());
    }
    connector
        .with_session_timeout(Duration::from_secs(10))
        .with_server_version(3, 8, 0)
        .connect(ZK_HOSTS)
        .await
        .expect("ZooKeeper reachable: run `scripts/services start`")
}

/// Pipelined creates of `n` small persistent sequential znodes (1,000 requests in flight), then one write
/// round-trip at a time (create + delete, `trials` times): (creates per s, round-trip p50, p99).
async fn zk_limits(client: &zk::Client, parent: &str, n: u32, trials: usize) -> (f64, Duration, Duration) {
    let opts = zk::CreateMode::Persistent.with_acls(zk::Acls::creator_all());
    client
        .create(parent, b"", &opts)
        .await
        .expect("create the parent");
    let seq = zk::CreateMode::PersistentSequential.with_acls(zk::Acls::creator_all());
    let prefix = format!("{parent}/i-");
    let start = Instant::now();
    let mut created = Vec::with_capacity(n as usize);
    for chunk in (0..n).collect::<Vec<_>>().chunks(1000) {
        let pending: Vec<_> = chunk
            .iter()
            .map(|i| client.create(&prefix, &i.to_be_bytes(), &seq))
            .collect();
        for p in pending {
            created.push(p.await.expect("create").1);
        }
    }
    let rate = f64::from(n) / start.elapsed().as_secs_f64();
    let mut rtt = Vec::with_capacity(trials);
    let one = format!("{parent}/one");
    for _ in 0..trials {
        let t = Instant::now();
        client.create(&one, b"", &opts).await.expect("create");
        rtt.push(t.elapsed());
        client.delete(&one, None).await.expect("delete");
    }
    rtt.sort();
    for chunk in created.chunks(1000) {
        let pending: Vec<_> = chunk
            .iter()
            .map(|s| client.delete(&format!("{prefix}{s}"), None))
            .collect();
        for p in pending {
            p.await.expect("delete");
        }
    }
    client.delete(parent, None).await.expect("delete the parent");
    (rate, percentile(&rtt, 0.5), percentile(&rtt, 0.99))
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
