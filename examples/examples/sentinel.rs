//! The analysis service: fused readings in over HTTP, the M-of-N ensemble's verdicts out, history kept in Redis
//! (through Sentinel) with `--redis`, in memory otherwise. Every route but `/health` needs an API key; see
//! `aeroguard_examples::sentinel` for the routes.
//!
//! ```text
//! # A key per node (and one for Prometheus): the key is printed once, its digest appended to keys.txt
//! cargo run -p aeroguard-examples --example sentinel -- --keygen n1 --keys keys.txt
//! cargo run -p aeroguard-examples --example sentinel -- --keygen prometheus --role reader --keys keys.txt
//! cargo run -p aeroguard-examples --example sentinel -- --keys keys.txt [--listen 127.0.0.1:8080] [--redis]
//! curl -s localhost:8080/health
//! curl -s -H "Authorization: Bearer $KEY" -XPOST localhost:8080/ingest \
//!      -d '{"series":"pump-1","token":1,"readings":[{"at":0,"values":[4.0,60.1,12.2]}]}'
//! curl -s -H "Authorization: Bearer $KEY" 'localhost:8080/verdicts?series=pump-1&limit=5'
//! ```
//! With `--cluster redis|zookeeper` a posted token must be the grant the posting node holds in the series'
//! election on that cluster (`--election`, default the series' name); without it, the fence refuses tokens
//! lower than the highest seen.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use aeroguard_consensus::history::{HistoryStore, MemoryHistory};
use aeroguard_examples::backend::Backend;
use aeroguard_examples::sentinel::{
    ApiKeys, Grants, Limits, Role, Sentinel, SentinelOptions, SeriesModel, key_line, new_key, router, serve,
};
use clap::Parser;

/// The analysis service: fused readings in on `POST /ingest`, the M-of-N ensemble's verdicts out on
/// `GET /verdicts`, the history on `GET /history`, Prometheus metrics on `GET /metrics`. Every route but
/// `/health` needs an API key from `--keys` (make them with `--keygen`) unless started `--insecure`.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "HOST:PORT")]
    listen: String,
    /// The keys file: one `identity role sha256:<digest>` line per caller.
    #[arg(long, value_name = "FILE")]
    keys: Option<PathBuf>,
    /// Serve without keys: anyone who can reach the port may post and read. Only for a closed test network.
    #[arg(long, conflicts_with = "keys")]
    insecure: bool,
    /// Make a key for IDENTITY, append its digest to the `--keys` file, print the key, and exit.
    #[arg(long, value_name = "IDENTITY", requires = "keys")]
    keygen: Option<String>,
    /// The role of the `--keygen` identity.
    #[arg(long, value_enum, default_value = "node", requires = "keygen")]
    role: RoleArg,
    /// Keep the history in Redis (through the Sentinels of `scripts/services start`, as the service's own ACL
    /// user, under the key prefix aeroguard-svc), not in memory.
    #[arg(long)]
    redis: bool,
    /// Check posted tokens against the current grants of the cluster's elections on this backend.
    #[arg(long, value_enum, value_name = "BACKEND")]
    cluster: Option<Backend>,
    /// The election of a series, with `{series}` for its name.
    #[arg(
        long,
        default_value = "{series}",
        value_name = "TEMPLATE",
        requires = "cluster"
    )]
    election: String,
    /// Readings per series that train its model before verdicts begin.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(50..=1_000_000))]
    train_rows: u64,
    /// The most series the service holds (and labels in its metrics).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    max_series: u64,
    /// What each series fits: `classic` (rules, k-means, isolation forest, 2 of 3), `full` (adds the
    /// convolutional autoencoder, the LSTM, the level shift and the relations member, which decides unless all six
    /// others agree), both for a plant's several sensors; or `surprise` (the surprise detector alone, for single
    /// metrics whose faults are spikes and sudden changes; at least 131 training rows; about 140 KB a series of
    /// one value once streamed, so size --max-series with it).
    #[arg(long, alias = "ensemble", value_enum, default_value = "classic")]
    model: ModelArg,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ModelArg {
    Classic,
    Full,
    Surprise,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum RoleArg {
    Node,
    Reader,
}

/// Makes a key for `identity`, appends its line to `file` and prints the key.
fn keygen(identity: &str, role: Role, file: &std::path::Path) -> ExitCode {
    if let Err(e) = identity.parse::<aeroguard_core::NodeId>() {
        eprintln!("error: --keygen {identity:?}: {e}");
        return ExitCode::from(2);
    }
    let key = new_key();
    let line = key_line(identity, role, &key);
    let mut text = std::fs::read_to_string(file).unwrap_or_default();
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&line);
    text.push('\n');
    if let Err(e) = ApiKeys::parse(&text).map(drop).and_then(|()| {
        std::fs::write(file, &text)
            .map_err(|e| aeroguard_examples::Error::io(format!("write {}", file.display()), e))
    }) {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    eprintln!(
        "{identity} ({}) added to {}; its key (shown once):",
        role.as_str(),
        file.display()
    );
    println!("{key}");
    ExitCode::SUCCESS
}

#[tokio::main]
async fn main() -> ExitCode {
    aeroguard_examples::init_tracing();
    let cli = Cli::parse();
    let role = match cli.role {
        RoleArg::Node => Role::Node,
        RoleArg::Reader => Role::Reader,
    };
    if let (Some(identity), Some(file)) = (&cli.keygen, &cli.keys) {
        return keygen(identity, role, file);
    }
    let keys = match (&cli.keys, cli.insecure) {
        (Some(path), _) => match ApiKeys::load(path) {
            Ok(k) if k.is_empty() => {
                eprintln!(
                    "error: {} lists no keys: add one with --keygen IDENTITY --keys {}",
                    path.display(),
                    path.display()
                );
                return ExitCode::from(2);
            }
            Ok(k) => Some(k),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        },
        (None, true) => None,
        (None, false) => {
            eprintln!(
                "error: refusing to serve without API keys: give --keys FILE (make keys with --keygen IDENTITY --keys FILE), or --insecure for a closed test network"
            );
            return ExitCode::from(2);
        }
    };
    let mut options = SentinelOptions::new(keys, cli.train_rows as usize);
    options.max_series = cli.max_series as usize;
    options.model = match cli.model {
        ModelArg::Classic => SeriesModel::Ensemble(aeroguard_detect::EnsembleRecipe::default()),
        ModelArg::Full => SeriesModel::Ensemble(aeroguard_detect::EnsembleRecipe::full()),
        ModelArg::Surprise => SeriesModel::Surprise(aeroguard_detect::Surprise::default()),
    };
    if let Err(e) = options.check() {
        eprintln!("error: --train-rows {}: {e}", cli.train_rows);
        return ExitCode::from(2);
    }
    if let Some(backend) = cli.cluster {
        match backend.connect("sentinel-service", Duration::from_secs(4)).await {
            Ok(c) => options = options.with_grants(Grants::new(c, &cli.election)),
            Err(e) => {
                eprintln!("error: the cluster's {} (for grants): {e}", backend.name());
                return ExitCode::FAILURE;
            }
        }
    }
    let (history, name): (Arc<dyn HistoryStore>, &'static str) = if cli.redis {
        match aeroguard_examples::backend::service_history().await {
            Ok(h) => (Arc::new(h), "redis"),
            Err(e) => {
                eprintln!("error: Redis through Sentinel: {e} (run `scripts/services start`)");
                return ExitCode::FAILURE;
            }
        }
    } else {
        (Arc::new(MemoryHistory::new()), "memory")
    };
    let listen = cli.listen;
    let listener = match tokio::net::TcpListener::bind(&listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: cannot listen on {listen}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let checks = match (&options.keys, &options.grants) {
        (None, _) => "INSECURE: no keys, anyone may post".to_string(),
        (Some(k), Some(_)) => format!("{} keys, tokens checked against the cluster's grants", k.len()),
        (Some(k), None) => format!(
            "{} keys, tokens fenced by the highest seen (no --cluster)",
            k.len()
        ),
    };
    // The bound address, so `--listen 127.0.0.1:0` tells where it landed.
    let bound = listener.local_addr().map_or(listen, |a| a.to_string());
    println!(
        "sentinel listening on http://{bound} (history: {name}; {checks}; {} model trained on the first {} rows per series)",
        format!("{:?}", cli.model).to_lowercase(),
        options.train_rows
    );
    match serve(
        listener,
        router(Sentinel::new(history, name, options)),
        Limits::default(),
    )
    .await
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
