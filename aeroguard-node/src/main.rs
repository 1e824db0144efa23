//! `aeroguard-node`: a sensor node and the coordination roles the failure tests and benchmarks kill and
//! watch. Every command prints one JSON object a line (`CommandEvent`, or `NodeEvent` for `sensor`).
//!
//! ```text
//! aeroguard-node cluster [--backend memory|zookeeper|redis] [--json]
//!     a whole sensor cluster with faults, a leader crash and a config push on schedule; exits 1 when a check
//!     of the summary fails (the embedded backend needs no servers)
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

use std::process::ExitCode;
use std::time::Duration;

use aeroguard_consensus::deployment::Backend;
use aeroguard_node::{NodeArgs, node_process};
use clap::{Parser, Subcommand};

mod commands;

use commands::{authority, cluster, drain, epoch, roles};

/// The node allocates per round and per request on several threads; mimalloc over glibc's malloc.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A sensor node: a whole redundant cluster (`cluster`), one node of it, and the coordination roles failure tests
/// and benchmarks kill and watch. Servers and credentials come from the environment (`scripts/services env`).
#[derive(Debug, Parser)]
#[command(name = "aeroguard-node", version)]
struct Cli {
    /// This node's id (required by `lead` and `consume`).
    #[arg(long)]
    node: Option<String>,
    /// The backend of `lead` and `consume`: zookeeper or redis.
    #[arg(long, default_value = "zookeeper")]
    backend: Backend,
    /// The session timeout of `lead` and `consume`, in milliseconds.
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u64).range(300..=600_000))]
    session_ms: u64,
    #[command(subcommand)]
    command: Command,
}
#[derive(Debug, Subcommand)]
enum Command {
    /// Run a whole sensor cluster: nodes elect a leader, hand in measurements; the leader fuses, votes, alerts
    /// and stores; faults, a leader crash and a config push happen on schedule; the summary is checked.
    Cluster(cluster::ClusterArgs),
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
    /// After the Redis Sentinels were redeployed with fresh configs (their failover epochs start from 0 again,
    /// and every client refuses the master, logging "re-base"): show what a re-base of the failover epoch would
    /// do, or do it with --apply, as the Redis administrator (AEROGUARD_REDIS_ADMIN). Tokens keep rising.
    RebaseEpoch {
        /// The key prefix of the deployment's recipes.
        #[arg(long, default_value = "aeroguard")]
        prefix: String,
        /// Write the re-base (without it, only say what it would do).
        #[arg(long)]
        apply: bool,
    },
    /// Serve the Redis election writes of members whose own logins may not make them (they connect with
    /// `RedisOptions::with_election_authority`), logged in as AEROGUARD_REDIS_AUTHORITY, until Ctrl-C. Several
    /// may run at once, each with its own --instance.
    ElectionAuthority {
        /// This authority's name (distinct per running authority).
        #[arg(long, default_value = "authority-1")]
        instance: String,
        /// The members it serves, comma-separated (`n1,n2,n3`).
        #[arg(long)]
        members: String,
        /// The key prefix of the deployment's recipes.
        #[arg(long, default_value = "aeroguard")]
        prefix: String,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    aeroguard_sentinel::logging::init("warn,aeroguard_node=info");
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Cluster(args) => match cluster::run(args).await {
            Ok(true) => Ok(()),
            Ok(false) => return ExitCode::FAILURE,
            Err(e) => Err(e),
        },
        Command::Sensor(args) => node_process(&args).await.map_err(|e| e.to_string()),
        Command::Drain {
            outbox,
            name,
            patience_s,
        } => drain::drain(&outbox, &name, Duration::from_secs(patience_s)).await,
        Command::RebaseEpoch { prefix, apply } => epoch::rebase(&prefix, apply).await,
        Command::ElectionAuthority {
            instance,
            members,
            prefix,
        } => authority::serve(&instance, &members, &prefix).await,
        Command::Lead { election } => match roles::connect(&cli.node, cli.backend, cli.session_ms).await {
            Ok(coord) => roles::lead(coord, &election).await,
            Err(e) => Err(e),
        },
        Command::Consume { queue, batch } => {
            match roles::connect(&cli.node, cli.backend, cli.session_ms).await {
                Ok(coord) => roles::consume(coord, &queue, batch as usize).await,
                Err(e) => Err(e),
            }
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("aeroguard-node: {message}");
            ExitCode::from(2)
        }
    }
}
