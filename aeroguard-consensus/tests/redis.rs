//! The conformance suite, the history store, durability and fencing on the Redis master found through the
//! three Sentinels started by `scripts/services start` (`AEROGUARD_SENTINELS`, comma-separated, overrides them).
#![cfg(all(feature = "redis", feature = "live-services"))]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aeroguard_consensus::conformance::Harness;
use aeroguard_consensus::history::{HistoryStore, Point, Writer};
use aeroguard_consensus::redis::{Durability, RedisCoordinator, RedisOptions};
use aeroguard_consensus::{Coordinator, Error, FencingToken, LossReason};
use aeroguard_core::Timestamp;
use async_trait::async_trait;

mod support;
use support::redis::{master_conn, options, sentinels};

fn run_id() -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    format!("{}-{nanos}", std::process::id())
}

async fn connect(node: &str, options: RedisOptions) -> Arc<RedisCoordinator> {
    RedisCoordinator::connect(node.parse().unwrap(), options)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "Redis via Sentinels {:?} unreachable ({e}): run `scripts/services start`",
                sentinels()
            )
        })
}

struct Redis {
    options: RedisOptions,
    live: Mutex<Vec<Arc<RedisCoordinator>>>,
    run: String,
    counter: AtomicU64,
}

impl Redis {
    fn new() -> Self {
        Redis {
            options: options(),
            live: Mutex::new(Vec::new()),
            run: run_id(),
            counter: AtomicU64::new(0),
        }
    }

    fn find(&self, coordinator: &Arc<dyn Coordinator>) -> Arc<RedisCoordinator> {
        let target = Arc::as_ptr(coordinator) as *const () as usize;
        let live = self.live.lock();
        live.iter()
            .find(|z| Arc::as_ptr(z) as *const () as usize == target)
            .expect("coordinator from this harness")
            .clone()
    }
}

#[async_trait]
impl Harness for Redis {
    async fn connect(&self, node: &str) -> Arc<dyn Coordinator> {
        let c = connect(node, support::redis::as_member(node, self.options.clone())).await;
        self.live.lock().push(c.clone());
        c
    }

    async fn crash(&self, coordinator: Arc<dyn Coordinator>) {
        self.find(&coordinator).abandon();
    }

    async fn expire(&self, coordinator: &Arc<dyn Coordinator>) {
        self.find(coordinator).force_expire().await.unwrap();
    }

    fn session_timeout(&self) -> Duration {
        self.options.session.timeout
    }

    fn unique(&self, base: &str) -> String {
        format!(
            "{base}-{}-{}",
            self.run,
            self.counter.fetch_add(1, Ordering::SeqCst)
        )
    }
}

aeroguard_consensus::conformance_tests!(Redis::new());

#[tokio::test]
async fn round_on_redis() {
    use aeroguard_consensus::round::{Quorum, RoundFollower, RoundLeader, RoundOptions};
    let h = Redis::new();
    let (name, service) = (h.unique("round"), h.unique("round-svc"));
    let options = RoundOptions::new(&name, &service, Duration::from_millis(1_500), Quorum::All);
    let lead = Harness::connect(&h, "lead").await;
    let mut regs = Vec::new();
    for i in 0..2 {
        let c = Harness::connect(&h, &format!("f{i}")).await;
        regs.push(
            c.registry()
                .register(&service, serde_json::json!({}))
                .await
                .unwrap(),
        );
        let mut f = RoundFollower::<f64>::new(c, &options).await.unwrap();
        tokio::spawn(async move {
            loop {
                let Ok(r) = f.next_round().await else { return };
                let _ = f.submit(&r, &(i as f64 + r.round as f64)).await;
            }
        });
    }
    let leadership = lead.election(&name).unwrap().campaign().await.unwrap();
    let leader = RoundLeader::<f64>::new(lead.clone(), options).unwrap();
    for expected in 1..=3u64 {
        let r = leader.run(&leadership).await.unwrap();
        assert_eq!(r.round, expected, "rounds are numbered once each");
        assert_eq!(r.token, leadership.token());
        assert!(r.reached_quorum, "both followers answer on Redis: {r:?}");
        assert_eq!(r.answered[1].1, 1.0 + expected as f64);
    }

    // What a failover that lost the announcements of rounds 2 and 3 leaves: the key back at version 1, round 1.
    // The leader opens round 2 again; followers that had seen round 3 must take part (they ignored it before).
    let round_one = aeroguard_consensus::round::Announcement {
        round: 1,
        token: leadership.token(),
        leader: lead.node().clone(),
        opened_at: Timestamp::from_millis(1),
    };
    roll_back(
        &format!("round-{name}"),
        1,
        &serde_json::to_vec(&round_one).unwrap(),
    )
    .await;
    let r = leader.run(&leadership).await.unwrap();
    assert_eq!(r.round, 2, "the round after the rollback");
    assert!(
        r.reached_quorum,
        "followers answer a round opened again after a rollback: {r:?}"
    );
    drop(regs);
}

/// Leaves config `key` as a failover that lost its later writes would: at `version`, holding `value`.
async fn roll_back(key: &str, version: u64, value: &[u8]) {
    redis::cmd("HSET")
        .arg(format!("aeroguard:cfg:{{{key}}}"))
        .arg("v")
        .arg(version)
        .arg("d")
        .arg(value)
        .query_async::<()>(&mut master_conn().await)
        .await
        .unwrap();
}

/// After a rollback the next writes reuse the lost version numbers with other bytes: a watcher sees them (it
/// dropped every version at or below the highest it had seen, so the next two writes went unseen).
#[tokio::test]
async fn config_watch_heals_a_rollback() {
    use aeroguard_consensus::Expect;
    let key = format!("rollback-{}", run_id());
    let c = connect("rollback", options()).await;
    let store = c.config();
    for v in 1..=3u8 {
        store.set_raw(&key, vec![v], Expect::Any).await.unwrap();
    }
    let mut w = store.watch_raw(&key).await.unwrap();
    assert_eq!(w.next().await.unwrap().version, 3);
    roll_back(&key, 1, &[1]).await;
    let v = store.set_raw(&key, b"after".to_vec(), Expect::Any).await.unwrap();
    assert_eq!(v, 2, "the version of a lost write is used again");
    let mut got = Vec::new();
    while got
        .last()
        .is_none_or(|(_, value): &(u64, Vec<u8>)| value != b"after")
    {
        let next = tokio::time::timeout(Duration::from_secs(5), w.next())
            .await
            .expect("the watcher sees the write after the rollback")
            .unwrap();
        got.push((next.version, next.value));
    }
    assert_eq!(got.last(), Some(&(2, b"after".to_vec())), "{got:?}");
    c.close().await;
}

/// A history store shared by the tests below, on its own coordinator.
async fn history(name: &str) -> (Arc<RedisCoordinator>, aeroguard_consensus::redis::RedisHistory) {
    let c = connect(name, options()).await;
    let h = c.history();
    (c, h)
}

fn p(ms: i64, v: f64) -> Point {
    Point::new(Timestamp::from_millis(ms), v)
}

#[tokio::test]
async fn history_append_range_fence_and_compaction() {
    let (c, store) = history("historian").await;
    support::history::append_range_fence_and_compaction(&store, &format!("pump-{}", run_id())).await;
    c.close().await;
}

#[tokio::test]
async fn durability_waits_for_replicas() {
    let series = format!("durable-{}", run_id());
    let one = options().with_durability(Durability::Replicas {
        count: 1,
        timeout: Duration::from_secs(1),
    });
    let c = connect("durable", one).await;
    c.history()
        .append(&series, &Writer::new(FencingToken(1), "durable"), &[p(1, 1.0)])
        .await
        .unwrap();
    let lead = c
        .election(&format!("durable-{}", run_id()))
        .unwrap()
        .campaign()
        .await
        .unwrap();
    assert!(lead.is_trusted());
    drop(lead);
    c.close().await;

    // Three replicas do not exist: the write is on the master, but reported as not replicated.
    let three = options().with_durability(Durability::Replicas {
        count: 3,
        timeout: Duration::from_millis(200),
    });
    let c = connect("impatient", three).await;
    match c
        .history()
        .append(&series, &Writer::new(FencingToken(1), "durable"), &[p(2, 2.0)])
        .await
    {
        Err(Error::NotReplicated { wanted: 3, acked, .. }) => assert!(acked <= 2),
        other => panic!("expected NotReplicated, got {other:?}"),
    }
    c.close().await;

    // WAIT blocks the connection it runs on, so it runs on one of its own: a read on the same coordinator
    // meanwhile is not held up behind it (it was, on the shared connection), and its time limit (3 s here,
    // past twice the 1 s operation timeout) ends in NotReplicated, not in a dropped shared connection.
    let patient = options().with_durability(Durability::Replicas {
        count: 3,
        timeout: Duration::from_secs(3),
    });
    let c = connect("patient", patient).await;
    let history = c.history();
    let writer = Writer::new(FencingToken(1), "durable");
    let write = async {
        let r = history.append(&series, &writer, &[p(3, 3.0)]).await;
        (r, tokio::time::Instant::now())
    };
    let read = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let r = history.fence(&series).await;
        (r, tokio::time::Instant::now())
    };
    let ((written, write_done), (fence, read_done)) = tokio::join!(write, read);
    assert!(
        matches!(written, Err(Error::NotReplicated { wanted: 3, .. })),
        "{written:?}"
    );
    assert_eq!(fence.unwrap(), Some(FencingToken(1)));
    assert!(
        read_done < write_done,
        "the read waited for the other call's WAIT"
    );
    c.close().await;
}

#[tokio::test]
async fn bad_options_and_unreachable_servers_are_typed_errors() {
    let bad = options().with_prefix("has space");
    assert!(matches!(
        RedisCoordinator::connect("n".parse().unwrap(), bad).await,
        Err(Error::InvalidName { .. })
    ));
    let mut short = options();
    short.operation_timeout = Duration::from_secs(5);
    assert!(matches!(
        RedisCoordinator::connect("n".parse().unwrap(), short).await,
        Err(Error::InvalidParameter {
            name: "operation_timeout",
            ..
        })
    ));
    let nobody = RedisOptions::direct("redis://127.0.0.1:1").with_session_timeout(Duration::from_secs(2));
    let err = tokio::time::timeout(
        Duration::from_secs(10),
        RedisCoordinator::connect("n".parse().unwrap(), nobody),
    )
    .await
    .expect("connect must give up")
    .unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
    let nonsense = RedisOptions::direct("not a url");
    assert!(matches!(
        RedisCoordinator::connect("n".parse().unwrap(), nonsense).await,
        Err(Error::InvalidParameter { name: "target", .. })
    ));
}

/// Two writers claiming the same token: the first keeps it, the second is refused with `FenceHeld`, nothing
/// of it is stored, and a fence written by an older version (the token alone) still reads and admits.
#[tokio::test]
async fn an_equal_token_from_another_owner_is_refused() {
    let (c, store) = history("twins").await;
    let series = format!("twins-{}", run_id());
    let (a, b) = (
        Writer::new(FencingToken(7), "n1"),
        Writer::new(FencingToken(7), "n2"),
    );
    store.append(&series, &a, &[p(1_000, 1.0)]).await.unwrap();
    match store.append(&series, &b, &[p(2_000, 666.0)]).await {
        Err(Error::FenceHeld {
            token: 7,
            holder,
            writer,
            ..
        }) => {
            assert_eq!((holder.as_str(), writer.as_str()), ("n1", "n2"))
        }
        other => panic!("an equal token from another owner must be refused: {other:?}"),
    }
    store.append(&series, &a, &[p(3_000, 3.0)]).await.unwrap();
    assert_eq!(store.fence(&series).await.unwrap(), Some(FencingToken(7)));
    store
        .append(&series, &Writer::new(FencingToken(8), "n2"), &[p(4_000, 4.0)])
        .await
        .unwrap();
    let all = store
        .range(&series, Timestamp::from_millis(0), Timestamp::from_millis(10_000))
        .await
        .unwrap();
    assert_eq!(all.iter().map(|p| p.value).collect::<Vec<_>>(), [1.0, 3.0, 4.0]);
    c.close().await;
}

/// The fencing test: a leader is paused (its whole runtime stops, as in a stop-the-world pause) past its
/// lease; a successor is elected and writes; the old leader wakes and writes with the token it held. The store
/// refuses it, the old leader's own `ensure()` already says the lease is gone, and nothing it wrote after
/// losing the lease is in the history.
#[test]
fn paused_leader_is_fenced_out() {
    let election = format!("fence-{}", run_id());
    let series = format!("fenced-{}", run_id());
    let (to_old, from_test) = std::sync::mpsc::channel::<&'static str>();
    let (to_test, from_old) = std::sync::mpsc::channel::<String>();
    let (e2, s2) = (election.clone(), series.clone());
    let old = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let c = connect("old-leader", options()).await;
            let lead = c.election(&e2).unwrap().campaign().await.unwrap();
            let store = c.history();
            let writer = lead.writer().unwrap();
            let token = writer.token;
            store.append(&s2, &writer, &[p(1_000, 1.0)]).await.unwrap();
            to_test.send(format!("leading {}", token.0)).unwrap();
            // The pause: nothing on this runtime runs (no renewal, no heartbeat) for 3 s, past the 2 s lease.
            assert_eq!(from_test.recv().unwrap(), "pause");
            std::thread::sleep(Duration::from_secs(3));
            // Awake: the lease deadline has passed, and ensure() knows without waiting for any task.
            let lost = lead.ensure();
            // A write prepared before the pause goes out with the old token, and is refused by the store.
            let stale = store.append(&s2, &writer, &[p(3_000, 666.0)]).await;
            to_test.send(format!("{lost:?} | {stale:?}")).unwrap();
            assert!(matches!(
                lead.lost().await,
                LossReason::LeaseExpired { .. } | LossReason::Deposed
            ));
            std::mem::forget(lead);
            c.abandon();
        });
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let first = from_old.recv().unwrap();
        let old_token: u64 = first.trim_start_matches("leading ").parse().unwrap();
        let c = connect("new-leader", options()).await;
        let e = c.election(&election).unwrap();
        let waiting = tokio::spawn(async move { e.campaign().await });
        tokio::time::sleep(Duration::from_millis(200)).await;
        to_old.send("pause").unwrap();
        let lead = tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("successor elected while the old leader sleeps")
            .unwrap()
            .unwrap();
        assert!(lead.token().0 > old_token);
        let store = c.history();
        store
            .append(&series, &lead.writer().unwrap(), &[p(2_000, 2.0)])
            .await
            .unwrap();
        let report = tokio::task::spawn_blocking(move || from_old.recv().unwrap())
            .await
            .unwrap();
        assert!(
            report.starts_with("Err(LeadershipLost"),
            "old leader must distrust itself: {report}"
        );
        assert!(report.contains("LeaseExpired"), "{report}");
        assert!(
            report.contains("Err(Fenced"),
            "the store must refuse the stale write: {report}"
        );
        let all = store
            .range(&series, Timestamp::from_millis(0), Timestamp::from_millis(10_000))
            .await
            .unwrap();
        assert_eq!(
            all.iter().map(|p| p.value).collect::<Vec<_>>(),
            [1.0, 2.0],
            "nothing the old leader wrote after losing the lease is visible"
        );
        drop(lead);
        c.close().await;
    });
    old.join().unwrap();
}

/// How many consumers the queue's group has, read straight from the master.
async fn group_consumers(queue: &str) -> usize {
    let mut conn = master_conn().await;
    let all: Vec<redis::Value> = redis::cmd("XINFO")
        .arg("CONSUMERS")
        .arg(format!("aeroguard:q:{{{queue}}}"))
        .arg("aeroguard")
        .query_async(&mut conn)
        .await
        .unwrap();
    all.len()
}

/// Every session reads as a consumer of its own; those that hold nothing and sat idle for a session timeout
/// leave the group (it used to grow by one consumer per session, forever).
#[tokio::test]
async fn idle_consumers_leave_the_group() {
    let name = format!("reap-{}", run_id());
    let producer = connect("reap-producer", options()).await;
    let q = producer.queue(&name).unwrap();
    q.put_batch((0..5u8).map(|i| vec![i]).collect()).await.unwrap();
    for i in 0..5 {
        let c = connect(&format!("reap-{i}"), options()).await;
        let d = c
            .queue(&name)
            .unwrap()
            .take(Some(Duration::from_secs(5)))
            .await
            .unwrap();
        d.ack().await.unwrap();
        c.close().await;
    }
    assert_eq!(
        group_consumers(&name).await,
        5,
        "five sessions read, five consumers"
    );
    tokio::time::sleep(Duration::from_millis(2300)).await; // past the 2 s session timeout
    q.put(vec![9]).await.unwrap();
    let d = q.take(Some(Duration::from_secs(5))).await.unwrap();
    d.ack().await.unwrap();
    assert_eq!(
        group_consumers(&name).await,
        1,
        "only the consumer still reading is left"
    );
    producer.close().await;
}

/// Compaction runs in bounded steps (one script folded a whole range, blocking Redis for as long as the range
/// was big): 2,999 points to drop and 6,000 to fold take at least five steps, and the buckets come out whole
/// although steps split them.
#[tokio::test]
async fn compaction_runs_in_bounded_steps() {
    let (c, store) = history("compactor").await;
    support::history::compaction_in_bounded_steps(&store, &format!("steps-{}", run_id())).await;
    c.close().await;
}

/// A lease that ends early by the server's clock (a forward clock step expires its key and the holder's
/// liveness at once; here the key is deleted and the liveness set to the epoch) is not granted again before its holder has stopped trusting it: the next candidate waits out a
/// lease on its own clock after the last renewal it saw (it was granted at once before, while the holder, paused
/// and unaware, still trusted its lease for up to 9T/10).
#[test]
fn a_lease_expired_early_is_waited_out() {
    let election = format!("early-{}", run_id());
    let (to_old, from_test) = std::sync::mpsc::channel::<&'static str>();
    let (to_test, from_old) = std::sync::mpsc::channel::<Option<std::time::Instant>>();
    let e2 = election.clone();
    let old = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let c = connect("early-holder", options()).await;
            let lead = c.election(&e2).unwrap().campaign().await.unwrap();
            to_test.send(None).unwrap();
            // Renewing meanwhile (the wait is off the runtime's thread).
            let msg = tokio::task::spawn_blocking(move || from_test.recv().unwrap())
                .await
                .unwrap();
            assert_eq!(msg, "pause");
            // Paused: no task of this runtime runs, so nothing tells the holder its key is gone; it trusts the
            // lease until its own deadline.
            while lead.is_trusted() {
                std::thread::sleep(Duration::from_millis(1));
            }
            to_test.send(Some(std::time::Instant::now())).unwrap();
            std::mem::forget(lead);
            c.abandon();
        });
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        assert_eq!(from_old.recv().unwrap(), None, "the holder leads");
        let c = connect("early-successor", options()).await;
        let e = c.election(&election).unwrap();
        let waiting = tokio::spawn(async move { e.campaign().await });
        tokio::time::sleep(Duration::from_millis(300)).await;
        to_old.send("pause").unwrap();
        // What a forward clock step on the server does: every deadline it keeps has passed, the lease's expiry
        // and the holder's liveness in the queue alike.
        let base = format!("aeroguard:el:{{{election}}}");
        let removed: i64 = redis::Script::new(
            r"
local holder = redis.call('ZRANGE', KEYS[1], 0, 0)[1]
redis.call('ZADD', KEYS[2], 0, holder)
return redis.call('DEL', KEYS[3])",
        )
        .key(format!("{base}:queue"))
        .key(format!("{base}:alive"))
        .key(format!("{base}:lease"))
        .invoke_async(&mut master_conn().await)
        .await
        .unwrap();
        assert_eq!(removed, 1, "the lease key was there");
        let deleted = std::time::Instant::now();
        let lead = tokio::time::timeout(Duration::from_secs(10), waiting)
            .await
            .expect("a successor once the lease is waited out")
            .unwrap()
            .unwrap();
        let granted = std::time::Instant::now();
        let trust_ended = tokio::task::spawn_blocking(move || from_old.recv().unwrap())
            .await
            .unwrap()
            .expect("the holder's trust ended");
        eprintln!(
            "key deleted; successor granted after {:?}, holder trusted for {:?} more",
            granted - deleted,
            trust_ended.saturating_duration_since(deleted)
        );
        assert!(
            trust_ended <= granted,
            "the successor was granted {:?} before the holder stopped trusting its lease",
            trust_ended - granted
        );
        drop(lead);
        c.close().await;
    });
    old.join().unwrap();
}

#[tokio::test]
async fn history_latest_reads_only_the_newest() {
    let (c, store) = history("historian-latest").await;
    support::history::latest_reads_the_newest(&store, &format!("latest-{}", run_id())).await;
    c.close().await;
}
