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
use aeroguard_examples::arg_value;
use aeroguard_examples::backend::Backend;
use aeroguard_examples::sentinel::{Sentinel, router};

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let listen: String = arg_value(&args, "--listen").unwrap_or_else(|| "127.0.0.1:8080".into());
    let train_rows: usize = arg_value(&args, "--train-rows").unwrap_or(200);
    let (history, name): (Arc<dyn HistoryStore>, &'static str) = if args.iter().any(|a| a == "--redis") {
        let options = Backend::redis_options(Duration::from_secs(4));
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
