//! `aeroguard-sentinel`: the analysis service. Fused readings in over HTTP, the M-of-N ensemble's verdicts out,
//! history kept in Redis (through Sentinel) with `--redis`, in memory otherwise. Every route but `/health`
//! needs an API key; the library's docs list the routes.
//!
//! ```text
//! # A key per node (and one for Prometheus): the key is printed once, its digest appended to keys.txt
//! aeroguard-sentinel --keygen n1 --keys keys.txt
//! aeroguard-sentinel --keygen prometheus --role reader --keys keys.txt
//! aeroguard-sentinel --keys keys.txt [--listen 127.0.0.1:8080] [--redis]
//! aeroguard-sentinel --config sentinel.toml          # the same settings from a file; flags override it
//! curl -s localhost:8080/health
//! curl -s -H "Authorization: Bearer $KEY" -XPOST localhost:8080/ingest \
//!      -d '{"series":"pump-1","token":1,"readings":[{"at":0,"values":[4.0,60.1,12.2]}]}'
//! curl -s -H "Authorization: Bearer $KEY" 'localhost:8080/verdicts?series=pump-1&limit=5'
//! ```
//! With `--cluster redis|zookeeper` a posted token must be the grant the posting node holds in the series'
//! election on that cluster (`--election`, default the series' name); without it, the fence refuses tokens
//! lower than the highest seen.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use aeroguard_consensus::deployment::Backend;
use aeroguard_consensus::history::{HistoryStore, MemoryHistory};
use aeroguard_sentinel::{
    ApiKeys, Grants, Limits, Role, Sentinel, SentinelOptions, key_line, new_key, router, serve,
};
use clap::Parser;

mod settings;

use settings::{Cli, Settings};

/// Every program of the crate allocates with mimalloc: the service allocates per row and per request on several
/// threads, where glibc's malloc spent a quarter of the time (arena locks, consolidation).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A start that cannot go on: the message, and the exit status (2 for what the user asked wrongly).
struct Refusal(String, u8);

/// Makes a key for `identity`, appends its line to `file` and prints the key.
fn keygen(identity: &str, role: Role, file: &std::path::Path) -> Result<(), Refusal> {
    if let Err(e) = identity.parse::<aeroguard_core::NodeId>() {
        return Err(Refusal(format!("--keygen {identity:?}: {e}"), 2));
    }
    let key = new_key();
    let mut text = std::fs::read_to_string(file).unwrap_or_default();
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&key_line(identity, role, &key));
    text.push('\n');
    ApiKeys::parse(&text)
        .map(drop)
        .and_then(|()| {
            std::fs::write(file, &text)
                .map_err(|e| aeroguard_sentinel::Error::io(format!("write {}", file.display()), e))
        })
        .map_err(|e| Refusal(e.to_string(), 1))?;
    eprintln!(
        "{identity} ({}) added to {}; its key (shown once):",
        role.as_str(),
        file.display()
    );
    println!("{key}");
    Ok(())
}

/// The keys the service accepts, or `None` when it runs insecure.
fn load_keys(settings: &Settings) -> Result<Option<ApiKeys>, Refusal> {
    match (&settings.keys, settings.insecure) {
        (Some(path), _) => match ApiKeys::load(path) {
            Ok(k) if k.is_empty() => Err(Refusal(
                format!(
                    "{} lists no keys: add one with --keygen IDENTITY --keys {}",
                    path.display(),
                    path.display()
                ),
                2,
            )),
            Ok(k) => Ok(Some(k)),
            Err(e) => Err(Refusal(e.to_string(), 2)),
        },
        (None, true) => Ok(None),
        (None, false) => Err(Refusal(
            "refusing to serve without API keys: give --keys FILE (make keys with --keygen IDENTITY --keys FILE), or --insecure for a closed test network".into(),
            2,
        )),
    }
}

/// The service's options from `settings`: keys, limits, the model, and the cluster whose grants are checked.
async fn options(settings: &Settings) -> Result<SentinelOptions, Refusal> {
    let mut options = SentinelOptions::new(load_keys(settings)?, settings.train_rows);
    options.max_series = settings.max_series;
    options.max_ahead = settings.max_ahead;
    options.rate = Some(settings.rate);
    options.model = settings.model.series_model();
    if let Err(e) = options.check() {
        return Err(Refusal(format!("--train-rows {}: {e}", settings.train_rows), 2));
    }
    if let Some(backend) = settings.cluster {
        let connected = match backend {
            // Read-only, as the service's own user: not with the cluster's write credential.
            Backend::Redis => aeroguard_sentinel::history::redis_grants()
                .await
                .map(|c| c as Arc<dyn aeroguard_consensus::Coordinator>),
            Backend::ZooKeeper => backend.connect("sentinel-service", Duration::from_secs(4)).await,
        };
        let cluster =
            connected.map_err(|e| Refusal(format!("the cluster's {backend} (for grants): {e}"), 1))?;
        options = options.with_grants(Grants::new(cluster, &settings.election));
    }
    Ok(options)
}

/// The history the service stores into, and its name for `/health`.
async fn history(settings: &Settings) -> Result<(Arc<dyn HistoryStore>, &'static str), Refusal> {
    if !settings.redis {
        return Ok((Arc::new(MemoryHistory::new()), "memory"));
    }
    match aeroguard_sentinel::history::redis_history().await {
        Ok(h) => Ok((Arc::new(h), "redis")),
        Err(e) => Err(Refusal(
            format!(
                "Redis through Sentinel: {e} (are the servers up? `scripts/services start` starts the test services)"
            ),
            1,
        )),
    }
}

async fn run(cli: Cli) -> Result<(), Refusal> {
    let settings = Settings::resolve(cli).map_err(|e| Refusal(e, 2))?;
    if let Some(identity) = &settings.keygen {
        let file = settings
            .keys
            .as_deref()
            .ok_or_else(|| Refusal("--keygen needs --keys FILE".into(), 2))?;
        return keygen(identity, settings.role, file);
    }
    let options = options(&settings).await?;
    let (history, name) = history(&settings).await?;
    let listener = aeroguard_sentinel::bind(&settings.listen)
        .await
        .map_err(|e| Refusal(format!("cannot listen on {}: {e}", settings.listen), 1))?;
    let checks = match (&options.keys, &options.grants) {
        (None, _) => "INSECURE: no keys, anyone may post".to_string(),
        (Some(k), Some(_)) => format!("{} keys, tokens checked against the cluster's grants", k.len()),
        (Some(k), None) => format!(
            "{} keys, tokens fenced by the highest seen (no --cluster)",
            k.len()
        ),
    };
    // The bound address, so `--listen 127.0.0.1:0` tells where it landed.
    let bound = listener
        .local_addr()
        .map_or(settings.listen.clone(), |a| a.to_string());
    println!(
        "sentinel listening on http://{bound} (history: {name}; {checks}; {} model trained on the first {} rows per series)",
        settings.model.name(),
        options.train_rows
    );
    serve(
        listener,
        router(Sentinel::new(history, name, options)),
        Limits {
            max_per_address: settings.max_per_address,
            ..Limits::default()
        },
    )
    .await
    .map_err(|e| Refusal(e.to_string(), 1))
}

#[tokio::main]
async fn main() -> ExitCode {
    aeroguard_sentinel::logging::init("warn,aeroguard_sentinel=info");
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(Refusal(message, status)) => {
            eprintln!("error: {message}");
            ExitCode::from(status)
        }
    }
}
