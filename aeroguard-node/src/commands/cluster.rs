//! `aeroguard-node cluster`: a whole redundant sensor cluster, on the embedded backend or as processes on the
//! deployment's servers, with faults, a leader crash and a config push on schedule, then the summary's checks.

use std::time::Duration;

use aeroguard_node::{ClusterOptions, NodeEvent, Progress, Where, run_cluster, sim, unique_run};

/// The `cluster` command's settings.
#[derive(Debug, clap::Args)]
pub struct ClusterArgs {
    /// Where the nodes run: `memory` (tasks of this process on the embedded backend, no servers needed), or
    /// `zookeeper` / `redis` (processes of this program on the deployment's servers; history in Redis).
    #[arg(long, value_enum, default_value = "memory")]
    backend: Where,
    /// How many nodes.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=64))]
    nodes: u64,
    /// Rounds to report.
    #[arg(long, default_value_t = 40, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    rounds: u64,
    /// Milliseconds between rounds.
    #[arg(long, default_value_t = 150, value_parser = clap::value_parser!(u64).range(10..=600_000))]
    period_ms: u64,
    /// Kill the leader once this round is reported.
    #[arg(long, default_value_t = 12)]
    kill_at: u64,
    /// Do not kill the leader.
    #[arg(long)]
    no_kill: bool,
    /// Seed of the measurement noise.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// The nodes' session timeout, in milliseconds.
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u64).range(300..=600_000))]
    session_ms: u64,
    /// Post every fused row to the analysis service (aeroguard-sentinel) at this `host:port`.
    #[arg(long, value_name = "HOST:PORT")]
    post: Option<String>,
    /// The nodes' API keys for `--post`: a file of `identity key` lines (made with `aeroguard-sentinel --keygen`).
    #[arg(long, value_name = "FILE", requires = "post")]
    api_keys: Option<std::path::PathBuf>,
    /// How far (ms) a node's clock may be from the coordination servers' for it to lead.
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u64).range(100..=3_600_000))]
    clock_bound_ms: u64,
    /// How often (ms) the leader sends its firing alerts again (a new leader also at its first round).
    #[arg(long, default_value_t = aeroguard_node::default_alert_resend_ms(), value_parser = clap::value_parser!(u64).range(100..=86_400_000))]
    alert_resend_ms: u64,
    /// How long (ms) Alertmanager holds a firing alert after it was last sent (its `endsAt`): more than
    /// `--alert-resend-ms`.
    #[arg(long, default_value_t = aeroguard_node::default_alert_ttl_ms(), value_parser = clap::value_parser!(u64).range(1_000..=604_800_000))]
    alert_ttl_ms: u64,
    /// Run node n1 with its clock this many ms ahead (negative: behind), to watch it stay out of the
    /// election: the memory backend shifts its probe; node processes run under libfaketime
    /// (`AEROGUARD_FAKETIME`, from `scripts/services env`).
    #[arg(long, value_name = "MS", allow_hyphen_values = true)]
    skew_clock_ms: Option<i64>,
    /// The degraded mode: when no leader's round has come for this many periods, each node measures, fuses,
    /// scores and alarms alone (unfenced, with a `coordination-lost` alert) and keeps its measurements until
    /// a leader stores them. Off unless given.
    #[arg(long, value_name = "PERIODS", value_parser = clap::value_parser!(u32).range(2..=100_000))]
    degrade_after_periods: Option<u32>,
    /// Cut every node off the coordination servers for this many ms after round 10 (memory backend), to watch
    /// the degraded mode.
    #[arg(long, value_name = "MS", requires = "degrade_after_periods", value_parser = clap::value_parser!(u64).range(100..=600_000))]
    cut_ms: Option<u64>,
    /// Print JSON lines: every node event and orchestrator action as it happens, then the summary.
    #[arg(long)]
    json: bool,
}

impl ClusterArgs {
    fn options(&self) -> Result<ClusterOptions, String> {
        let mut options = ClusterOptions::new(self.backend, &unique_run("cluster"));
        options.plan.nodes = self.nodes as usize;
        options.plan.rounds = self.rounds;
        options.plan.period_ms = self.period_ms;
        options.plan.plant.seed = self.seed;
        options.plan.plant.faults = sim::default_faults(options.plan.nodes);
        options.plan.outputs.post = self.post.clone();
        options.plan.outputs.api_keys = self.api_keys.clone();
        options.kill_leader_at = (!self.no_kill).then_some(self.kill_at);
        options.session = Duration::from_millis(self.session_ms);
        options.plan.clock_bound_ms = self.clock_bound_ms;
        options.plan.alert_resend_ms = self.alert_resend_ms;
        options.plan.alert_ttl_ms = self.alert_ttl_ms;
        options.plan.degrade_after_periods = self.degrade_after_periods;
        options.cut_at = self.cut_ms.map(|ms| (10, Duration::from_millis(ms)));
        if self.alert_resend_ms >= self.alert_ttl_ms {
            return Err(format!(
                "--alert-resend-ms {} is not under --alert-ttl-ms {}: Alertmanager would resolve a firing alert \
                 before it is sent again (a third of the TTL is the usual resend)",
                self.alert_resend_ms, self.alert_ttl_ms
            ));
        }
        options.skewed_clock = self.skew_clock_ms.map(|ms| (0, ms));
        if self.backend != Where::Memory {
            let me = std::env::current_exe()
                .map_err(|e| format!("cannot find this program to start nodes: {e}"))?;
            options.node_command = Some((me, vec!["sensor".into()]));
        }
        Ok(options)
    }
}

/// A progress item as one JSON line: node events as they are, actions under `action`, other output under
/// `output`.
fn json_line(p: Progress<'_>) -> String {
    match p {
        Progress::Event(e) => serde_json::to_string(e).unwrap_or_default(),
        Progress::Action(a) => serde_json::json!({ "action": a.to_string() }).to_string(),
        Progress::Output(line) => serde_json::json!({ "output": line }).to_string(),
        _ => String::new(),
    }
}

/// Runs the cluster; `Ok(false)` when a check of the summary failed.
pub async fn run(args: ClusterArgs) -> Result<bool, String> {
    let options = args.options()?;
    let json = args.json;
    if !json {
        let faults: Vec<String> = options
            .plan
            .plant
            .faults
            .iter()
            .map(|f| format!("n{} {} {}-{}", f.node + 1, f.label(), f.from, f.to))
            .collect();
        println!(
            "sensor cluster on {:?}: {} nodes, {} rounds every {} ms, faults {faults:?}, leader killed after round {:?}",
            args.backend,
            options.plan.nodes,
            options.plan.rounds,
            options.plan.period_ms,
            options.kill_leader_at
        );
    }
    let bar = progress_bar(args.rounds, json);
    let outcome = run_cluster(options, |p| {
        if let Progress::Event(NodeEvent::Round(r)) = p {
            bar.set_position(r.round);
        }
        if json {
            println!("{}", json_line(p));
        } else if !matches!(p, Progress::Event(NodeEvent::Applied { .. })) {
            say(&bar, &p.to_string());
        }
    })
    .await;
    bar.finish_and_clear();
    let summary = outcome.map_err(|e| e.to_string())?;
    if json {
        let text = serde_json::to_string(&summary).map_err(|e| format!("the summary as JSON: {e}"))?;
        println!("{{\"summary\":{text}}}");
    } else {
        println!("{summary}");
    }
    Ok(summary.problems().is_empty())
}

/// A progress bar of `rounds` on stderr; hidden when stderr is not a terminal or the output is JSON.
fn progress_bar(rounds: u64, hidden: bool) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(rounds);
    if hidden {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {elapsed} {msg}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_prefix("rounds");
    bar
}

/// Prints a line above `bar` when it is drawn, or plainly when it is hidden.
fn say(bar: &indicatif::ProgressBar, line: &str) {
    if bar.is_hidden() {
        println!("{line}");
    } else {
        bar.println(line);
    }
}
