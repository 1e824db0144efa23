//! # aeroguard-node
//!
//! The redundant sensor cluster: N nodes measure one simulated pump, elect a leader, hand in measurements
//! through the round recipe; the leader fuses, scores and appends to the fenced history. The orchestrator
//! here starts the nodes (tasks on the memory backend, processes on ZooKeeper or Redis), kills the leader and
//! pushes a new sampling period on schedule, then checks the history: no round reported twice, none lost.
//!
//! ```
//! # tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(async {
//! use aeroguard_node::{ClusterOptions, Progress, NodeEvent, Where, run_cluster, unique_run};
//!
//! // Five nodes as tasks on the embedded backend, eight rounds, none of the scheduled upsets.
//! let mut options = ClusterOptions::new(Where::Memory, &unique_run("doc"));
//! options.plan.rounds = 8;
//! (options.kill_leader_at, options.new_period_at, options.bad_rules_at) = (None, None, None);
//! let summary = run_cluster(options, |p| {
//!     if let Progress::Event(NodeEvent::Round(r)) = p {
//!         assert!(r.round <= 8);
//!     }
//! })
//! .await?;
//! assert_eq!(summary.rounds_reported, 8);
//! assert!(summary.duplicates.is_empty() && summary.lost.is_empty());
//! # Ok::<(), aeroguard_node::Error>(()) }).unwrap();
//! ```
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use serde::{Deserialize, Serialize};

mod actions;
mod alerting;
mod deliver;
mod detection;
mod error;
mod events;
mod metrics;
mod node;
mod orchestrator;
mod output;
mod plan;
mod process;
pub mod sim;
mod summary;
mod watched;

pub use actions::DEFAULT_POLICY;
pub use alerting::{DEFAULT_RULES, RuleFile, rules_for};
pub use deliver::{Deliveries, POST_REFUSALS, Post, outbox_file};
pub use error::{Error, Result};
pub use events::{NodeEvent, RoundLine};
pub use metrics::{RoundsSeen, node_metrics, outbox_metrics, serve_metrics};
pub use node::{COORDINATION_LOST, Emit, run_node};
pub(crate) use orchestrator::Events;
pub use orchestrator::{Action, Progress, run_cluster};
pub use output::CommandEvent;
pub use plan::{
    Outputs, Plan, Plant, RoundRecord, Sampling, api_key_of, default_alert_resend_ms, default_alert_ttl_ms,
};
pub use process::{NodeArgs, node_process, redis_history};
pub use summary::{
    ActionLine, FailoverRecord, FaultRecord, OutageRecord, RetentionRecord, RulesRecord, Summary, UpsetRecord,
};

/// Where the cluster runs (a `--backend` value).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Where {
    /// Nodes as tasks of this process on the embedded memory backend; history in memory.
    Memory,
    /// Nodes as processes on the ZooKeeper ensemble; history in Redis (through Sentinel).
    #[value(name = "zookeeper", alias = "zk")]
    ZooKeeper,
    /// Nodes as processes on Redis (through Sentinel), history in Redis.
    Redis,
}

/// A run: the plan the nodes share, and what the orchestrator does to them.
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    /// The backend.
    pub backend: Where,
    /// The nodes' plan.
    pub plan: Plan,
    /// Kill the leader once this round is reported.
    pub kill_leader_at: Option<u64>,
    /// Push a new sampling period (ms) once this round is reported.
    pub new_period_at: Option<(u64, u64)>,
    /// The retention schedule set in config before the nodes start (the leaders compact by it).
    pub retention: Option<aeroguard_consensus::history::RetentionSchedule>,
    /// Push an alert rule file with a typo once this round is reported (the nodes must refuse it and keep
    /// their rules).
    pub bad_rules_at: Option<u64>,
    /// The nodes' session timeout.
    pub session: Duration,
    /// The node program for process backends (`aeroguard-node`, or this program re-run with `sensor-node`),
    /// and the arguments that come before the node's own.
    pub node_command: Option<(std::path::PathBuf, Vec<String>)>,
    /// Give up after this long.
    pub timeout: Duration,
    /// One node's clock off the servers' by this many ms (node index, offset), for runs that check a node with
    /// a wrong clock never leads. The memory backend shifts the node's clock as its probe sees it
    /// ([`MemoryCluster::skew_clock`](aeroguard_consensus::memory::MemoryCluster::skew_clock)); a node process
    /// starts with libfaketime (`AEROGUARD_FAKETIME`, from `scripts/services env`).
    pub skewed_clock: Option<(usize, i64)>,
    /// Cut every node off the coordination servers for this long once this round is reported (memory backend:
    /// [`MemoryCluster::suspend`](aeroguard_consensus::memory::MemoryCluster::suspend); the process backends
    /// refuse it).
    pub cut_at: Option<(u64, Duration)>,
}

impl ClusterOptions {
    /// Five nodes, 40 rounds every 150 ms, the default faults, the leader killed after round 12, the sampling
    /// period halved after round 24, a link outage in rounds 16-20 (the leader's rounds wait in its outbox), an
    /// alert rule file with a typo pushed after round 22, a process upset in rounds 27-33, a 2 s session.
    pub fn new(backend: Where, run: &str) -> Self {
        ClusterOptions {
            backend,
            plan: Plan {
                run: run.to_string(),
                nodes: 5,
                rounds: 40,
                period_ms: 150,
                deadline_ms: 400,
                plant: Plant {
                    seed: 7,
                    faults: sim::default_faults(5),
                    upset: Some(sim::Upset { from: 27, to: 33 }),
                    outage: Some(sim::Outage { from: 16, to: 20 }),
                },
                outputs: Outputs::default(),
                clock_bound_ms: plan::default_clock_bound_ms(),
                alert_resend_ms: plan::default_alert_resend_ms(),
                alert_ttl_ms: plan::default_alert_ttl_ms(),
                degrade_after_periods: None,
            },
            kill_leader_at: Some(12),
            new_period_at: Some((24, 75)),
            bad_rules_at: Some(22),
            // Three days raw, then hourly buckets, a year kept; compacted every second (a plant would say every
            // ten minutes).
            retention: Some(aeroguard_consensus::history::RetentionSchedule {
                keep_ms: 365 * 86_400_000,
                raw_ms: Some(3 * 86_400_000),
                bucket_ms: 3_600_000,
                every_ms: 1_000,
            }),
            session: Duration::from_secs(2),
            node_command: None,
            timeout: Duration::from_secs(120),
            skewed_clock: None,
            cut_at: None,
        }
    }
}

/// A unique run name.
pub fn unique_run(base: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{base}-{}-{}", std::process::id(), nanos % 1_000_000_000)
}
