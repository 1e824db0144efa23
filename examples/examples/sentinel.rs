//! The analysis service: fused readings in over HTTP, the M-of-N ensemble's verdicts out, history kept in Redis
//! (through Sentinel) with `--redis`, in memory otherwise. See `aeroguard_examples::sentinel` for the routes.
//!
//! ```text
//! cargo run -p aeroguard-examples --example sentinel -- [--listen 127.0.0.1:8080] [--redis] [--train-rows 200]
//! curl -s localhost:8080/health
//! curl -s -XPOST localhost:8080/ingest -d '{"series":"pump-1","token":1,"readings":[{"at":0,"values":[4.0,60.1,12.2]}]}'
//! curl -s 'localhost:8080/verdicts?series=pump-1&limit=5'; curl -s localhost:8080/metrics
//! cargo run -p aeroguard-examples --example sensor_cluster -- --rounds 300 --post 127.0.0.1:8080
//! ```

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use aeroguard_consensus::history::{HistoryStore, MemoryHistory};
use aeroguard_consensus::redis::RedisCoordinator;
use aeroguard_examples::backend::Backend;
use aeroguard_examples::sentinel::{Sentinel, router};
use clap::Parser;

/// The analysis service: fused readings in on `POST /ingest`, the M-of-N ensemble's verdicts out on
/// `GET /verdicts`, the history on `GET /history`, Prometheus metrics on `GET /metrics`.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "HOST:PORT")]
    listen: String,
    /// Keep the history in Redis (through the Sentinels of `scripts/services start`), not in memory.
    #[arg(long)]
    redis: bool,
    /// Readings per series that train its ensemble before verdicts begin.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(50..=1_000_000))]
    train_rows: u64,
}

#[tokio::main]
async fn main() -> ExitCode {
    aeroguard_examples::init_tracing();
    let Cli {
        listen,
        redis,
        train_rows,
    } = Cli::parse();
    let train_rows = train_rows as usize;
    let (history, name): (Arc<dyn HistoryStore>, &'static str) = if redis {
        let options = match Backend::redis_options(Duration::from_secs(4)) {
            Ok(o) => o,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        };
        let Ok(node) = "sentinel-service".parse() else {
            return ExitCode::FAILURE;
        };
        match RedisCoordinator::connect(node, options).await {
            Ok(c) => (Arc::new(c.history()), "redis"),
            Err(e) => {
                eprintln!("error: Redis through Sentinel: {e} (run `scripts/services start`)");
                return ExitCode::FAILURE;
            }
        }
    } else {
        (Arc::new(MemoryHistory::new()), "memory")
    };
    let listener = match tokio::net::TcpListener::bind(&listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: cannot listen on {listen}: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "sentinel listening on http://{listen} (history: {name}, ensemble trained on the first {train_rows} rows per series)"
    );
    match axum::serve(listener, router(Sentinel::new(history, name, train_rows))).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
