//! `aeroguard-node drain`: forwards what a dead node's history outbox holds.

use std::time::Duration;

use aeroguard_node::CommandEvent;

use super::say;

/// Forwards `file`'s entries to the Redis history as `name`, in order, in batches of 64; gives up after the
/// history has been unreachable for `patience`.
pub async fn drain(file: &std::path::Path, name: &str, patience: Duration) -> Result<(), String> {
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
            say(CommandEvent::Forwarded {
                entries: pass.sent as u64,
            });
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
    say(CommandEvent::Drained { sent, refused });
    Ok(())
}
