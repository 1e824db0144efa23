//! `aeroguard-node`: a sensor node and the coordination roles the failure tests and benchmarks kill and
//! watch. Every command prints one JSON object a line (`CommandEvent`, or `NodeEvent` for `sensor`).
//!
//! ```text
//! aeroguard-node --node ID [--backend zookeeper|redis] [--session-ms N] lead ELECTION
//!     campaigns forever; prints {"event":"elected",...} and {"event":"lost",...}
//! aeroguard-node --node ID [--backend zookeeper|redis] [--session-ms N] consume QUEUE [--batch N]
//!     takes and acks items forever; prints {"event":"got","item":N} for each item before acking it
//! aeroguard-node sensor --backend zookeeper|redis --index I --session-ms N --plan JSON
//!     a node of the sensor cluster, printing its events
//! aeroguard-node drain --outbox FILE [--as NAME]
//!     forwards what a node's history outbox holds to the Redis history, in order; prints
//!     {"event":"forwarded",...} after each batch and {"event":"drained",...} at the end
//! ```
//! The servers and credentials come from the environment (`aeroguard_consensus::deployment`: by default the
//! test services of `scripts/services start`). Output is line-buffered; errors go to stderr and the process
//! exits with status 2.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use aeroguard_consensus::{Coordinator, Delivery, Error};
use aeroguard_core::Timestamp;
use aeroguard_consensus::deployment::Backend;
use aeroguard_node::{CommandEvent, NodeArgs, node_process};
use clap::{Parser, Subcommand};

/// The node allocates per round and per request on several threads; mimalloc over glibc's malloc.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A sensor node, and the coordination roles failure tests and benchmarks kill and watch; every command prints
/// JSON lines.
#[derive(Debug, Parser)]
#[command(name = "aeroguard-node", version)]
struct Cli {
    /// This node's id (required by `lead` and `consume`).
    #[arg(long)]
    node: Option<String>,
    /// The backend: the test services of `scripts/services start`.
    #[arg(long, default_value = "zookeeper")]
    backend: Backend,
    /// The session timeout, in milliseconds.
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u64).range(300..=600_000))]
    session_ms: u64,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Campaign forever; print an `elected` line for each term won and a `lost` line when it ends.
    Lead {
        /// The election.
        election: String,
    },
    /// Take and ack items forever; print a `got` line for each item before acking it.
    Consume {
        /// The queue.
        queue: String,
        /// Items taken per batch.
        #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=10_000))]
        batch: u64,
    },
    /// A node of the sensor cluster, printing its events as JSON lines.
    Sensor(NodeArgs),
    /// Forward what a node's history outbox holds (a node that died with its link down left it) to the Redis
    /// history, in order, then exit; fenced entries (a newer leader has written) are refused and counted.
    Drain {
        /// The outbox file (`<dir>/<run>/<node>-history.redb`).
        #[arg(long)]
        outbox: std::path::PathBuf,
        /// The Redis login to use (a node name of the services' members; default: the library user).
        #[arg(long = "as", default_value = "drain")]
        name: String,
        /// Give up after the history has been unreachable this long, in seconds.
        #[arg(long, default_value_t = 60)]
        patience_s: u64,
    },
}

fn say(event: CommandEvent) {
    let line = event.to_line();
    let mut out = std::io::stdout().lock();
    if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
        // Whoever read this process's output is gone; nothing to tell.
        std::process::exit(0);
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    aeroguard_sentinel::logging::init("warn,aeroguard_node=info");
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Sensor(args) => node_process(&args).await.map_err(|e| e.to_string()),
        Command::Drain {
            outbox,
            name,
            patience_s,
        } => drain(&outbox, &name, Duration::from_secs(patience_s)).await,
        Command::Lead { election } => match connect(&cli.node, cli.backend, cli.session_ms).await {
            Ok(coord) => lead(coord, &election).await,
            Err(e) => Err(e),
        },
        Command::Consume { queue, batch } => match connect(&cli.node, cli.backend, cli.session_ms).await {
            Ok(coord) => consume(coord, &queue, batch as usize).await,
            Err(e) => Err(e),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("aeroguard-node: {message}");
            ExitCode::from(2)
        }
    }
}

async fn drain(file: &std::path::Path, name: &str, patience: Duration) -> Result<(), String> {
    use aeroguard_consensus::outbox::{Append, Outbox, OutboxLimits, Outcome};
    if !file.exists() {
        return Err(format!("--outbox {}: no such file", file.display()));
    }
    let outbox: Outbox<Append> = Outbox::open(file, OutboxLimits::default()).map_err(|e| e.to_string())?;
    let history = aeroguard_node::redis_history(name)
        .await
        .map_err(|e| e.to_string())?;
    let (mut sent, mut refused) = (0, 0);
    let mut stuck_since = tokio::time::Instant::now();
    loop {
        // Batches of 64, so that progress is printed as it happens.
        let mut left = 64;
        let pass = outbox
            .forward(|a: &Append| {
                let (a, history) = (a.clone(), &history);
                left -= 1;
                let go = left >= 0;
                async move {
                    if !go {
                        return Outcome::Retry("batch done".into());
                    }
                    Append::outcome(
                        aeroguard_consensus::history::HistoryStore::append(
                            history, &a.series, &a.writer, &a.points,
                        )
                        .await,
                    )
                }
            })
            .await
            .map_err(|e| e.to_string())?;
        sent += pass.sent;
        refused += pass.refused;
        if pass.sent + pass.refused > 0 {
            say(CommandEvent::Forwarded { entries: pass.sent as u64 });
            stuck_since = tokio::time::Instant::now();
        }
        match pass.stopped.as_deref() {
            None => break,
            Some("batch done") => continue,
            Some(why) if stuck_since.elapsed() > patience => {
                return Err(format!(
                    "the history is unreachable ({why}); {} entries stay in {}",
                    outbox.stats().queued,
                    file.display()
                ));
            }
            Some(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    say(CommandEvent::Drained {
        sent: sent as u64,
        refused: refused as u64,
    });
    Ok(())
}

async fn connect(
    node: &Option<String>,
    backend: Backend,
    session_ms: u64,
) -> Result<Arc<dyn Coordinator>, String> {
    let node = node.as_deref().ok_or("--node ID is required")?;
    backend
        .connect(node, Duration::from_millis(session_ms))
        .await
        .map_err(|e| format!("connect: {e}"))
}

async fn lead(coord: Arc<dyn Coordinator>, election: &str) -> Result<(), String> {
    let election = coord.election(election).map_err(|e| e.to_string())?;
    loop {
        match election.campaign().await {
            Ok(term) => {
                say(CommandEvent::Elected {
                    node: coord.node().to_string(),
                    token: term.token().0,
                    at_ms: Timestamp::now().as_millis(),
                });
                let reason = term.lost().await;
                say(CommandEvent::Lost {
                    node: coord.node().to_string(),
                    reason: reason.to_string(),
                });
            }
            Err(Error::Closed) => return Ok(()),
            Err(e) => {
                tracing::warn!(error = %e, "campaign failed; retrying");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn consume(coord: Arc<dyn Coordinator>, queue: &str, batch: usize) -> Result<(), String> {
    let queue = coord.queue(queue).map_err(|e| e.to_string())?;
    loop {
        match queue.take_batch(batch, None).await {
            Ok(items) => {
                for d in &items {
                    let n = d.payload().try_into().map(u32::from_be_bytes).unwrap_or(u32::MAX);
                    say(CommandEvent::Got { item: n });
                }
                if let Err(e) = Delivery::ack_all(items).await {
                    tracing::warn!(error = %e, "ack failed; the items come back");
                }
            }
            Err(Error::Closed) => return Ok(()),
            Err(e) => {
                tracing::warn!(error = %e, "take failed; retrying");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}
