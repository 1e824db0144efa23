//! Forwarding: passes that hand an outbox's entries to a sink oldest first, and the loop that runs them.

use std::future::Future;
use std::sync::atomic::Ordering;
use std::time::Duration;

use redb::Durability;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Outbox, Outcome, Pass};
use crate::Result;

impl<T: Serialize + DeserializeOwned> Outbox<T> {
    /// One pass: hands the entries to `deliver`, oldest first, until the outbox is empty or `deliver` asks to
    /// retry. Entries pushed during the pass are forwarded in it too. The pass's removals are made durable
    /// (one sync) before it returns, so a process killed after a pass does not deliver that pass again; one
    /// killed during a pass may deliver what the pass had sent a second time (sinks absorb it).
    pub async fn forward<F, Fut>(&self, deliver: F) -> Result<Pass>
    where
        F: FnMut(&T) -> Fut,
        Fut: Future<Output = Outcome>,
    {
        let pass = self.pass(deliver).await?;
        if pass.sent + pass.refused > 0 {
            self.write(Durability::Immediate, "sync", |_| Ok(()))?;
        }
        Ok(pass)
    }

    /// [`forward`](Self::forward) without the sync at the end.
    async fn pass<F, Fut>(&self, mut deliver: F) -> Result<Pass>
    where
        F: FnMut(&T) -> Fut,
        Fut: Future<Output = Outcome>,
    {
        let mut pass = Pass::default();
        loop {
            let batch = self.oldest(64)?;
            if batch.is_empty() {
                return Ok(pass);
            }
            for (seq, item) in batch {
                let outcome = match &item {
                    Ok(item) => deliver(item).await,
                    Err(e) => Outcome::Refused(format!("entry {seq} does not decode: {e}")),
                };
                match outcome {
                    Outcome::Sent => {
                        self.remove(seq)?;
                        pass.sent += 1;
                        self.sent.fetch_add(1, Ordering::Relaxed);
                    }
                    Outcome::Refused(why) => {
                        tracing::warn!("outbox {}: entry {seq} refused: {why}", self.path().display());
                        self.remove(seq)?;
                        pass.refused += 1;
                        self.refused.fetch_add(1, Ordering::Relaxed);
                    }
                    Outcome::Retry(why) => {
                        pass.stopped = Some(why);
                        return Ok(pass);
                    }
                }
            }
        }
    }

    /// Forwards until `stop` resolves: a pass whenever something is pushed (or every `idle`), and after a
    /// pass the sink stopped, again after a backoff that doubles from `idle / 4` up to `max_backoff`.
    pub async fn run<F, Fut>(
        &self,
        mut deliver: F,
        idle: Duration,
        max_backoff: Duration,
        stop: impl Future<Output = ()>,
    ) -> Result<()>
    where
        F: FnMut(&T) -> Fut,
        Fut: Future<Output = Outcome>,
    {
        tokio::pin!(stop);
        let first = (idle / 4).max(Duration::from_millis(1));
        let mut backoff = first;
        loop {
            let pass = self.forward(&mut deliver).await?;
            if let Some(why) = pass.stopped {
                tracing::debug!("outbox {}: retrying in {backoff:?}: {why}", self.path().display());
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    () = &mut stop => return Ok(()),
                }
                backoff = (backoff * 2).min(max_backoff);
            } else {
                backoff = first;
                tokio::select! {
                    () = self.wake.notified() => {}
                    () = tokio::time::sleep(idle) => {}
                    () = &mut stop => return Ok(()),
                }
            }
        }
    }

    /// Waits until something is pushed (a push since the last wait counts), or `within` passes: for forwarders
    /// with a loop of their own.
    pub async fn pushed(&self, within: Duration) {
        let _ = tokio::time::timeout(within, self.wake.notified()).await;
    }
}
