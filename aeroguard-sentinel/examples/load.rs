//! A load generator for the analysis service: many series over many kept-alive connections on `POST /ingest`,
//! authenticated with a node's key. It reports rows per second scored, request latency (p50, p99, max) and the
//! service's memory per series.
//!
//! ```text
//! cargo run --release -p aeroguard-sentinel --example load                 # the service in-process, memory history
//! cargo run --release -p aeroguard-sentinel --example load -- --ensemble classic --seconds 5
//! cargo run --release -p aeroguard-sentinel --example load -- --addr 127.0.0.1:8080 --key "$KEY"  # a running one
//! ```
//!
//! In-process (the default), the service runs on the same two worker threads as the generator, with its own
//! key and the memory history, so the figures are the whole machine's: service and clients share its cores.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aeroguard_consensus::history::MemoryHistory;
use aeroguard_sentinel::{
    ApiKeys, Limits, Role, Sentinel, SentinelOptions, SeriesModel, key_line, new_key, router, serve,
};
use aeroguard_testkit::bench::percentile;
use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// As the service's binary does: the service allocates per row and per request on both workers, where glibc's
/// malloc spent a quarter of the time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Drives `POST /ingest` with many series over many connections and reports throughput and latency.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    /// Series posted (each owned by one connection, so its readings stay in order).
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    series: u32,
    /// Connections, each with one request in flight.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=1_000))]
    connections: u32,
    /// Rows per request.
    #[arg(long, default_value_t = 15, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    rows: u32,
    /// Values per row.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=256))]
    width: u32,
    /// How long the timed phase runs, in seconds.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3_600))]
    seconds: u64,
    /// Rows that train each series' ensemble (posted first, not timed).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(50..=100_000))]
    train_rows: u32,
    /// The ensemble of the in-process service: `full` (eight members: five weighing 1, the three level members
    /// weighing 3, 5 needed) or `classic` (three, 2 of 3).
    #[arg(long, value_enum, default_value = "full")]
    ensemble: EnsembleArg,
    /// A running service to drive instead of one in-process (needs `--key`).
    #[arg(long, value_name = "HOST:PORT", requires = "key")]
    addr: Option<String>,
    /// A node's API key for `--addr`.
    #[arg(long, env = "AEROGUARD_LOAD_KEY", hide_env_values = true)]
    key: Option<String>,
}

/// Training requests in flight (each fits a series' ensemble, seconds of CPU for the full one).
const TRAINING_IN_FLIGHT: u32 = 4;

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum EnsembleArg {
    Classic,
    Full,
}

/// The service's resident memory, from `/proc/self/status` (in-process only), in bytes.
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Row `t` of series `s`: slow sines with a little deterministic noise, one value per channel.
fn row(s: u32, t: u64, width: u32) -> String {
    let mut out = String::with_capacity(16 * width as usize);
    for j in 0..width {
        let x = t as f64 * 0.05 + f64::from(j) * 0.7 + f64::from(s) * 0.13;
        let noise = ((t * 7919 + u64::from(j) * 104_729 + u64::from(s) * 31) % 1000) as f64 / 10_000.0;
        if j > 0 {
            out.push(',');
        }
        // Four decimals from integers: float formatting would cost the generator more than the service.
        let v = ((10.0 + x.sin() + noise) * 10_000.0).round() as i64;
        out.push_str(&format!("{}.{:04}", v / 10_000, v % 10_000));
    }
    out
}

/// The body of one request: `rows` readings of series `s` from time step `t0`.
fn body(s: u32, t0: u64, rows: u32, width: u32) -> Bytes {
    let readings: Vec<String> = (0..u64::from(rows))
        .map(|i| {
            let t = t0 + i;
            format!(
                "{{\"at\":{},\"values\":[{}]}}",
                1_700_000_000_000 + t * 1000,
                row(s, t, width)
            )
        })
        .collect();
    Bytes::from(format!(
        "{{\"series\":\"load-{s}\",\"token\":1,\"readings\":[{}]}}",
        readings.join(",")
    ))
}

struct Target {
    client: Client<HttpConnector, Full<Bytes>>,
    uri: String,
    auth: String,
}

impl Target {
    /// Posts `body`; the rows the service accepted, or why not.
    async fn post(&self, body: Bytes) -> Result<u64, String> {
        let request = hyper::Request::post(&self.uri)
            .header("content-type", "application/json")
            .header("authorization", &self.auth)
            .body(Full::new(body))
            .map_err(|e| e.to_string())?;
        let response = self.client.request(request).await.map_err(|e| {
            // The client's message alone is "client error (Connect)": the causes say what happened.
            let mut text = format!("{} unreachable: {e}", self.uri);
            let mut cause = std::error::Error::source(&e);
            while let Some(c) = cause {
                text.push_str(&format!(": {c}"));
                cause = c.source();
            }
            text
        })?;
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        if !status.is_success() {
            return Err(format!("{status}: {}", String::from_utf8_lossy(&bytes)));
        }
        let v: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
        v["accepted"]
            .as_u64()
            .ok_or_else(|| format!("no `accepted` in {v}"))
    }
}

/// The service to load: the one at `--addr` with `--key`, or one started in this process (`true`).
async fn service(cli: &Cli) -> (String, String, bool) {
    if let (Some(addr), Some(key)) = (&cli.addr, &cli.key) {
        return (addr.clone(), key.clone(), false);
    }
    let key = new_key();
    let keys = ApiKeys::parse(&key_line("loadgen", Role::Node, &key)).expect("a key line");
    let mut options = SentinelOptions::new(Some(keys), cli.train_rows as usize);
    options.max_series = cli.series as usize;
    // One key drives every connection as fast as the service answers: capacity is what is measured, so
    // no rate applies.
    options.rate = None;
    options.model = SeriesModel::Ensemble(match cli.ensemble {
        EnsembleArg::Classic => aeroguard_detect::EnsembleRecipe::default(),
        EnsembleArg::Full => aeroguard_detect::EnsembleRecipe::full(),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let addr = listener.local_addr().expect("its address").to_string();
    let app = router(Sentinel::new(Arc::new(MemoryHistory::new()), "memory", options));
    let limits = Limits {
        max_per_address: (cli.connections as usize).max(Limits::default().max_per_address),
        ..Limits::default()
    };
    tokio::spawn(serve(listener, app, limits));
    (addr, key, true)
}

/// Training: every series gets its first rows (not timed), a few at a time: each request fits an ensemble.
async fn train(cli: &Cli, target: &Arc<Target>) -> Result<Duration, String> {
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..TRAINING_IN_FLIGHT {
        let (target, cli_rows, width) = (target.clone(), cli.train_rows, cli.width);
        let owned: Vec<u32> = (c..cli.series).step_by(TRAINING_IN_FLIGHT as usize).collect();
        tasks.spawn(async move {
            for s in owned {
                target.post(body(s, 0, cli_rows, width)).await?;
            }
            Ok::<(), String>(())
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.expect("joined")?;
    }
    Ok(started.elapsed())
}

/// The timed phase: every connection round-robins its own series, one request in flight; the rows accepted,
/// every request's latency, and the seconds it ran.
async fn load(
    cli: &Cli,
    target: &Arc<Target>,
    connections: u32,
) -> Result<(u64, Vec<Duration>, f64), String> {
    let deadline = Instant::now() + Duration::from_secs(cli.seconds);
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..connections {
        let target = target.clone();
        let (rows, width, train) = (cli.rows, cli.width, u64::from(cli.train_rows));
        let owned: Vec<u32> = (c..cli.series).step_by(connections as usize).collect();
        tasks.spawn(async move {
            let mut next = vec![train; owned.len()];
            let (mut accepted, mut latencies) = (0u64, Vec::new());
            let mut i = 0;
            while Instant::now() < deadline {
                let body = body(owned[i], next[i], rows, width);
                let t = Instant::now();
                let taken = target.post(body).await?;
                if taken != u64::from(rows) {
                    return Err(format!("load-{}: {taken} of {rows} rows accepted", owned[i]));
                }
                accepted += taken;
                latencies.push(t.elapsed());
                next[i] += u64::from(rows);
                i = (i + 1) % owned.len();
            }
            Ok::<_, String>((accepted, latencies))
        });
    }
    let (mut accepted, mut latencies) = (0u64, Vec::new());
    while let Some(r) = tasks.join_next().await {
        let (a, l) = r.expect("joined")?;
        accepted += a;
        latencies.extend(l);
    }
    latencies.sort();
    Ok((accepted, latencies, started.elapsed().as_secs_f64()))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> std::process::ExitCode {
    aeroguard_sentinel::logging::init("warn");
    let cli = Cli::parse();
    let connections = cli.connections.min(cli.series);
    let rss_before = rss();
    let (addr, key, in_process) = service(&cli).await;
    let target = Arc::new(Target {
        client: Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(connections as usize)
            .build_http(),
        uri: format!("http://{addr}/ingest"),
        auth: format!("Bearer {key}"),
    });
    let trained = match train(&cli, &target).await {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error while training: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let rss_trained = rss();
    let (accepted, latencies, secs) = match load(&cli, &target, connections).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error under load: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let against = if in_process {
        format!(
            ", in-process service ({:?} ensemble, memory history)",
            cli.ensemble
        )
    } else {
        format!(" against {addr}")
    };
    println!(
        "{} series, {connections} connections, {} rows per request, {} values per row, {} s{against}",
        cli.series, cli.rows, cli.width, cli.seconds
    );
    println!(
        "training: {} series x {} rows in {:.1} s",
        cli.series,
        cli.train_rows,
        trained.as_secs_f64()
    );
    println!("| rows/s scored | requests/s | p50 ms | p99 ms | max ms | rows |");
    println!("|---:|---:|---:|---:|---:|---:|");
    println!(
        "| {:.0} | {:.0} | {:.2} | {:.2} | {:.2} | {accepted} |",
        accepted as f64 / secs,
        latencies.len() as f64 / secs,
        ms(percentile(&latencies, 0.5)),
        ms(percentile(&latencies, 0.99)),
        ms(*latencies.last().unwrap_or(&Duration::ZERO)),
    );
    if in_process {
        println!(
            "memory: {:.1} MiB before, {:.1} MiB with {} trained series: {:.0} KiB per series (model and state, \
             training rows in the memory history included)",
            rss_before as f64 / 1048576.0,
            rss_trained as f64 / 1048576.0,
            cli.series,
            rss_trained.saturating_sub(rss_before) as f64 / 1024.0 / f64::from(cli.series)
        );
    }
    std::process::ExitCode::SUCCESS
}
