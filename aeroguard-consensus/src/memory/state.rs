//! What the in-memory coordination service holds: sessions, candidates, services, configs and queues.

use std::collections::{BTreeMap, HashMap};

use aeroguard_core::NodeId;
use tokio::sync::watch;

use super::BACKEND;
use crate::config::Versioned;
use crate::{Error, Result, SessionState, SessionStatus};

pub(crate) type SessionId = u64;

#[derive(Debug)]
pub(crate) struct SessionEntry {
    pub node: NodeId,
    pub status: watch::Sender<SessionStatus>,
    pub notify: watch::Sender<u64>,
    pub suspended: bool,
    pub expired: bool,
    /// The current cut: when it began, when it ends, and which `suspend` call last set it.
    pub cut: Option<(tokio::time::Instant, tokio::time::Instant, u64)>,
}

#[derive(Debug, Default)]
pub(crate) struct MemQueue {
    pub items: BTreeMap<u64, Vec<u8>>,
    pub claims: HashMap<u64, SessionId>,
    /// Deliveries so far, per item delivered at least once.
    pub deliveries: HashMap<u64, u32>,
}

#[derive(Debug, Default)]
pub(crate) struct State {
    pub zxid: u64,
    pub next_session: SessionId,
    pub sessions: HashMap<SessionId, SessionEntry>,
    /// Candidates per election: (sequence, node, session), in sequence order.
    pub elections: HashMap<String, Vec<(u64, NodeId, SessionId)>>,
    pub services: HashMap<String, BTreeMap<NodeId, (SessionId, serde_json::Value)>>,
    pub configs: HashMap<String, Versioned<Vec<u8>>>,
    pub queues: HashMap<String, MemQueue>,
    /// Inbox slots by (inbox name, node).
    pub inboxes: HashMap<(String, NodeId), Vec<u8>>,
}

impl State {
    /// The next transaction number (tokens, sequence numbers).
    pub fn next_zxid(&mut self) -> u64 {
        self.zxid += 1;
        self.zxid
    }

    /// Fails unless `sid` is connected.
    pub fn live(&self, sid: SessionId, operation: &'static str) -> Result<()> {
        match self.sessions.get(&sid) {
            Some(s) if s.expired => Err(Error::SessionExpired { operation }),
            Some(s) if s.suspended => Err(Error::ConnectionLoss {
                backend: BACKEND,
                operation,
            }),
            Some(_) => Ok(()),
            None => Err(Error::SessionExpired { operation }),
        }
    }

    /// Drops everything ephemeral `sid` owns.
    pub fn drop_ephemerals(&mut self, sid: SessionId) {
        for candidates in self.elections.values_mut() {
            candidates.retain(|c| c.2 != sid);
        }
        for members in self.services.values_mut() {
            members.retain(|_, (owner, _)| *owner != sid);
        }
        for q in self.queues.values_mut() {
            q.claims.retain(|_, owner| *owner != sid);
        }
    }
}

/// Tells a client its session expired, unless it is closed (a closed client stays closed).
pub(crate) fn mark_expired(status: &watch::Sender<SessionStatus>) {
    status.send_if_modified(|s| {
        let open = s.state != SessionState::Closed;
        if open {
            s.state = SessionState::Expired;
        }
        open
    });
}
