//! The leader's local deadline on ZooKeeper.
//!
//! The servers expire a session no earlier than the negotiated timeout `T` after the ensemble's leader last heard
//! of it, so a request sent at `s` and answered *through the leader* proves the session lives until at least
//! `s + T` on the servers' clock. A plain read does not: a follower cut off from the leader keeps answering reads
//! until it gives up on the leader (`syncLimit × tickTime`, which may be longer than `T`) while the leader lets
//! the session expire. So the proof is a `sync` (which the follower forwards to the leader and answers only with
//! the leader's reply) and a read behind it. Every session keeps a [`LeaseClock`] at `s + 9T/10` for the latest
//! such `s`, moved forward every `T/5`. `Leadership::ensure` reads it without waiting for any task: a leader waking from a
//! stop-the-world pause longer than the deadline knows at once that a successor may already be elected, before
//! the client has even noticed the disconnection. The 10 % margin covers a clock-rate difference between the
//! leader and the servers of up to 10 %.

use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::time::Instant;
use zookeeper_client as zk;

use super::ZkSession;
use crate::election::LeaseClock;

/// The fraction of the session timeout a proof of life is trusted for.
const TRUST: f64 = 0.9;

/// A new session's clock: trusted until `9T/10` after `since` (when the request that opened it was sent).
pub(crate) fn clock(negotiated: Duration, since: Instant) -> Arc<LeaseClock> {
    LeaseClock::new(negotiated, since + negotiated.mul_f64(TRUST))
}

/// Keeps `clock` moving while the session of `client` (epoch `epoch`) lives: every `T/5`, a `sync` and a read of
/// the root sent at `s` and both answered move the deadline to `s + 9T/10`. Ends with the session or the
/// coordinator.
pub(crate) async fn keep(session: Weak<ZkSession>, client: zk::Client, clock: Arc<LeaseClock>, epoch: u64) {
    let negotiated = client.session_timeout();
    let every = (negotiated / 5).max(Duration::from_millis(20));
    loop {
        tokio::time::sleep(every).await;
        let root = match session.upgrade() {
            Some(c) if !c.is_closed() && c.epoch() == epoch => c.options.root.clone(),
            _ => return,
        };
        let sent = Instant::now();
        // Both requests go out now and are answered in order; the read is answered after the sync.
        let (synced, read) = (client.sync(&root), client.check_stat(&root));
        match synced.await.and(read.await.map(drop)) {
            Ok(()) => clock.extend_to(sent + negotiated.mul_f64(TRUST)),
            // A failed or unanswered proof proves nothing: the deadline stays where the last proof put it.
            Err(error) => tracing::debug!(%error, "liveness proof failed"),
        }
    }
}
