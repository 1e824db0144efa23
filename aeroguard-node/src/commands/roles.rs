//! `aeroguard-node lead` and `consume`: the coordination roles failure tests and benchmarks kill and watch.

use std::sync::Arc;
use std::time::Duration;

use aeroguard_consensus::deployment::Backend;
use aeroguard_consensus::{Coordinator, Delivery, Error};
use aeroguard_core::Timestamp;
use aeroguard_node::CommandEvent;

use super::say;

/// Connects `node` (required) to the deployment's `backend`.
pub async fn connect(
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

/// Campaigns in `election` forever, printing each term won and lost.
pub async fn lead(coord: Arc<dyn Coordinator>, election: &str) -> Result<(), String> {
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

/// Takes and acks `queue`'s items forever, `batch` at a time, printing each before acking it.
pub async fn consume(coord: Arc<dyn Coordinator>, queue: &str, batch: usize) -> Result<(), String> {
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
