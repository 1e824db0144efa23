//! Fault injection on a [`MemoryCluster`]: expiries, cuts (suspensions), crashes, and seeded notification
//! delays.

use std::time::Duration;

use aeroguard_core::NodeId;
use rand::Rng as _;
use rand_xoshiro::Xoshiro256PlusPlus;

use super::MemoryCluster;
use super::state::{SessionId, mark_expired};
use crate::SessionState;

/// The seeded source of the cluster's random choices.
#[derive(Debug)]
pub(crate) struct Chaos {
    pub rng: Xoshiro256PlusPlus,
    pub max_delay: Duration,
}

impl Chaos {
    /// A random notification delay up to the maximum, if one is set.
    pub fn delay(&mut self) -> Option<Duration> {
        let max = u64::try_from(self.max_delay.as_micros()).unwrap_or(u64::MAX);
        (max > 0).then(|| Duration::from_micros(self.rng.gen_range(0..=max)))
    }
}

impl MemoryCluster {
    /// Delays every change notification by a random time up to `max` (drawn from the cluster's seed), as a
    /// slow network would. Watchers re-read state when notified, so late or merged notifications must not
    /// change what they end on.
    pub fn set_notification_delay(&self, max: Duration) {
        self.shared.chaos.lock().max_delay = max;
    }

    /// Sets how far `node`'s clock is from the cluster's, in ms (positive: ahead), as
    /// [`clock_offset`](crate::Coordinator::clock_offset) reports it: a node whose clock is off, for tests of
    /// what refuses to lead.
    pub fn skew_clock(&self, node: &NodeId, offset_ms: i64) {
        self.shared.skews.lock().insert(node.clone(), offset_ms);
    }

    /// What [`skew_clock`](Self::skew_clock) set for `node` (0 unless set).
    pub(crate) fn skew_of(&self, node: &NodeId) -> i64 {
        self.shared.skews.lock().get(node).copied().unwrap_or(0)
    }

    fn sessions_of(&self, node: &NodeId) -> Vec<SessionId> {
        self.lock()
            .sessions
            .iter()
            .filter(|(_, s)| &s.node == node && !s.expired)
            .map(|(id, _)| *id)
            .collect()
    }

    fn expire_session(&self, sid: SessionId) {
        let mut st = self.lock();
        let Some(entry) = st.sessions.get_mut(&sid) else {
            return;
        };
        if entry.expired {
            return;
        }
        entry.expired = true;
        let status = entry.status.clone();
        // The client learns first (from its own session channel), then its ephemerals go. A closed (crashed)
        // client stays closed: nothing of it may come back.
        mark_expired(&status);
        st.drop_ephemerals(sid);
        self.changed(&mut st);
        st.sessions.remove(&sid);
    }

    /// Expires `node`'s session now: its leadership, registrations and claims go at once. Its coordinator then
    /// builds a new session.
    pub fn expire(&self, node: &NodeId) {
        for sid in self.sessions_of(node) {
            self.expire_session(sid);
        }
    }

    /// Cuts `node` off for `duration`: its operations fail with `ConnectionLoss` and its session state is
    /// `Suspended`. If the cut lasts the session timeout, the cluster expires the session at that point (the
    /// node learns it when the cut ends). A cut while cut off extends the cut (to the later end); the session
    /// timeout counts from the start of the whole cut.
    pub fn suspend(&self, node: &NodeId, duration: Duration, session_timeout: Duration) {
        let now = tokio::time::Instant::now();
        for sid in self.sessions_of(node) {
            let (status, start, end, generation) = {
                let mut st = self.lock();
                let Some(entry) = st.sessions.get_mut(&sid) else {
                    continue;
                };
                let (start, end, generation) = match entry.cut {
                    Some((start, end, g)) => (start, end.max(now + duration), g + 1),
                    None => (now, now + duration, 1),
                };
                entry.cut = Some((start, end, generation));
                entry.suspended = true;
                (entry.status.clone(), start, end, generation)
            };
            status.send_if_modified(|s| {
                let cut = s.state == SessionState::Connected;
                if cut {
                    s.state = SessionState::Suspended;
                }
                cut
            });
            let cluster = self.clone();
            let current = move |cluster: &MemoryCluster| {
                cluster
                    .lock()
                    .sessions
                    .get(&sid)
                    .and_then(|e| e.cut)
                    .is_some_and(|c| c.2 == generation)
            };
            tokio::spawn(async move {
                let expire_at = start + session_timeout;
                if end >= expire_at {
                    tokio::time::sleep_until(expire_at).await;
                    if !current(&cluster) {
                        return;
                    }
                    // Server side: the session times out; the client is still cut off and does not know.
                    {
                        let mut st = cluster.lock();
                        if let Some(entry) = st.sessions.get_mut(&sid) {
                            entry.expired = true;
                            st.drop_ephemerals(sid);
                            cluster.changed(&mut st);
                        }
                    }
                    tokio::time::sleep_until(end).await;
                    if !current(&cluster) {
                        return;
                    }
                    // The cut ends: the client learns its session is gone.
                    mark_expired(&status);
                    cluster.lock().sessions.remove(&sid);
                } else {
                    tokio::time::sleep_until(end).await;
                    if !current(&cluster) {
                        return;
                    }
                    {
                        let mut st = cluster.lock();
                        if let Some(entry) = st.sessions.get_mut(&sid) {
                            entry.suspended = false;
                            entry.cut = None;
                            cluster.changed(&mut st);
                        }
                    }
                    status.send_if_modified(|s| {
                        let back = s.state == SessionState::Suspended;
                        if back {
                            s.state = SessionState::Connected;
                        }
                        back
                    });
                }
            });
        }
    }

    /// A process death: `node`'s session lingers on the cluster until `session_timeout`, then expires. Use it
    /// with the node's coordinator dropped (its tasks stop with it).
    pub fn crash(&self, node: &NodeId, session_timeout: Duration) {
        let sids = self.sessions_of(node);
        {
            let mut st = self.lock();
            for sid in &sids {
                if let Some(entry) = st.sessions.get_mut(sid) {
                    entry.suspended = true;
                    entry.status.send_modify(|s| s.state = SessionState::Closed);
                }
            }
        }
        let cluster = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(session_timeout).await;
            for sid in sids {
                cluster.expire_session(sid);
            }
        });
    }
}
