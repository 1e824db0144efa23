//! The run's plan every node shares, its names, and what a leader appends per round.

use std::sync::Arc;
use std::time::Duration;

use crate::{Error, Result};
use aeroguard_consensus::round::{Quorum, RoundOptions};
use serde::{Deserialize, Serialize};

use super::sim::{self, Fault};

/// Everything a node needs to know about the run: its names and pace, the simulated plant, and where its
/// results go.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// A prefix unique to the run (names of the election, service, config key, round and series).
    pub run: String,
    /// How many nodes.
    pub nodes: usize,
    /// Rounds to report.
    pub rounds: u64,
    /// The initial sampling period (ms between rounds).
    pub period_ms: u64,
    /// How long a leader collects a round.
    pub deadline_ms: u64,
    /// What the nodes measure, and what goes wrong with it.
    pub plant: Plant,
    /// Where the leader's results go besides the history.
    #[serde(default)]
    pub outputs: Outputs,
    /// How far (ms) a node's clock may be from the coordination servers' for it to lead: it stamps the rounds
    /// it reports with its clock, and the analysis service refuses readings more than 5 s ahead of its own.
    #[serde(default = "default_clock_bound_ms")]
    pub clock_bound_ms: u64,
    /// How often (ms) the leader sends its firing alerts again (and a new leader at its first round), so a
    /// receiver that forgets alerts not heard of never resolves one that still fires.
    #[serde(default = "default_alert_resend_ms")]
    pub alert_resend_ms: u64,
    /// How long (ms) Alertmanager holds a firing alert after it was last sent (its `endsAt`): more than
    /// `alert_resend_ms` plus a failover (a session timeout and a round), so neither a resend's period nor a
    /// leader's crash lets it lapse while the fault lasts.
    #[serde(default = "default_alert_ttl_ms")]
    pub alert_ttl_ms: u64,
    /// The degraded mode: when no leader has opened a round for this many sampling periods, each node measures,
    /// fuses what it sees, scores and evaluates the rules on its own (unfenced), raises `coordination-lost`,
    /// and keeps its measurements in its outbox until a leader fuses and stores them under its token. `None`:
    /// off (a node without a leader waits). Choose it above a failover (the session timeout plus a round) if
    /// failovers should not count as lost coordination.
    #[serde(default)]
    pub degrade_after_periods: Option<u32>,
}

/// The default: an hour ([`aeroguard_detect::alert::FIRING_TTL`]).
pub fn default_alert_ttl_ms() -> u64 {
    u64::try_from(aeroguard_detect::alert::FIRING_TTL.as_millis()).unwrap_or(u64::MAX)
}

/// The default: every 20 minutes, a third of the hour a firing alert is valid for at Alertmanager
/// ([`aeroguard_detect::alert::RESEND_EVERY`]).
pub fn default_alert_resend_ms() -> u64 {
    u64::try_from(aeroguard_detect::alert::RESEND_EVERY.as_millis()).unwrap_or(u64::MAX)
}

/// The default clock bound: 2 s, under the analysis service's 5 s, so what a leader stamps is taken.
pub fn default_clock_bound_ms() -> u64 {
    2_000
}

/// The simulated plant: the measurement noise, the sensor faults, a process upset and a link outage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plant {
    /// Seed of the measurement noise.
    pub seed: u64,
    /// The fault schedule.
    pub faults: Vec<Fault>,
    /// A process upset every sensor sees, which the ensemble should raise an alarm for.
    #[serde(default)]
    pub upset: Option<sim::Upset>,
    /// A link outage: the leader's link to the history is down for these rounds.
    #[serde(default)]
    pub outage: Option<sim::Outage>,
}

/// Where a node's results go besides the history, and how much it may keep on disk meanwhile.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Outputs {
    /// The analysis service (`host:port`) the leader posts each fused row to, if any.
    #[serde(default)]
    pub post: Option<String>,
    /// The nodes' API keys for the service: a file of `identity key` lines (each node posts with its own).
    #[serde(default)]
    pub api_keys: Option<std::path::PathBuf>,
    /// Where the nodes keep their outboxes (`None`: `aeroguard-outbox` in the temporary directory); each node
    /// has its files under `<dir>/<run>/`.
    #[serde(default)]
    pub outbox_dir: Option<std::path::PathBuf>,
    /// Each outbox's byte limit (`None`: 64 MiB); past it the oldest entries are dropped, and counted.
    #[serde(default)]
    pub outbox_max_bytes: Option<u64>,
    /// The Alertmanager (`http://host:port`) the leader sends its alerts to, if any.
    #[serde(default)]
    pub alertmanager: Option<String>,
    /// The webhook (`http(s)://host:port/path`) the leader calls with the actions whose rule asks for it, if
    /// any: each action's record, with the leader's fencing token and the episode's idempotency key in headers.
    /// Its bearer token comes from `AEROGUARD_ACTION_WEBHOOK_TOKEN`, a private CA (PEM file) from
    /// `AEROGUARD_ACTION_WEBHOOK_CA`: never in the plan, which travels on command lines.
    #[serde(default)]
    pub action_webhook: Option<String>,
    /// A keys file (the service's format): with it, every node serves `/metrics` on a free loopback port to
    /// the keys listed (Prometheus's), and says where in a `metrics` event.
    #[serde(default)]
    pub metrics_keys: Option<std::path::PathBuf>,
}

/// Node `node`'s key in an `identity key` file, if listed.
pub fn api_key_of(file: &std::path::Path, node: &str) -> Result<Option<String>> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| Error::io(format!("read the API keys {}", file.display()), e))?;
    Ok(text.lines().find_map(|l| {
        let mut f = l.split_whitespace();
        (f.next() == Some(node))
            .then(|| f.next().map(str::to_string))
            .flatten()
    }))
}

/// The sampling setting pushed through the config watch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sampling {
    /// Milliseconds between rounds.
    pub period_ms: u64,
}

impl Plan {
    /// The election's name.
    pub fn election(&self) -> String {
        // The fused series' own name: the analysis service checks a posted token against the grant of the
        // election named like the series.
        self.series()
    }
    /// The registry service of the nodes.
    pub fn service(&self) -> String {
        format!("{}-sensors", self.run)
    }
    /// The config key of the sampling period.
    pub fn sampling_key(&self) -> String {
        format!("{}-sampling", self.run)
    }
    /// The fused series in the history.
    pub fn series(&self) -> String {
        format!("{}-fused", self.run)
    }
    /// The config key of the retention schedule the leaders compact by.
    pub fn retention_key(&self) -> String {
        format!("{}-retention", self.run)
    }
    /// The config key of the alert rule file.
    pub fn rules_key(&self) -> String {
        format!("{}-alert-rules", self.run)
    }
    /// The config key of the action policy file.
    pub fn policy_key(&self) -> String {
        format!("{}-action-policy", self.run)
    }
    /// The series every action is logged in (fenced by the term that decided it).
    pub fn actions_series(&self) -> String {
        format!("{}-actions", self.run)
    }
    /// The series the leaders keep their open action episodes in.
    pub fn action_state_series(&self) -> String {
        format!("{}-action-state", self.run)
    }
    /// The series the leaders keep their alerts' state in.
    pub fn alert_state_series(&self) -> String {
        format!("{}-alerts", self.run)
    }
    /// The series of rounds a crashed leader opened and never reported.
    pub fn aborted_series(&self) -> String {
        format!("{}-aborted", self.run)
    }
    /// The config key where leaders acknowledge the measurements they stored for rounds run without a leader.
    pub fn backfill_key(&self) -> String {
        format!("{}-backfilled", self.run)
    }
    /// The round recipe's options.
    pub fn round_options(&self) -> RoundOptions {
        // All but one: a dead node does not stall a round, and the fusion sees enough readings to outvote a
        // faulty one.
        let quorum = Quorum::AtLeast(self.nodes.saturating_sub(1).max(1));
        RoundOptions::new(
            &self.run,
            &self.service(),
            Duration::from_millis(self.deadline_ms),
            quorum,
        )
    }
    /// The Alertmanager the leader notifies, with the services' credentials (`AEROGUARD_ALERTMANAGER_AUTH`,
    /// `user:password`, from the environment: never in the plan, which travels on command lines).
    pub fn notifier(&self) -> Result<Option<Arc<dyn aeroguard_detect::alert::Notifier>>> {
        let Some(url) = &self.outputs.alertmanager else {
            return Ok(None);
        };
        let mut am = aeroguard_detect::alert::Alertmanager::new(url)?
            .with_ttl(std::time::Duration::from_millis(self.alert_ttl_ms));
        if let Ok(auth) = std::env::var("AEROGUARD_ALERTMANAGER_AUTH")
            && let Some((user, password)) = auth.split_once(':')
        {
            am = am.with_basic_auth(user, password);
        }
        Ok(Some(Arc::new(am)))
    }
    /// The action webhook the leader calls, with its credentials from the environment (see
    /// [`Outputs::action_webhook`]).
    pub fn action_hook(&self) -> Result<Option<aeroguard_detect::action::ActionHook>> {
        let Some(url) = &self.outputs.action_webhook else {
            return Ok(None);
        };
        let mut hook = aeroguard_detect::action::ActionHook::new(url)?;
        if let Ok(token) = std::env::var("AEROGUARD_ACTION_WEBHOOK_TOKEN") {
            hook = hook.with_bearer(&token);
        }
        if let Ok(file) = std::env::var("AEROGUARD_ACTION_WEBHOOK_CA") {
            let pem = std::fs::read(&file)
                .map_err(|e| Error::io(format!("read the action webhook's CA {file}"), e))?;
            hook = hook.with_ca(&pem)?;
        }
        Ok(Some(hook))
    }
    /// The directory of the run's outboxes.
    pub fn outbox_dir(&self) -> std::path::PathBuf {
        self.outputs
            .outbox_dir
            .clone()
            .unwrap_or_else(|| std::env::temp_dir().join("aeroguard-outbox"))
    }
    /// Node `i`'s id (`n1`, `n2`, ...).
    pub fn node_name(i: usize) -> String {
        format!("n{}", i + 1)
    }
}

/// What a round's leader appends: the fused row, the vote, who answered and who was excluded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoundRecord {
    /// The round number.
    pub round: u64,
    /// The leader that reported it.
    pub leader: String,
    /// Its fencing token.
    pub token: u64,
    /// Fused pressure, temperature, flow.
    pub fused: [f64; 3],
    /// Nodes excluded by the fusion, per channel.
    pub excluded: [Vec<String>; 3],
    /// Nodes that answered.
    pub answered: Vec<String>,
    /// Whether all but one of the live members answered in time.
    pub reached_quorum: bool,
    /// The ensemble's alarm.
    pub alarm: bool,
    /// Members that voted yes.
    pub voted_yes: Vec<String>,
    /// The channels that drove the yes votes: each one's mean share over the members that voted yes, the
    /// largest first.
    #[serde(default)]
    pub drivers: Vec<(String, f64)>,
    /// A round the nodes measured without a leader, stored later by `leader`: its alarm is the nodes' own
    /// (more than half of those that measured it), and `degraded` says why its fusion is weaker than a
    /// round's, if it is.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub backfilled: bool,
    /// Why the fusion of a backfilled round fell back to a weaker strategy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub degraded: Option<String>,
}
