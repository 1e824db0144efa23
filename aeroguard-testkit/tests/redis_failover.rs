//! Sentinel failover on the Redis started by `scripts/services start`: the master is killed (SIGKILL) while
//! two nodes campaign and the leader appends to the fenced history, a producer puts into the queue and a
//! consumer takes and acks. Sentinel promotes the replica; the recipes find it and carry on. The test measures
//! how long writes stalled, then restarts the killed server (it rejoins as a replica).
#![cfg(feature = "live-services")]

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aeroguard_consensus::history::{HistoryStore, Point};
use aeroguard_consensus::redis::{RedisCoordinator, RedisOptions};
use aeroguard_consensus::{Coordinator, Error};
use aeroguard_core::Timestamp;
use tokio::time::{Instant, sleep};

use aeroguard_testkit::raw as support;
use aeroguard_testkit::services;
use support::{SENTINELS, master_port, raw};

/// The services script's name of the Redis server on `port`.
fn node_of(port: u16) -> &'static str {
    match port {
        6379 => "redis1",
        6380 => "redis2",
        6381 => "redis3",
        other => panic!("no Redis server of the test services on port {other}"),
    }
}

/// The failovers in this file run one at a time (each changes the one Redis every test here shares).
static SERIAL: Mutex<()> = Mutex::new(());

/// Runs one failover scenario on a runtime of its own, after any other has finished.
fn one_at_a_time(scenario: impl std::future::Future<Output = ()>) {
    let _serial = SERIAL.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(scenario);
}

fn ms_since(origin: Instant, t: Instant) -> i128 {
    if t >= origin {
        (t - origin).as_millis() as i128
    } else {
        -((origin - t).as_millis() as i128)
    }
}

fn unique(base: &str) -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    format!("{base}-{}-{nanos}", std::process::id())
}

#[derive(Default)]
struct Log {
    /// Successful history appends: when the call started, by whom, with which token. The start, not the
    /// answer: a write answered by the master just before it died can be logged after the kill, and must not
    /// count as "writes resumed" (CI failed on such a put, logged 1 ms after the kill).
    appends: Vec<(Instant, String, u64)>,
    /// Successful puts: when the call started, which item.
    puts: Vec<(Instant, u32)>,
    /// Failed puts: when the call started, how long it took, and the error.
    put_errors: Vec<(Instant, Duration, String)>,
    /// Failed appends: when the call started, how long it took, by whom, and the error.
    append_errors: Vec<(Instant, Duration, String, String)>,
    consumed: BTreeSet<u32>,
    elected: Vec<(Instant, String, u64)>,
    ended: Vec<(Instant, String, u64, String)>,
}

fn options() -> RedisOptions {
    aeroguard_consensus::deployment::redis_auth(
        RedisOptions::sentinel(&SENTINELS, "aeroguard").with_session_timeout(Duration::from_secs(5)),
    )
    .unwrap()
}

/// Writes acknowledged only once both replicas have them.
fn durable() -> RedisOptions {
    options().with_durability(aeroguard_consensus::redis::Durability::Replicas {
        count: 2,
        timeout: Duration::from_millis(500),
    })
}

async fn leader_loop(
    node: &'static str,
    election: String,
    series: String,
    log: Arc<Mutex<Log>>,
    stop: Arc<AtomicBool>,
) {
    let c = RedisCoordinator::connect(node.parse().unwrap(), options())
        .await
        .unwrap();
    let store = c.history();
    let e = c.election(&election).unwrap();
    while !stop.load(Ordering::SeqCst) {
        let lead = match tokio::time::timeout(Duration::from_millis(500), e.campaign()).await {
            Ok(Ok(l)) => l,
            Ok(Err(_)) => {
                sleep(Duration::from_millis(50)).await;
                continue;
            }
            Err(_) => continue,
        };
        log.lock()
            .unwrap()
            .elected
            .push((Instant::now(), node.into(), lead.token().0));
        let mut seq = 0;
        while !stop.load(Ordering::SeqCst) {
            let Ok(writer) = lead.writer() else { break };
            let token = writer.token;
            seq += 1;
            let point = Point::new(Timestamp::now(), f64::from(seq));
            let started = Instant::now();
            match store.append(&series, &writer, &[point]).await {
                Ok(()) => log.lock().unwrap().appends.push((started, node.into(), token.0)),
                Err(Error::Fenced { .. }) => break,
                Err(e) => log.lock().unwrap().append_errors.push((
                    started,
                    started.elapsed(),
                    node.into(),
                    e.to_string(),
                )),
            }
            sleep(Duration::from_millis(20)).await;
        }
        let why = lead
            .loss()
            .map_or_else(|| "stopped".to_string(), |r| r.to_string());
        log.lock()
            .unwrap()
            .ended
            .push((Instant::now(), node.into(), lead.token().0, why));
    }
    c.close().await;
}

#[test]
fn sentinel_failover_keeps_elections_queue_and_history_running() {
    one_at_a_time(failover());
}

async fn failover() {
    let (election, series, queue) = (unique("fo"), unique("fo-series"), unique("fo-queue"));
    let log = Arc::new(Mutex::new(Log::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for node in ["node-a", "node-b"] {
        tasks.push(tokio::spawn(leader_loop(
            node,
            election.clone(),
            series.clone(),
            log.clone(),
            stop.clone(),
        )));
    }
    // Puts wait for both replicas: whichever Sentinel promotes has every acknowledged item (the test tolerated
    // the loss of the last second's puts before).
    let producer = RedisCoordinator::connect("producer".parse().unwrap(), durable())
        .await
        .unwrap();
    let q = producer.queue(&queue).unwrap();
    let (plog, pstop) = (log.clone(), stop.clone());
    let putting = tokio::spawn(async move {
        let mut i = 0u32;
        while !pstop.load(Ordering::SeqCst) {
            let started = Instant::now();
            match q.put(i.to_be_bytes().to_vec()).await {
                Ok(()) => {
                    plog.lock().unwrap().puts.push((started, i));
                    i += 1;
                }
                Err(e) => plog
                    .lock()
                    .unwrap()
                    .put_errors
                    .push((started, started.elapsed(), e.to_string())),
            }
            sleep(Duration::from_millis(10)).await;
        }
    });
    let consumer = RedisCoordinator::connect("consumer".parse().unwrap(), options())
        .await
        .unwrap();
    let cq = consumer.queue(&queue).unwrap();
    let clog = log.clone();
    let done = Arc::new(AtomicBool::new(false));
    let cdone = done.clone();
    let consuming = tokio::spawn(async move {
        while !cdone.load(Ordering::SeqCst) {
            let Ok(batch) = cq.take_batch(64, Some(Duration::from_millis(300))).await else {
                sleep(Duration::from_millis(50)).await;
                continue;
            };
            let items: Vec<u32> = batch
                .iter()
                .map(|d| u32::from_be_bytes(d.payload().try_into().unwrap()))
                .collect();
            if aeroguard_consensus::Delivery::ack_all(batch).await.is_ok() {
                clog.lock().unwrap().consumed.extend(items);
            }
        }
    });

    sleep(Duration::from_millis(2_000)).await;
    let port = master_port();
    let victim = node_of(port);
    let before = log.lock().unwrap().appends.len();
    assert!(
        before > 20,
        "the leader writes before the kill ({before} appends)"
    );
    services(&["kill", victim]);
    // Taken once the server is dead: a write that lands between the start of the kill and the process's
    // exit must not count as "writes resumed after the failover".
    let killed = Instant::now();
    // Once Sentinel has promoted a replica, the killed server comes back (as a replica): puts, which wait for
    // two replicas, resume when it has caught up.
    let rejoined = tokio::task::spawn_blocking(move || {
        let until = std::time::Instant::now() + Duration::from_secs(30);
        while master_port() == port && std::time::Instant::now() < until {
            std::thread::sleep(Duration::from_millis(100));
        }
        services(&["restart", victim]);
    });
    // Run until writes have come back and kept going for two seconds, and puts have come back (they wait for
    // the killed server to rejoin), at most 40 s.
    let deadline = killed + Duration::from_secs(40);
    loop {
        sleep(Duration::from_millis(100)).await;
        let (resumed, put_again) = {
            let l = log.lock().unwrap();
            (
                l.appends.iter().find(|a| a.0 > killed).map(|a| a.0),
                l.puts.iter().any(|p| p.0 > killed),
            )
        };
        if (resumed.is_some_and(|r| r.elapsed() > Duration::from_secs(2)) && put_again)
            || Instant::now() > deadline
        {
            break;
        }
    }
    stop.store(true, Ordering::SeqCst);
    putting.await.unwrap();
    for t in tasks {
        t.await.unwrap();
    }
    // Let the consumer drain.
    let drain_until = Instant::now() + Duration::from_secs(10);
    loop {
        let (missing, last_put) = {
            let l = log.lock().unwrap();
            let after: Vec<u32> = l.puts.iter().filter(|p| p.0 > killed).map(|p| p.1).collect();
            (
                after.iter().filter(|i| !l.consumed.contains(i)).count(),
                after.last().copied(),
            )
        };
        if missing == 0 || Instant::now() > drain_until {
            assert_eq!(
                missing, 0,
                "every item put after the failover is delivered (last put {last_put:?})"
            );
            break;
        }
        sleep(Duration::from_millis(100)).await;
    }
    done.store(true, Ordering::SeqCst);
    consuming.await.unwrap();

    let new_port = master_port();
    rejoined.await.unwrap();
    services(&["wait"]);
    producer.close().await;
    consumer.close().await;

    let l = log.lock().unwrap();
    // A timeline of what each party saw, printed before any verdict so a failure explains itself.
    let at = |t: Instant| ms_since(killed, t);
    let terms: Vec<String> = l
        .elected
        .iter()
        .map(|e| format!("{} #{} at {:+} ms", e.1, e.2, at(e.0)))
        .collect();
    let ends: Vec<String> = l
        .ended
        .iter()
        .map(|e| format!("{} #{} at {:+} ms: {}", e.1, e.2, at(e.0), e.3))
        .collect();
    // Runs of identical failures, folded: "first..last (count, longest call): error".
    let fold = |errors: Vec<(Instant, Duration, String)>| {
        let mut runs: Vec<(Instant, Instant, usize, Duration, String)> = Vec::new();
        for (t, took, e) in errors {
            match runs.last_mut() {
                Some(r) if r.4 == e => {
                    r.1 = t;
                    r.2 += 1;
                    r.3 = r.3.max(took);
                }
                _ => runs.push((t, t, 1, took, e)),
            }
        }
        runs.iter()
            .map(|r| {
                format!(
                    "{:+}..{:+} ms ({}x, longest {} ms): {}",
                    at(r.0),
                    at(r.1),
                    r.2,
                    r.3.as_millis(),
                    r.4
                )
            })
            .collect::<Vec<_>>()
    };
    let put_errors = fold(l.put_errors.clone());
    let append_errors = fold(
        l.append_errors
            .iter()
            .map(|e| (e.0, e.1, format!("{}: {}", e.2, e.3)))
            .collect(),
    );
    // The stall: the longest gap between consecutive successful writes from just before the kill on.
    let gap = |times: Vec<Instant>| {
        times
            .windows(2)
            .filter(|w| w[1] > killed - Duration::from_millis(500))
            .map(|w| (w[1] - w[0], w[0], w[1]))
            .max()
    };
    let stall = gap(l.appends.iter().map(|a| a.0).collect());
    let put_stall = gap(l.puts.iter().map(|p| p.0).collect());
    let lost: Vec<u32> = l
        .puts
        .iter()
        .filter(|p| p.0 <= killed)
        .map(|p| p.1)
        .filter(|i| !l.consumed.contains(i))
        .collect();
    let by = |t: Instant| {
        l.appends
            .iter()
            .find(|a| a.0 == t)
            .map(|a| format!("{} token {}", a.1, a.2))
    };
    println!(
        "sentinel failover: killed {victim} (port {port}), new master port {new_port}; history writes stalled {:?} ms \
         (last before by {:?}, first after by {:?}); queue puts stalled {:?} ms; {} terms elected; \
         {} acknowledged items put before the kill were lost; {} items consumed",
        stall.map(|s| s.0.as_millis()),
        stall.and_then(|s| by(s.1)),
        stall.and_then(|s| by(s.2)),
        put_stall.map(|s| s.0.as_millis()),
        l.elected.len(),
        lost.len(),
        l.consumed.len()
    );
    println!("terms: {terms:?}");
    println!("ends: {ends:?}");
    println!("failed puts: {put_errors:?}");
    println!("failed appends: {append_errors:?}");
    let last_put = l.puts.last().map(|p| at(p.0));
    let last_append = l.appends.last().map(|a| at(a.0));
    println!("last put at {last_put:?} ms, last append at {last_append:?} ms");

    assert_ne!(new_port, port, "Sentinel promoted the replica");
    let (stall, _, stall_to) = stall.expect("history writes around the kill");
    assert!(stall_to > killed, "history writes resume after the failover");
    let (_, _, put_to) = put_stall.expect("queue puts around the kill");
    assert!(put_to > killed, "queue puts resume after the failover");
    assert!(
        stall < Duration::from_secs(15),
        "history writes stalled {stall:?}"
    );
    let tokens: Vec<u64> = l.appends.iter().map(|a| a.2).collect();
    assert!(
        l.appends
            .windows(2)
            .all(|w| w[1].2 > w[0].2 || (w[1].2 == w[0].2 && w[1].1 == w[0].1)),
        "the history only ever accepted tokens in order, an equal token only from its term's leader: {tokens:?}"
    );
    assert!(
        lost.is_empty(),
        "acknowledged items (replicated to both replicas) were lost: {lost:?}"
    );
}

/// `SET key value` as the services' admin user.
fn set_raw(port: u16, key: &str, value: &[u8]) {
    let mut c = raw(&format!("127.0.0.1:{port}"), "AEROGUARD_REDIS_ADMIN");
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    redis::cmd("SET")
        .arg(key)
        .arg(value)
        .query::<()>(&mut c)
        .unwrap_or_else(|e| panic!("SET {key} on {port}: {e}"));
}

/// A failover that loses acknowledged writes: both replicas are paused (SIGSTOP) and the master is given 64 MB
/// to replicate, so what follows stays in its output buffers; a grant is made; the master is killed and the
/// replicas resumed. The promoted replica never saw the grant or its counter increment. The next grant must
/// still carry a higher token (it repeated the lost one before tokens carried Sentinel's failover epoch).
#[test]
fn a_lossy_failover_never_repeats_a_token() {
    one_at_a_time(lossy_failover());
}

async fn lossy_failover() {
    let election = unique("lossy");
    let options = || options().with_session_timeout(Duration::from_secs(2));
    let a = RedisCoordinator::connect("lossy-a".parse().unwrap(), options())
        .await
        .unwrap();
    let a_durable = RedisCoordinator::connect("lossy-p".parse().unwrap(), durable())
        .await
        .unwrap();
    // A first term, replicated everywhere: the counter exists on every server.
    let e = a.election(&election).unwrap();
    let first = e.campaign().await.unwrap();
    let t0 = first.token();
    first.resign().await.unwrap();
    sleep(Duration::from_millis(500)).await;

    let port = master_port();
    let victim = node_of(port);
    let replicas: Vec<&str> = [6379, 6380, 6381]
        .into_iter()
        .filter(|&p| p != port)
        .map(node_of)
        .collect();
    for r in &replicas {
        services(&["pause", r]);
    }
    set_raw(port, &unique("lossy-ballast"), &vec![b'x'; 64 << 20]);
    let lost = tokio::time::timeout(Duration::from_secs(3), e.campaign())
        .await
        .expect("granted while the master still counts its replicas as recent")
        .unwrap();
    let t1 = lost.token();
    // A put that waits for the replicas is not acknowledged: it would be lost with the master (it was, when puts
    // never waited).
    let queue = unique("lossy-queue");
    let put = tokio::time::timeout(
        Duration::from_secs(3),
        a_durable.queue(&queue).unwrap().put(b"would be lost".to_vec()),
    )
    .await
    .expect("a put answers within its replication timeout");
    assert!(
        matches!(
            put,
            Err(Error::NotReplicated {
                wanted: 2,
                acked: 0,
                ..
            })
        ),
        "an unreplicated put is not acknowledged: {put:?}"
    );
    services(&["kill", victim]);
    let killed = Instant::now();
    for r in &replicas {
        services(&["resume", r]);
    }
    drop(lost);

    // Sentinel names the dead master until it fails over: connect as an application would, retrying.
    let b = loop {
        match RedisCoordinator::connect("lossy-b".parse().unwrap(), options()).await {
            Ok(b) => break b,
            Err(e) if e.is_retryable() && killed.elapsed() < Duration::from_secs(30) => {
                sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("no session after the failover: {e}"),
        }
    };
    // A session opened while Sentinel fails over may expire with it (its key went to the dead master): the
    // campaign then goes on in the next session, as a node's does.
    let elect = b.election(&election).unwrap();
    let next = loop {
        match tokio::time::timeout(Duration::from_secs(30), elect.campaign())
            .await
            .expect("a leader after the failover")
        {
            Ok(lead) => break lead,
            Err(e)
                if (matches!(e, Error::SessionExpired { .. }) || e.is_retryable())
                    && killed.elapsed() < Duration::from_secs(30) =>
            {
                sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("no leader after the failover: {e}"),
        }
    };
    let t2 = next.token();
    let after = killed.elapsed();
    let new_port = master_port();
    drop(next);
    b.close().await;
    services(&["restart", victim]);
    services(&["wait"]);
    a.close().await;
    a_durable.close().await;
    eprintln!(
        "lossy failover {port} -> {new_port}: tokens {} then {} (lost grant) then {} after {} ms",
        t0.0,
        t1.0,
        t2.0,
        after.as_millis()
    );
    assert_ne!(new_port, port, "Sentinel promoted a replica");
    assert!(t1 > t0, "tokens increase ({} then {})", t0.0, t1.0);
    assert!(
        t2 > t1,
        "the grant after a lossy failover reuses or lowers the lost grant's token ({} then {})",
        t1.0,
        t2.0
    );
}

/// The CP configuration: a master that hears from no replica (both paused here, as a partition would cut them
/// off) refuses writes after `min-replicas-max-lag`, so its leader's renewals fail and the leader stops trusting
/// its lease. Without `min-replicas-to-write` the master took the renewals and the leader stayed trusted for as
/// long as the cut lasted, while Sentinel's majority side could elect another.
#[test]
fn a_master_cut_off_from_its_replicas_stops_its_leader() {
    one_at_a_time(master_cut_off());
}

async fn master_cut_off() {
    let c = RedisCoordinator::connect(
        "cut-leader".parse().unwrap(),
        options().with_session_timeout(Duration::from_secs(2)),
    )
    .await
    .unwrap();
    let lead = c.election(&unique("cut")).unwrap().campaign().await.unwrap();
    let port = master_port();
    let replicas: Vec<&str> = [6379, 6380, 6381]
        .into_iter()
        .filter(|&p| p != port)
        .map(node_of)
        .collect();
    for r in &replicas {
        services(&["pause", r]);
    }
    let cut = Instant::now();
    let lost = tokio::time::timeout(Duration::from_secs(10), lead.lost()).await;
    let after = cut.elapsed();
    for r in &replicas {
        services(&["resume", r]);
    }
    services(&["wait"]);
    c.close().await;
    eprintln!(
        "master cut off from its replicas: leadership ended after {} ms: {lost:?}",
        after.as_millis()
    );
    assert!(
        lost.is_ok(),
        "the leader of a master with no replica stays trusted ({} ms and counting)",
        after.as_millis()
    );
    // min-replicas-max-lag (2 s) + the replicas' acknowledgement period (1 s) + 9T/10 (1.8 s), and slack.
    assert!(after < Duration::from_secs(7), "ended after {after:?}");
}
