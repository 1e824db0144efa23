//! A sensor node as a process of its own (what `aeroguard-node sensor` runs; `aeroguard-node cluster` starts them):
//! its events go to stdout as JSON lines, which the orchestrator reads.

use std::sync::Arc;
use std::time::Duration;

use aeroguard_consensus::history::HistoryStore;
use aeroguard_consensus::redis::RedisCoordinator;

use super::{NodeEvent, Plan, run_node};
use crate::{Error, Result};
use aeroguard_consensus::deployment::Backend;

/// The arguments of a node process (the orchestrator passes them; people rarely do).
#[derive(Debug, Clone, clap::Args)]
pub struct NodeArgs {
    /// The backend the node connects to.
    #[arg(long)]
    pub backend: Backend,
    /// The node's index (0-based: node `n{index + 1}`).
    #[arg(long)]
    pub index: usize,
    /// The session timeout, in milliseconds.
    #[arg(long, default_value_t = 2000)]
    pub session_ms: u64,
    /// The run's plan, as JSON.
    #[arg(long)]
    pub plan: String,
}

/// Runs node `args.index` of the plan in this process until its coordinator closes.
pub async fn node_process(args: &NodeArgs) -> Result<()> {
    let plan: Plan = serde_json::from_str(&args.plan).map_err(|source| Error::Json {
        what: "--plan",
        source,
    })?;
    let name = Plan::node_name(args.index);
    let coord = args
        .backend
        .connect(&name, Duration::from_millis(args.session_ms))
        .await?;
    let history: Arc<dyn HistoryStore> = Arc::new(redis_history(&format!("{name}-h")).await?);
    let emit: super::Emit = Arc::new(|event: NodeEvent| {
        use std::io::Write;
        let Ok(line) = serde_json::to_string(&event) else {
            return;
        };
        let mut out = std::io::stdout().lock();
        if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
            // The orchestrator is gone: nobody reads this node any more.
            tracing::debug!("stdout closed");
        }
    });
    run_node(coord, history, plan, args.index, emit).await?;
    Ok(())
}

/// The history store every process node and the orchestrator share: Redis, through the Sentinels, as `node`.
pub async fn redis_history(node: &str) -> Result<aeroguard_consensus::redis::RedisHistory> {
    let id = node.parse().map_err(Error::Core)?;
    let options = Backend::redis_options(Duration::from_secs(4))
        .map_err(|e| Error::Run(format!("history store (Redis through Sentinel): {e}")))?;
    let c = RedisCoordinator::connect(id, options)
        .await
        .map_err(|e| Error::Run(format!("history store (Redis through Sentinel): {e}")))?;
    Ok(c.history())
}
