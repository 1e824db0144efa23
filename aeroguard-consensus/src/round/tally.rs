//! What a leader has collected of one round: answers read from members' inbox slots.

use std::collections::HashSet;

use aeroguard_core::NodeId;
use serde::de::DeserializeOwned;

use super::{Announcement, RoundResult, Submission};
use crate::{FencingToken, Inbox, Result, Slot};

/// The answers, refusals and discards of one round so far.
pub(super) struct Tally<T> {
    expected: Vec<NodeId>,
    pub answered: Vec<(NodeId, T)>,
    unattested: Vec<(NodeId, String)>,
    /// Slots already counted as discarded (a slot is read many times while the leader waits).
    flagged: HashSet<NodeId>,
    pub discarded: usize,
}

impl<T: DeserializeOwned> Tally<T> {
    pub fn new(expected: &[NodeId]) -> Self {
        Tally {
            expected: expected.to_vec(),
            answered: Vec::new(),
            unattested: Vec::new(),
            flagged: HashSet::new(),
            discarded: 0,
        }
    }

    /// Whether `node` is an expected member that has not answered yet.
    pub fn waits_for(&self, node: &NodeId) -> bool {
        self.expected.contains(node) && !self.answered.iter().any(|(n, _)| n == node)
    }

    /// The expected members that have not answered.
    pub fn pending(&self) -> Vec<NodeId> {
        self.expected
            .iter()
            .filter(|n| self.waits_for(n))
            .cloned()
            .collect()
    }

    /// Reads `node`'s slot and counts it if it answers `opened`.
    pub async fn read(&mut self, inbox: &dyn Inbox, node: &NodeId, opened: &Announcement) -> Result<()> {
        if !self.waits_for(node) {
            return Ok(());
        }
        match inbox.read(node).await? {
            Slot::Empty => {}
            Slot::Unattested(why) => {
                self.unattested.retain(|(n, _)| n != node);
                self.unattested.push((node.clone(), why));
            }
            Slot::Posted(bytes) => match serde_json::from_slice::<Submission<T>>(&bytes) {
                Ok(s) if s.node != *node => self.flag(node),
                Ok(s)
                    if (s.round, s.token, s.opened_at) == (opened.round, opened.token, opened.opened_at) =>
                {
                    self.unattested.retain(|(n, _)| n != node);
                    self.answered.push((s.node, s.value));
                }
                // An answer to an earlier round: this one's may still come.
                Ok(_) => {}
                Err(_) => self.flag(node),
            },
        }
        Ok(())
    }

    fn flag(&mut self, node: &NodeId) {
        if self.flagged.insert(node.clone()) {
            self.discarded += 1;
        }
    }

    pub fn result(mut self, round: u64, token: FencingToken, quorum: usize) -> RoundResult<T> {
        self.answered.sort_by(|a, b| a.0.cmp(&b.0));
        self.unattested.sort_by(|a, b| a.0.cmp(&b.0));
        let missing = self.pending();
        let reached_quorum = self.answered.len() >= quorum;
        RoundResult {
            round,
            token,
            answered: self.answered,
            missing,
            quorum,
            reached_quorum,
            unattested: self.unattested,
            discarded: self.discarded,
        }
    }
}
