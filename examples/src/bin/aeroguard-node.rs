//! A coordination node as its own process, for failure tests and the failover benchmark: kill it with
//! SIGKILL and watch the others take over.
//!
//! ```text
//! aeroguard-node --node ID [--backend zookeeper|redis] [--session-ms N] lead ELECTION
//!     campaigns forever; prints `elected <node> <token> <unix-ms>` and `lost <node> <reason>`
//! aeroguard-node --node ID [--backend zookeeper|redis] [--session-ms N] consume QUEUE [--batch N]
//!     takes and acks items forever; prints `got <u32>` for each item before acking it
//! ```
//! aeroguard-node --sensor-node --backend zookeeper|redis --index I --session-ms N --plan JSON
//!     a node of the sensor cluster (`aeroguard_examples::cluster`), printing its event lines
//! The backends are the test services of `scripts/services start` (ZooKeeper on 2181-2183, Redis through the
//! Sentinels on 26379-26381).
//! Output is line-buffered; errors go to stderr and the process exits with status 2.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use aeroguard_consensus::{Coordinator, Delivery, Error};
use aeroguard_core::Timestamp;
use aeroguard_examples::arg_value;
use aeroguard_examples::backend::Backend;

fn say(line: String) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn fail(message: String) -> ! {
    eprintln!("aeroguard-node: {message}");
    std::process::exit(2)
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--sensor-node") {
        // A sensor node of `aeroguard_examples::cluster` (the cluster tests start these).
        if let Err(e) = aeroguard_examples::cluster::node_process(&args).await {
            fail(e);
        }
        return;
    }
    let node: String = arg_value(&args, "--node").unwrap_or_else(|| fail("--node ID is required".into()));
    let backend: Backend = arg_value(&args, "--backend").unwrap_or(Backend::ZooKeeper);
    let session_ms: u64 = arg_value(&args, "--session-ms").unwrap_or(2000);
    let coord = backend
        .connect(&node, Duration::from_millis(session_ms))
        .await
        .unwrap_or_else(|e| fail(format!("connect: {e}")));
    let role = args.iter().position(|a| a == "lead" || a == "consume");
    match role.map(|i| (args[i].as_str(), args.get(i + 1))) {
        Some(("lead", Some(election))) => lead(coord, election).await,
        Some(("consume", Some(queue))) => {
            consume(coord, queue, arg_value(&args, "--batch").unwrap_or(64)).await
        }
        _ => fail(
            "usage: aeroguard-node --node ID [--backend zookeeper|redis] [--session-ms N] lead ELECTION | consume QUEUE"
                .into(),
        ),
    }
}

async fn lead(coord: Arc<dyn Coordinator>, election: &str) {
    let election = coord.election(election).unwrap_or_else(|e| fail(format!("{e}")));
    loop {
        match election.campaign().await {
            Ok(term) => {
                say(format!(
                    "elected {} {} {}",
                    coord.node(),
                    term.token().0,
                    Timestamp::now().as_millis()
                ));
                let reason = term.lost().await;
                say(format!("lost {} {reason}", coord.node()));
            }
            Err(Error::Closed) => return,
            Err(e) => {
                eprintln!("campaign: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn consume(coord: Arc<dyn Coordinator>, queue: &str, batch: usize) {
    let queue = coord.queue(queue).unwrap_or_else(|e| fail(format!("{e}")));
    loop {
        match queue.take_batch(batch, None).await {
            Ok(items) => {
                for d in &items {
                    let n = d.payload().try_into().map(u32::from_be_bytes).unwrap_or(u32::MAX);
                    say(format!("got {n}"));
                }
                if let Err(e) = Delivery::ack_all(items).await {
                    eprintln!("ack: {e}");
                }
            }
            Err(Error::Closed) => return,
            Err(e) => {
                eprintln!("take: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}
