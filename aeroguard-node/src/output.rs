//! What the `aeroguard-node` commands print: one JSON object a line, each a [`CommandEvent`], so whoever reads a
//! node's output (a test, the benchmark, a supervisor) parses values, not text. `sensor` prints
//! [`NodeEvent`](crate::NodeEvent)s in the same way.

use serde::{Deserialize, Serialize};

/// One line of `aeroguard-node lead`, `consume` or `drain`.
///
/// ```
/// use aeroguard_node::CommandEvent;
/// let e = CommandEvent::Elected { node: "n1".into(), token: 7, at_ms: 1_700_000_000_000 };
/// let line = e.to_line();
/// assert_eq!(line, r#"{"event":"elected","node":"n1","token":7,"at_ms":1700000000000}"#);
/// assert_eq!(CommandEvent::parse(&line), Some(e));
/// assert_eq!(CommandEvent::parse("elected n1 7"), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum CommandEvent {
    /// `lead`: the node won the election.
    Elected {
        /// The node.
        node: String,
        /// Its fencing token.
        token: u64,
        /// When, in Unix milliseconds.
        at_ms: i64,
    },
    /// `lead`: the node's term ended.
    Lost {
        /// The node.
        node: String,
        /// Why.
        reason: String,
    },
    /// `consume`: an item was taken (and is acked next).
    Got {
        /// The item (a big-endian `u32`; `u32::MAX` for a payload of another shape).
        item: u32,
    },
    /// `drain`: a batch of the outbox reached the history.
    Forwarded {
        /// Entries sent in the batch.
        entries: u64,
    },
    /// `drain`: the outbox is empty.
    Drained {
        /// Entries sent in all.
        sent: u64,
        /// Entries the history refused (fenced: a newer leader wrote).
        refused: u64,
    },
}

impl CommandEvent {
    /// The event as one JSON line (no newline).
    pub fn to_line(&self) -> String {
        // A derived enum of strings and integers always serialises.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parses a line `to_line` wrote; `None` for anything else.
    pub fn parse(line: &str) -> Option<CommandEvent> {
        serde_json::from_str(line.trim()).ok()
    }
}
