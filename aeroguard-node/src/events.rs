//! What a sensor node reports as it runs: typed events, sent as JSON lines by node processes and as values by
//! in-process nodes, and printed for people by [`Display`](std::fmt::Display).

use serde::{Deserialize, Serialize};

use super::sim::CHANNELS;

mod more;
use more::fmt_more;

/// One thing a node did or saw.
///
/// ```
/// use aeroguard_node::NodeEvent;
/// let e = NodeEvent::Elected { node: "n2".into(), token: 7 };
/// let line = serde_json::to_string(&e)?;
/// assert_eq!(line, r#"{"event":"elected","node":"n2","token":7}"#);
/// assert_eq!(NodeEvent::parse(&line), Some(e.clone()));
/// assert_eq!(e.to_string(), "elected n2 7");
/// assert_eq!(NodeEvent::parse("not json"), None);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum NodeEvent {
    /// The node won the election with this fencing token.
    Elected {
        /// The node.
        node: String,
        /// Its fencing token.
        token: u64,
    },
    /// The node's term ended.
    Lost {
        /// The node.
        node: String,
        /// Why.
        reason: String,
    },
    /// A sampling period from the config watch is in force.
    Applied {
        /// The node.
        node: String,
        /// The new period.
        period_ms: u64,
        /// The config version.
        version: u64,
    },
    /// A config version failed validation; the last good one stays.
    Rejected {
        /// The node.
        node: String,
        /// The refused version.
        version: u64,
        /// Why.
        error: String,
    },
    /// A new leader accounted for a round its predecessor opened and never reported.
    Aborted {
        /// The round.
        round: u64,
        /// The leader that accounted for it.
        node: String,
    },
    /// The leader reported a round.
    Round(RoundLine),
    /// An alert of the leader's rules changed state (pending, firing, resolved), or a firing one was sent again.
    Alert {
        /// The leader.
        node: String,
        /// The rule.
        rule: String,
        /// `pending`, `firing`, `resolved`, or `sent-again` (still firing, notified again).
        status: String,
        /// The round whose sample moved it.
        round: u64,
    },
    /// The leader's link to the history went down or came back (the simulated outage); what its outbox held.
    Link {
        /// The leader.
        node: String,
        /// Whether the link is up now.
        up: bool,
        /// The last round reported before the change.
        round: u64,
        /// Entries waiting in the outbox.
        queued: u64,
    },
    /// An outbox delivered everything it held back while its receiver was away.
    Forwarded {
        /// The node.
        node: String,
        /// `history` or `service`.
        to: String,
        /// Entries delivered since the receiver first asked to retry.
        sent: u64,
    },
    /// A new alert rule file reached the node through the config watch: applied, or refused (with the line
    /// and the reason) while the last good rules stay in force.
    Rules {
        /// The node.
        node: String,
        /// The config version of the file.
        version: u64,
        /// Whether it is in force now.
        applied: bool,
        /// What is in force, or why the file was refused.
        detail: String,
    },
    /// The leader compacted the history by the retention schedule in config.
    Compacted {
        /// The leader.
        node: String,
        /// The round it had just reported.
        round: u64,
        /// Raw points dropped for age.
        dropped: u64,
        /// Raw points folded into buckets.
        folded: u64,
        /// The bounded steps it took.
        steps: u32,
    },
    /// The node serves its metrics at `addr` (`host:port`, path `/metrics`).
    Metrics {
        /// The node.
        node: String,
        /// Where.
        addr: String,
    },
    /// The node's clock went off the coordination servers' by more than the plan's bound (it stops
    /// campaigning, and steps down if it leads), or came back within it.
    Clock {
        /// The node.
        node: String,
        /// Its clock minus the servers', in ms, at the probe.
        offset_ms: i64,
        /// The bound, in ms.
        bound_ms: u64,
        /// Whether it may lead again.
        may_lead: bool,
    },
    /// No leader completed a round for the plan's `degrade_after_periods`: the node measures, fuses, scores and
    /// alarms on its own (unfenced), and keeps its measurements for the next leader.
    Degraded {
        /// The node.
        node: String,
        /// The last round a leader opened.
        round: u64,
    },
    /// A round the node measured and judged on its own while degraded.
    Local {
        /// The node.
        node: String,
        /// The node's own round number (after the last one a leader opened).
        round: u64,
        /// What it measured (fused from what it could see).
        fused: [f64; 3],
        /// Its local ensemble's alarm.
        alarm: bool,
    },
    /// An alert of the node's own rules (the plan's rules, and `coordination-lost`) while degraded.
    LocalAlert {
        /// The node.
        node: String,
        /// The rule.
        rule: String,
        /// `pending`, `firing` or `resolved`.
        status: String,
        /// The node's own round.
        round: u64,
    },
    /// A leader's rounds reached the node again; what it measured meanwhile waits for the leader.
    Recovered {
        /// The node.
        node: String,
        /// The round that reached it.
        round: u64,
        /// Measurements waiting for a leader.
        buffered: u64,
    },
    /// A leader fused and stored, under its token, the rounds its members measured while no leader ran.
    Backfilled {
        /// The leader.
        node: String,
        /// Rounds stored.
        rounds: u64,
        /// Measurements stored in them.
        measurements: u64,
        /// Measurements that came too late (their round was stored or run since), acknowledged and dropped.
        late: u64,
    },
    /// The leader saw a sensor start drifting out of its tolerance, while fusion still uses it.
    Health {
        /// The leader.
        node: String,
        /// The drifting sensor (its node).
        sensor: String,
        /// The channel.
        channel: String,
        /// The round.
        round: u64,
        /// Its mean gap to the others over the window.
        bias: f64,
        /// The gap's change per round.
        drift: f64,
        /// How far it may sit from the others.
        tolerance: f64,
        /// Rounds until it leaves the tolerance at this drift.
        rounds: Option<u64>,
        /// The soonest it plausibly does (the interval's near end).
        earliest: Option<u64>,
        /// The latest (the interval's far end; none within the horizon).
        latest: Option<u64>,
    },
    /// A new action policy reached the node through the config watch: applied, or refused (with the line and
    /// the reason) while the last good policy stays in force.
    Policy {
        /// The node.
        node: String,
        /// The config version of the file.
        version: u64,
        /// Whether it is in force now.
        applied: bool,
        /// What is in force, or why the file was refused.
        detail: String,
    },
    /// The leader acted on its policy: the record, logged in the history under its fencing token.
    Action {
        /// The leader.
        node: String,
        /// The round.
        round: u64,
        /// The action.
        record: Box<aeroguard_detect::action::ActionRecord>,
    },
    /// Something went wrong that the node rides out.
    Warn {
        /// The node.
        node: String,
        /// What.
        message: String,
    },
    /// The node stopped on an error.
    Failed {
        /// The node.
        node: String,
        /// Why.
        message: String,
    },
}

/// What the leader reported for one round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoundLine {
    /// The round.
    pub round: u64,
    /// The leader.
    pub leader: String,
    /// Its fencing token.
    pub token: u64,
    /// Fused pressure, temperature, flow.
    pub fused: [f64; 3],
    /// Nodes that answered.
    pub answered: usize,
    /// Nodes in the cluster.
    pub nodes: usize,
    /// Whether the round reached its quorum.
    pub reached_quorum: bool,
    /// Nodes the fusion excluded, per channel.
    pub excluded: [Vec<String>; 3],
    /// The ensemble's alarm.
    pub alarm: bool,
    /// Members that voted for it.
    pub voted_yes: Vec<String>,
}

impl NodeEvent {
    /// An event from one JSON line; `None` for anything else (a node's stray output).
    pub fn parse(line: &str) -> Option<NodeEvent> {
        serde_json::from_str(line).ok()
    }
}

impl std::fmt::Display for NodeEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NodeEvent::Elected { node, token } => write!(f, "elected {node} {token}"),
            NodeEvent::Lost { node, reason } => write!(f, "lost {node} {reason}"),
            NodeEvent::Applied {
                node,
                period_ms,
                version,
            } => write!(f, "applied {node} {period_ms} {version}"),
            NodeEvent::Rejected { node, version, error } => write!(f, "rejected {node} {version} {error}"),
            NodeEvent::Aborted { round, node } => write!(f, "aborted {round} {node}"),
            NodeEvent::Alert {
                node,
                rule,
                status,
                round,
            } => write!(f, "alert {rule} {status} at round {round} ({node})"),
            NodeEvent::Link {
                node,
                up: false,
                round,
                queued,
            } => write!(
                f,
                "link {node} to the history DOWN after round {round} ({queued} waiting in its outbox)"
            ),
            NodeEvent::Link {
                node, round, queued, ..
            } => write!(
                f,
                "link {node} to the history up after round {round} ({queued} waiting in its outbox)"
            ),
            NodeEvent::Forwarded { node, to, sent } => {
                write!(
                    f,
                    "forwarded {node}: {sent} held back delivered to the {to}, in order"
                )
            }
            NodeEvent::Rules {
                node,
                version,
                applied,
                detail,
            } => {
                let what = if *applied { "applied" } else { "REFUSED" };
                write!(f, "rules {node} v{version} {what}: {detail}")
            }
            NodeEvent::Compacted {
                node,
                round,
                dropped,
                folded,
                steps,
            } => write!(
                f,
                "retention {node} after round {round}: {folded} folded, {dropped} dropped, in {steps} steps"
            ),
            NodeEvent::Metrics { node, addr } => write!(f, "metrics {node} http://{addr}/metrics"),
            e @ (NodeEvent::Clock { .. }
            | NodeEvent::Degraded { .. }
            | NodeEvent::Local { .. }
            | NodeEvent::LocalAlert { .. }
            | NodeEvent::Recovered { .. }
            | NodeEvent::Backfilled { .. }
            | NodeEvent::Health { .. }
            | NodeEvent::Policy { .. }
            | NodeEvent::Action { .. }) => fmt_more(e, f),
            NodeEvent::Warn { node, message } => write!(f, "warn {node} {message}"),
            NodeEvent::Failed { node, message } => write!(f, "error {node} {message}"),
            NodeEvent::Round(r) => r.fmt(f),
        }
    }
}

impl std::fmt::Display for RoundLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ex: Vec<String> = (0..3)
            .filter(|&c| !self.excluded[c].is_empty())
            .map(|c| format!("{}:{}", CHANNELS[c], self.excluded[c].join("+")))
            .collect();
        write!(
            f,
            "round {:>3} leader {} #{} | p {:.3} bar  t {:.2} C  f {:.3} m3/h | {}/{} answered{} | excluded [{}] | {}",
            self.round,
            self.leader,
            self.token,
            self.fused[0],
            self.fused[1],
            self.fused[2],
            self.answered,
            self.nodes,
            if self.reached_quorum { "" } else { " (no quorum)" },
            ex.join(" "),
            if self.alarm {
                format!("ALARM ({})", self.voted_yes.join(", "))
            } else {
                "ok".into()
            }
        )
    }
}
