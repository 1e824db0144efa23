//! What a worker logs: one JSON line per operation, with when it started and when it ended (microseconds of
//! the host's wall clock, which every process of a run shares).

use serde::{Deserialize, Serialize};

/// Microseconds since the Unix epoch, now.
pub fn now_us() -> i64 {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

/// How an operation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// It took effect, and the caller was told so.
    Ok,
    /// It did not take effect (a refusal the backend is sure of: fenced, conflict, expired claim).
    Fail,
    /// Unknown: it may or may not have taken effect (a timeout, a lost connection, not replicated).
    Info,
}

/// One operation of one worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// The worker (`n1`, `n2`, ... or `final`).
    pub node: String,
    /// When the call started.
    pub start: i64,
    /// When it returned.
    pub end: i64,
    /// What it was.
    pub op: Op,
    /// The error it ended with, if any (for reading a violation's story).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The operations of the workload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Op {
    /// A campaign that returned leadership with `token`.
    Elected {
        /// The fencing token of the grant.
        token: u64,
    },
    /// `ensure()` said the leadership with `token` is trusted (at `start`).
    Trusted {
        /// The term's token.
        token: u64,
    },
    /// The term with `token` ended (lost, expired or resigned).
    Ended {
        /// The term's token.
        token: u64,
        /// Why, as the library said.
        why: String,
    },
    /// A fenced history append of point `seq` under `token`.
    Append {
        /// The writer's token.
        token: u64,
        /// The point's value (unique per worker).
        seq: u64,
        /// How it ended.
        outcome: Outcome,
    },
    /// A queue put of `item`.
    Put {
        /// The item (unique per run).
        item: String,
        /// How it ended.
        outcome: Outcome,
    },
    /// A queue take that returned `item` (held from `end`).
    Take {
        /// The item.
        item: String,
    },
    /// An ack of `item`.
    Ack {
        /// The item.
        item: String,
        /// How it ended.
        outcome: Outcome,
    },
    /// A compare-and-set config write of `value` (expected version `expect`).
    ConfigSet {
        /// The value written (unique per run).
        value: String,
        /// The version it replaced.
        expect: u64,
        /// The version it got, when it succeeded.
        version: Option<u64>,
        /// How it ended.
        outcome: Outcome,
    },
    /// The config value read after the run, once every fault was healed.
    ConfigFinal {
        /// The value, if any.
        value: Option<String>,
        /// Its version.
        version: u64,
    },
    /// The history's points read after the run, once every fault was healed: who wrote each, under which
    /// token, and its sequence number, in the order the store keeps them.
    HistoryFinal {
        /// The stored points.
        points: Vec<Stored>,
    },
    /// A campaign that failed (the error says why).
    CampaignFailed,
    /// A fault the nemesis injected or healed.
    Nemesis {
        /// What it did.
        what: String,
    },
}

/// One point of the history as read back after the run (its detail names its writer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stored {
    /// The worker that appended it.
    pub node: String,
    /// The token it was appended under.
    pub token: u64,
    /// Its sequence number (unique per worker).
    pub seq: u64,
}
