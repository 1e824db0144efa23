//! The nemesis: faults injected through `scripts/netns` (partitions, netem) and `scripts/services` (kill,
//! restart, SIGSTOP/SIGCONT of servers), and SIGSTOP/SIGCONT of the workers it started.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use rand::Rng;
use rand_xoshiro::Xoshiro256PlusPlus;

use super::event::{Event, Op};
use crate::{Error, Result};

/// A fault pattern, injected and then healed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// The leader is cut off from the ZooKeeper ensemble, not from Redis (ZooKeeper runs only).
    LeaderCutFromZk,
    /// The Redis master and the leader are cut off from the Sentinels, the replicas and everyone else.
    MasterAndLeaderCut,
    /// The leader's process is paused (SIGSTOP) past its session timeout, then resumed.
    LeaderPaused,
    /// A ZooKeeper server (the ensemble's leader) is killed, then restarted (ZooKeeper runs only).
    ZkKilled,
    /// The Redis master is killed; once Sentinel has promoted a replica, the new master is killed too; both come
    /// back as replicas.
    TwoFailovers,
    /// Delay, jitter and loss (netem) on the leader's and the master's links; where the kernel has no netem, a
    /// slow link (tbf, 256 kbit/s with a 300 ms queue) that delays bursts and drops what does not fit.
    LossyLinks,
}

impl Scenario {
    /// Every scenario, in the report's order.
    pub const ALL: [Scenario; 6] = [
        Scenario::LeaderCutFromZk,
        Scenario::MasterAndLeaderCut,
        Scenario::LeaderPaused,
        Scenario::ZkKilled,
        Scenario::TwoFailovers,
        Scenario::LossyLinks,
    ];

    /// The scenario's name.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::LeaderCutFromZk => "leader-cut-from-zk",
            Scenario::MasterAndLeaderCut => "master-and-leader-cut",
            Scenario::LeaderPaused => "leader-paused",
            Scenario::ZkKilled => "zk-killed",
            Scenario::TwoFailovers => "two-failovers",
            Scenario::LossyLinks => "lossy-links",
        }
    }

    /// Whether the scenario means something when the recipes run on ZooKeeper (`true`) or Redis.
    pub fn applies(self, zookeeper: bool) -> bool {
        zookeeper || !matches!(self, Scenario::LeaderCutFromZk | Scenario::ZkKilled)
    }
}

/// Runs the scripts and knows the workers.
#[derive(Debug)]
pub struct Nemesis {
    /// The `scripts` folder.
    pub scripts: PathBuf,
    /// The state folder of the services in namespaces.
    pub services_dir: PathBuf,
    /// Where the workers log.
    pub dir: PathBuf,
    /// Worker node names and their pids.
    pub workers: Vec<(String, u32)>,
    /// The session timeout.
    pub session: Duration,
}

/// The node names of the servers.
const REDIS: [&str; 3] = ["redis1", "redis2", "redis3"];
const SENTINELS: [&str; 3] = ["sentinel1", "sentinel2", "sentinel3"];
const ZK: [&str; 3] = ["zk1", "zk2", "zk3"];

impl Nemesis {
    fn script(&self, name: &str, args: &[&str]) -> Result<String> {
        let mut cmd = Command::new("bash");
        // The Sentinels' client password for `redis-cli` (`redis_master`), once the servers made it.
        if let Some((_, password)) = self.sentinel_auth() {
            cmd.env("REDISCLI_AUTH", password);
        }
        let out = cmd
            .arg(self.scripts.join(name))
            .args(args)
            .env("AEROGUARD_NETNS", "1")
            .env("AEROGUARD_SERVICES_DIR", &self.services_dir)
            // Resyncs after many faults take a while.
            .env("AEROGUARD_SERVICES_TIMEOUT", "180")
            .output()
            .map_err(|e| Error::io(format!("run scripts/{name}"), e))?;
        if !out.status.success() {
            return Err(Error::Run(format!(
                "scripts/{name} {args:?} failed: {} (server logs: {})",
                String::from_utf8_lossy(&out.stderr).trim(),
                self.services_dir.display()
            )));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// The Sentinels' client user and password of this run's servers.
    fn sentinel_auth(&self) -> Option<(String, String)> {
        let c = aeroguard_consensus::deployment::services_credential_in(
            &self.services_dir,
            "AEROGUARD_SENTINEL_AUTH",
        )
        .ok()?;
        c.split_once(':').map(|(u, p)| (u.to_string(), p.to_string()))
    }

    /// Runs `scripts/netns ARGS`.
    pub fn netns(&self, args: &[&str]) -> Result<String> {
        self.script("netns", args)
    }

    /// Runs `scripts/services ARGS` in namespace mode.
    pub fn services(&self, args: &[&str]) -> Result<String> {
        self.script("services", args)
    }

    /// The Redis node a majority of the Sentinels name as master.
    pub fn redis_master(&self) -> Option<&'static str> {
        let mut votes = [0usize; 3];
        for (i, port) in [26379, 26380, 26381].into_iter().enumerate() {
            let host = format!("10.77.0.3{}", i + 1);
            let user = self.sentinel_auth().map(|(u, _)| u).unwrap_or_default();
            let ca = aeroguard_consensus::deployment::services_credential_in(
                &self.services_dir,
                "AEROGUARD_REDIS_CA",
            )
            .unwrap_or_default();
            let tls: &[&str] = if ca.is_empty() {
                &[]
            } else {
                &["--tls", "--cacert", &ca]
            };
            let port = port.to_string();
            let mut args = vec!["exec", "hub", "redis-cli"];
            args.extend_from_slice(tls);
            args.extend_from_slice(&["--user", &user, "-h", &host, "-p", &port]);
            args.extend_from_slice(&["SENTINEL", "get-master-addr-by-name", "aeroguard"]);
            let Ok(out) = self.netns(&args) else {
                continue;
            };
            match out.lines().next().map(str::trim) {
                Some("10.77.0.21") => votes[0] += 1,
                Some("10.77.0.22") => votes[1] += 1,
                Some("10.77.0.23") => votes[2] += 1,
                _ => {}
            }
        }
        votes.iter().position(|&v| v >= 2).map(|i| REDIS[i])
    }

    /// The ZooKeeper server that leads the ensemble.
    pub fn zk_leader(&self) -> Option<&'static str> {
        let status = self.services(&["status"]).ok()?;
        ZK.into_iter().find(|zk| {
            status
                .lines()
                .any(|l| l.starts_with(zk) && l.trim_end().ends_with("leader"))
        })
    }

    /// The worker that holds the newest term it has not seen end, from the workers' logs.
    pub fn leader_worker(&self) -> Option<(String, u32)> {
        let mut best: Option<(u64, String)> = None;
        for (node, _) in &self.workers {
            let Ok(text) = std::fs::read_to_string(self.dir.join(format!("{node}.jsonl"))) else {
                continue;
            };
            let mut open: Option<u64> = None;
            for e in text.lines().filter_map(|l| serde_json::from_str::<Event>(l).ok()) {
                match e.op {
                    Op::Elected { token } => open = Some(token),
                    Op::Ended { token, .. } if open == Some(token) => open = None,
                    _ => {}
                }
            }
            if let Some(t) = open
                && best.as_ref().is_none_or(|b| t > b.0)
            {
                best = Some((t, node.clone()));
            }
        }
        let node = best?.1;
        self.workers.iter().find(|w| w.0 == node).cloned()
    }

    fn signal(pid: u32, sig: &str) -> Result<()> {
        let ok = Command::new("kill")
            .args([sig, &pid.to_string()])
            .status()
            .map_err(|e| Error::io("kill", e))?
            .success();
        if ok {
            Ok(())
        } else {
            Err(Error::Run(format!("kill {sig} {pid} failed")))
        }
    }

    /// Waits until the Sentinels name a master other than `old` (at most `limit`).
    fn wait_new_master(&self, old: &str, limit: Duration) -> Option<&'static str> {
        let until = std::time::Instant::now() + limit;
        while std::time::Instant::now() < until {
            if let Some(m) = self.redis_master()
                && m != old
            {
                return Some(m);
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        None
    }

    /// Injects `scenario`, holds it, heals it. Returns what was done and how many server failovers happened.
    pub fn strike(&self, scenario: Scenario, rng: &mut Xoshiro256PlusPlus) -> Result<(String, usize)> {
        let t = self.session;
        let hold = |extra_ms: u64| t + Duration::from_millis(extra_ms);
        let master_before = self.redis_master();
        let leader = self.leader_worker();
        let leader_name = leader.as_ref().map_or("none", |l| l.0.as_str()).to_string();
        let mut failovers = 0;
        let what = match scenario {
            Scenario::LeaderCutFromZk => {
                let Some((node, _)) = &leader else {
                    return Ok(("no leader to cut".into(), 0));
                };
                self.netns(&["partition", node, &ZK.join(",")])?;
                std::thread::sleep(hold(rng.gen_range(1_000..3_000)));
                self.netns(&["heal"])?;
                format!("cut {node} from zk1,zk2,zk3")
            }
            Scenario::MasterAndLeaderCut => {
                let master = master_before.unwrap_or(REDIS[0]);
                let mut cut = vec![master.to_string()];
                cut.extend(leader.iter().map(|l| l.0.clone()));
                let rest: Vec<String> = REDIS
                    .iter()
                    .chain(&SENTINELS)
                    .chain(&ZK)
                    .map(|s| s.to_string())
                    .chain(self.workers.iter().map(|w| w.0.clone()))
                    .filter(|n| !cut.contains(n))
                    .collect();
                self.netns(&["partition", &cut.join(","), &rest.join(",")])?;
                std::thread::sleep(hold(rng.gen_range(2_000..4_000)));
                self.netns(&["heal"])?;
                format!("cut {} from the rest", cut.join("+"))
            }
            Scenario::LeaderPaused => {
                let Some((node, pid)) = &leader else {
                    return Ok(("no leader to pause".into(), 0));
                };
                Self::signal(*pid, "-STOP")?;
                std::thread::sleep(hold(rng.gen_range(1_000..3_000)));
                Self::signal(*pid, "-CONT")?;
                format!("paused {node}")
            }
            Scenario::ZkKilled => {
                let victim = self.zk_leader().unwrap_or(ZK[rng.gen_range(0..3)]);
                self.services(&["kill", victim])?;
                std::thread::sleep(Duration::from_millis(rng.gen_range(2_000..5_000)));
                self.services(&["restart", victim])?;
                failovers += 1;
                format!("killed and restarted {victim}")
            }
            Scenario::TwoFailovers => {
                let first = master_before.unwrap_or(REDIS[0]);
                self.services(&["kill", first])?;
                let second = self.wait_new_master(first, Duration::from_secs(20));
                let mut done = format!("killed {first}");
                if let Some(second) = second {
                    failovers += 1;
                    // Let the recipes find the new master before it goes too.
                    std::thread::sleep(Duration::from_millis(rng.gen_range(1_000..3_000)));
                    self.services(&["kill", second])?;
                    if self.wait_new_master(second, Duration::from_secs(20)).is_some() {
                        failovers += 1;
                    }
                    done = format!("{done}, then {second}");
                }
                // Both come back (as replicas) and the services converge.
                self.services(&["start"])?;
                done
            }
            Scenario::LossyLinks => {
                let master = master_before.unwrap_or(REDIS[0]);
                let mut nodes = vec![master.to_string()];
                nodes.extend(leader.iter().map(|l| l.0.clone()));
                // netem where the kernel has it; else a slow link whose queue drops what does not fit in time.
                let mut how = "netem delay 40ms 20ms loss 5%";
                for n in &nodes {
                    if how.starts_with("netem")
                        && self
                            .netns(&["netem", n, "delay", "40ms", "20ms", "loss", "5%"])
                            .is_err()
                    {
                        how = "tbf 256kbit, 300 ms queue";
                    }
                    if how.starts_with("tbf") {
                        self.netns(&["slow", n, "256kbit"])?;
                    }
                }
                std::thread::sleep(hold(rng.gen_range(1_000..3_000)));
                for n in &nodes {
                    self.netns(&["clear", n])?;
                }
                format!("{how} on {}", nodes.join("+"))
            }
        };
        if !matches!(scenario, Scenario::TwoFailovers | Scenario::ZkKilled)
            && let (Some(before), Some(after)) = (master_before, self.redis_master())
            && before != after
        {
            failovers += 1;
        }
        Ok((format!("{what} (leader was {leader_name})"), failovers))
    }

    /// Heals everything: no cuts, no netem, every worker running, every server up.
    pub fn heal_all(&self) -> Result<()> {
        self.netns(&["heal"])?;
        for n in REDIS.iter().chain(&SENTINELS).chain(&ZK) {
            self.netns(&["clear", n])?;
        }
        for (node, pid) in &self.workers {
            self.netns(&["clear", node])?;
            Self::signal(*pid, "-CONT").ok();
        }
        self.services(&["start"])?;
        Ok(())
    }
}

/// Where the project's scripts are when the program runs from its source tree.
pub fn default_scripts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts")
}
