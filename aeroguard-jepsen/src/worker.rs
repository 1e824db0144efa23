//! The workload one node runs, logging every operation: a leader loop (campaign, then fenced history appends
//! and config pushes while trusted), a producer putting unique items and a consumer taking and acking them.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use aeroguard_consensus::history::{HistoryStore, Point};
use aeroguard_consensus::redis::{Durability, RedisCoordinator, RedisHistory, RedisOptions};
use aeroguard_consensus::zookeeper::{ZkCoordinator, ZkOptions};
use aeroguard_consensus::{Coordinator, Delivery, Error, Expect};
use aeroguard_core::{NodeId, Timestamp};
use parking_lot::Mutex;

use super::event::{Event, Op, Outcome, Stored, now_us};

/// Where the servers are and what to call things.
#[derive(Debug, Clone)]
pub struct Setup {
    /// Elections, queue and config on ZooKeeper (`true`) or Redis; the history is on Redis either way.
    pub zookeeper: bool,
    /// ZooKeeper connect string.
    pub zk_hosts: String,
    /// Sentinel addresses (`host:port`).
    pub sentinels: Vec<String>,
    /// The names of this run's election, series, queue and config key.
    pub name: String,
    /// The session timeout.
    pub session: Duration,
}

impl Setup {
    fn redis_options(&self) -> aeroguard_consensus::Result<RedisOptions> {
        let s: Vec<&str> = self.sentinels.iter().map(String::as_str).collect();
        let options = RedisOptions::sentinel(&s, "aeroguard");
        Ok(aeroguard_consensus::deployment::redis_auth(options)?
            .with_session_timeout(self.session)
            // An acknowledged write has reached every replica, so whichever Sentinel promotes has it (with
            // `count: 1` of two, Sentinel promoted the other one and acknowledged puts were lost).
            .with_durability(Durability::Replicas {
                count: 2,
                timeout: Duration::from_millis(500),
            }))
    }

    /// Connects the coordinator the recipes use and the Redis history, retrying while servers are unreachable
    /// (up to `patience`).
    pub async fn connect(
        &self,
        node: &str,
        patience: Duration,
    ) -> crate::Result<(Arc<dyn Coordinator>, RedisHistory)> {
        let id = NodeId::new(node).map_err(|e| crate::Error::Run(format!("node {node:?}: {e}")))?;
        let until = tokio::time::Instant::now() + patience;
        loop {
            let attempt = async {
                let redis = RedisCoordinator::connect(id.clone(), self.redis_options()?).await?;
                let history = redis.history();
                let recipes: Arc<dyn Coordinator> = if self.zookeeper {
                    ZkCoordinator::connect(
                        id.clone(),
                        ZkOptions::new(self.zk_hosts.as_str())
                            .with_session_timeout(self.session)
                            .with_auth(aeroguard_consensus::deployment::zk_auth()?.ok_or(
                                Error::Unauthorized {
                                    backend: "zookeeper",
                                    operation: "read the test services' credentials",
                                    reason: "the fault-injection runs need authenticated services".into(),
                                },
                            )?),
                    )
                    .await?
                } else {
                    redis
                };
                Ok::<_, Error>((recipes, history))
            };
            match attempt.await {
                Ok(c) => return Ok(c),
                Err(e) if e.is_retryable() && tokio::time::Instant::now() < until => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
}

/// Appends events to a JSON-lines file, one flushed line each (a worker may be killed at any time).
#[derive(Debug, Clone)]
pub struct Log {
    node: String,
    out: Arc<Mutex<std::io::BufWriter<std::fs::File>>>,
}

impl Log {
    /// A log for `node` at `path` (created, or appended to).
    pub fn open(node: &str, path: &std::path::Path) -> crate::Result<Self> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| crate::Error::io(format!("open {}", path.display()), e))?;
        Ok(Log {
            node: node.to_string(),
            out: Arc::new(Mutex::new(std::io::BufWriter::new(file))),
        })
    }

    /// Logs `op`, which started at `start` and ends now.
    pub fn op(&self, start: i64, op: Op) {
        self.failed(start, op, None);
    }

    /// Logs `op`, which started at `start` and ends now, with the error it ended with.
    pub fn failed(&self, start: i64, op: Op, error: Option<&Error>) {
        self.event(Event {
            node: self.node.clone(),
            start,
            end: now_us(),
            op,
            error: error.map(ToString::to_string),
        });
    }

    /// Logs an event as it is.
    pub fn event(&self, e: Event) {
        let mut out = self.out.lock();
        if let Ok(line) = serde_json::to_string(&e) {
            // A log that cannot be written makes the run's check fail on missing operations, which says enough.
            let _unwritable = writeln!(out, "{line}").and_then(|()| out.flush());
        }
    }
}

/// How an error ended an operation: a refusal the backend is sure of, or an unknown outcome.
fn outcome(e: &Error) -> Outcome {
    match e {
        Error::Fenced { .. }
        | Error::FenceHeld { .. }
        | Error::Conflict { .. }
        | Error::InvalidParameter { .. } => Outcome::Fail,
        _ => Outcome::Info,
    }
}

fn result<T>(r: &Result<T, Error>) -> Outcome {
    match r {
        Ok(_) => Outcome::Ok,
        Err(e) => outcome(e),
    }
}

/// Runs the workload as `node` until `stop` is set.
pub async fn run(setup: Setup, node: String, log: Log, stop: Arc<AtomicBool>) -> crate::Result<()> {
    let (c, history) = setup.connect(&node, Duration::from_secs(60)).await?;
    let tasks = [
        tokio::spawn(lead(
            c.clone(),
            history,
            setup.name.clone(),
            log.clone(),
            stop.clone(),
        )),
        tokio::spawn(produce(
            c.clone(),
            setup.name.clone(),
            node.clone(),
            log.clone(),
            stop.clone(),
        )),
        tokio::spawn(consume(c.clone(), setup.name.clone(), log.clone(), stop.clone())),
    ];
    for t in tasks {
        t.await
            .map_err(|e| crate::Error::Run(format!("a workload task failed: {e}")))?;
    }
    c.close().await;
    Ok(())
}

async fn lead(c: Arc<dyn Coordinator>, history: RedisHistory, name: String, log: Log, stop: Arc<AtomicBool>) {
    let Ok(election) = c.election(&name) else { return };
    let config = c.config();
    let mut seq = 0u64;
    while !stop.load(Ordering::SeqCst) {
        let start = now_us();
        // A campaign keeps its place in line until it wins or the run ends (one given up every second went to
        // the back of the line each time, and nobody won for tens of seconds).
        let lead = tokio::select! {
            r = election.campaign() => match r {
                Ok(l) => l,
                Err(e) => {
                    log.failed(start, Op::CampaignFailed, Some(&e));
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = stopped(&stop) => break,
        };
        let token = lead.token().0;
        log.op(start, Op::Elected { token });
        let mut n = 0u32;
        while !stop.load(Ordering::SeqCst) {
            let at = now_us();
            let Ok(writer) = lead.writer() else { break };
            log.op(at, Op::Trusted { token });
            seq += 1;
            let start = now_us();
            // The detail names the writer, so the history read back after the run tells every point's story.
            let point = Point::new(Timestamp::now(), seq as f64).with_detail(serde_json::json!({
                "node": c.node().as_str(), "token": token, "seq": seq,
            }));
            let r = history.append(&name, &writer, &[point]).await;
            log.failed(
                start,
                Op::Append {
                    token,
                    seq,
                    outcome: result(&r),
                },
                r.as_ref().err(),
            );
            if matches!(r, Err(Error::Fenced { .. } | Error::FenceHeld { .. })) {
                break;
            }
            n += 1;
            if n.is_multiple_of(10) {
                push_config(&*config, &name, &lead, &log).await;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let why = lead
            .loss()
            .map_or_else(|| "stopped".to_string(), |r| r.to_string());
        log.op(now_us(), Op::Ended { token, why });
        drop(lead); // resigns in the background
    }
}

/// Resolves once `stop` is set.
async fn stopped(stop: &AtomicBool) {
    while !stop.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A compare-and-set write of a fresh value, by the trusted leader only.
async fn push_config(
    config: &dyn aeroguard_consensus::ConfigStore,
    name: &str,
    lead: &aeroguard_consensus::Leadership,
    log: &Log,
) {
    let Ok(current) = config.get_raw(name).await else {
        return;
    };
    let expect = current.map_or(0, |v| v.version);
    if lead.ensure().is_err() {
        return;
    }
    let value = format!("{}:{}:{}", lead.node(), lead.token().0, now_us());
    let start = now_us();
    let want = if expect == 0 {
        Expect::Absent
    } else {
        Expect::Version(expect)
    };
    let r = config.set_raw(name, value.clone().into_bytes(), want).await;
    log.failed(
        start,
        Op::ConfigSet {
            value,
            expect,
            version: r.as_ref().ok().copied(),
            outcome: result(&r),
        },
        r.as_ref().err(),
    );
}

async fn produce(c: Arc<dyn Coordinator>, name: String, node: String, log: Log, stop: Arc<AtomicBool>) {
    let Ok(q) = c.queue(&name) else { return };
    let mut i = 0u64;
    while !stop.load(Ordering::SeqCst) {
        i += 1;
        let item = format!("{node}-{i}");
        let start = now_us();
        let r = q.put(item.clone().into_bytes()).await;
        log.failed(
            start,
            Op::Put {
                item,
                outcome: result(&r),
            },
            r.as_ref().err(),
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn consume(c: Arc<dyn Coordinator>, name: String, log: Log, stop: Arc<AtomicBool>) {
    let Ok(q) = c.queue(&name) else { return };
    while !stop.load(Ordering::SeqCst) {
        if take_and_ack(&*q, &log, Duration::from_millis(300)).await == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// One take of up to four items, each logged and acked; the number taken.
async fn take_and_ack(q: &dyn aeroguard_consensus::Queue, log: &Log, wait: Duration) -> usize {
    let start = now_us();
    let batch: Vec<Delivery> = match q.take_batch(4, Some(wait)).await {
        Ok(b) => b,
        Err(_) => return 0,
    };
    let taken = batch.len();
    for d in batch {
        let item = String::from_utf8_lossy(d.payload()).into_owned();
        log.op(start, Op::Take { item: item.clone() });
        let start = now_us();
        let r = d.ack().await;
        log.failed(
            start,
            Op::Ack {
                item,
                outcome: result(&r),
            },
            r.as_ref().err(),
        );
    }
    taken
}

/// After the run, with every fault healed: takes what is left in the queue until it stays empty for `quiet`
/// (claims of paused or dead consumers come back after a session timeout), then reads the config and the
/// whole history.
pub async fn finish(setup: Setup, log: Log, quiet: Duration) -> crate::Result<()> {
    let (c, history) = setup.connect("final", Duration::from_secs(60)).await?;
    let q = c.queue(&setup.name)?;
    let mut idle_since = tokio::time::Instant::now();
    while idle_since.elapsed() < quiet {
        if take_and_ack(&*q, &log, Duration::from_millis(500)).await > 0 {
            idle_since = tokio::time::Instant::now();
        }
    }
    let start = now_us();
    let current = c.config().get_raw(&setup.name).await?;
    log.op(
        start,
        Op::ConfigFinal {
            value: current
                .as_ref()
                .map(|v| String::from_utf8_lossy(&v.value).into_owned()),
            version: current.map_or(0, |v| v.version),
        },
    );
    let start = now_us();
    let far = Timestamp::from_millis(i64::MAX / 2);
    let points = history
        .range(&setup.name, Timestamp::EPOCH, far)
        .await?
        .into_iter()
        .filter_map(|p| serde_json::from_value::<Stored>(p.detail?).ok())
        .collect();
    log.op(start, Op::HistoryFinal { points });
    c.close().await;
    Ok(())
}
