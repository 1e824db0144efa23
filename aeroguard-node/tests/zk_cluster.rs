//! Failure tests on the real 3-node ZooKeeper ensemble started by `scripts/services start`: leader processes
//! killed with SIGKILL, the ZooKeeper server a leader is connected to killed, the ensemble's own leader killed,
//! and a 10,000-item queue whose consumer is killed mid-stream.
#![cfg(feature = "live-services")]

use parking_lot::Mutex;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aeroguard_consensus::deployment::zk_auth;
use aeroguard_consensus::zookeeper::{ZkCoordinator, ZkOptions};
use aeroguard_consensus::{Coordinator, SessionState};
use aeroguard_node::CommandEvent;
use aeroguard_testkit::services;

/// The tests kill and restart shared servers: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

const HOSTS: &str = "127.0.0.1:2181,127.0.0.1:2182,127.0.0.1:2183";

/// The token of an `elected` line of `aeroguard-node lead`.
fn elected_token(line: &str) -> u64 {
    match CommandEvent::parse(line) {
        Some(CommandEvent::Elected { token, .. }) => token,
        other => panic!("not an elected line: {line} ({other:?})"),
    }
}

/// The item of a `got` line of `aeroguard-node consume`.
fn item(line: &str) -> u32 {
    match CommandEvent::parse(line) {
        Some(CommandEvent::Got { item }) => item,
        other => panic!("not a got line: {line} ({other:?})"),
    }
}

fn unique(base: &str) -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    format!("{base}-{}-{nanos}", std::process::id())
}

struct Node {
    child: Child,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `aeroguard-node` with `args`; its stdout lines arrive on `tx` tagged with `tag`.
fn spawn_node(tag: &str, args: &[&str], tx: &Sender<(String, String, Instant)>) -> Node {
    let mut child = Command::new(env!("CARGO_BIN_EXE_aeroguard-node"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start aeroguard-node");
    let stdout = child.stdout.take().unwrap();
    let (tx, tag) = (tx.clone(), tag.to_string());
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send((tag.clone(), line, Instant::now())).is_err() {
                return;
            }
        }
    });
    Node { child }
}

fn next_line(
    rx: &Receiver<(String, String, Instant)>,
    within: Duration,
    what: &str,
) -> (String, String, Instant) {
    rx.recv_timeout(within)
        .unwrap_or_else(|_| panic!("no {what} within {within:?}"))
}

fn zk4(port: u16, word: &str) -> String {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let _ = s.write_all(word.as_bytes());
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

fn ensemble_leader() -> Option<usize> {
    (1..=3).find(|n| zk4(2180 + *n as u16, "srvr").contains("Mode: leader"))
}

/// The ZooKeeper server (1-3) this process holds a connection to: its own sockets (`/proc/self/fd`) found
/// among the established connections to the client ports (`/proc/net/tcp`). The servers answer no `cons`:
/// four-letter words are limited to health checks.
fn server_of_this_process() -> Option<usize> {
    let inodes: std::collections::HashSet<String> = std::fs::read_dir("/proc/self/fd")
        .ok()?
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter_map(|link| {
            let link = link.to_string_lossy().into_owned();
            Some(link.strip_prefix("socket:[")?.strip_suffix(']')?.to_string())
        })
        .collect();
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    table.lines().skip(1).find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        // local, remote, state (01: established), ..., inode (the tenth field).
        if f.len() < 10 || f[3] != "01" || !inodes.contains(f[9]) {
            return None;
        }
        let port = u16::from_str_radix(f[2].rsplit(':').next()?, 16).ok()?;
        (2181..=2183).contains(&port).then(|| usize::from(port - 2180))
    })
}

#[test]
fn killed_leader_process_is_replaced_within_the_session_timeout() {
    let _serial = SERIAL.lock();
    let election = unique("kill-leader");
    let (tx, rx) = channel();
    let session_ms = 2000u64;
    let mut nodes: Vec<(String, Node)> = (1..=3)
        .map(|i| {
            let id = format!("p{i}");
            let args = ["--node", &id, "--session-ms", "2000", "lead", &election];
            (id.clone(), spawn_node(&id, &args, &tx))
        })
        .collect();
    let (mut leader, line, _) = next_line(&rx, Duration::from_secs(15), "election");
    assert!(
        matches!(CommandEvent::parse(&line), Some(CommandEvent::Elected { .. })),
        "{line}"
    );
    let mut token: u64 = elected_token(&line);
    for round in 0..2 {
        let index = nodes.iter().position(|(id, _)| *id == leader).unwrap();
        let (_, mut node) = nodes.remove(index);
        let killed = Instant::now();
        node.child.kill().unwrap();
        let _ = node.child.wait();
        let (next, line, at) = next_line(&rx, Duration::from_secs(10), "failover");
        assert!(
            matches!(CommandEvent::parse(&line), Some(CommandEvent::Elected { .. })),
            "{line}"
        );
        let took = at - killed;
        eprintln!("round {round}: {leader} killed, {next} elected after {took:?}");
        // The servers expire a session within one tick (200 ms here) after its timeout.
        assert!(
            took < Duration::from_millis(session_ms + 1000),
            "failover took {took:?}"
        );
        let next_token: u64 = elected_token(&line);
        assert!(
            next_token > token,
            "tokens must increase: {token} then {next_token}"
        );
        (leader, token) = (next, next_token);
        // A replacement, so there is always someone to fail over to.
        let id = format!("r{round}");
        let args = ["--node", &id, "--session-ms", "2000", "lead", &election];
        nodes.push((id.clone(), spawn_node(&id, &args, &tx)));
    }
}

async fn leader_survives(kill: impl FnOnce(i64) -> usize) {
    let options = ZkOptions::new(HOSTS)
        .with_session_timeout(Duration::from_secs(4))
        .with_auth(zk_auth().unwrap().expect("the test services authenticate"));
    let coord = ZkCoordinator::connect("survivor".parse().unwrap(), options)
        .await
        .unwrap();
    let election = unique("survive");
    let term = coord.election(&election).unwrap().campaign().await.unwrap();
    let mut session = coord.session();
    let victim = kill(coord.session_id().unwrap());
    let killed = Instant::now();
    services(&["kill", &format!("zk{victim}")]);
    // Wait until the session is connected again (it may or may not have noticed a disconnection).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let back = tokio::time::timeout(
        Duration::from_secs(10),
        session.wait_for(|s| s.state == SessionState::Connected),
    )
    .await
    .expect("session never reconnected");
    drop(back);
    eprintln!("zk{victim} killed: connected again after {:?}", killed.elapsed());
    // Past the session timeout, the leadership is still trusted and the recipes work.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(
        term.is_trusted(),
        "spurious loss of leadership: {:?}",
        term.loss()
    );
    assert_eq!(
        coord
            .election(&election)
            .unwrap()
            .leader()
            .await
            .unwrap()
            .unwrap()
            .as_str(),
        "survivor"
    );
    let q = coord.queue(&unique("after")).unwrap();
    q.put(b"x".to_vec()).await.unwrap();
    q.take(Some(Duration::from_secs(5)))
        .await
        .unwrap()
        .ack()
        .await
        .unwrap();
    services(&["restart", &format!("zk{victim}")]);
    assert!(term.is_trusted());
    term.resign().await.unwrap();
    coord.close().await;
}

/// Runs `f` on its own runtime while holding the serial lock.
fn serial<F: std::future::Future<Output = ()>>(f: F) {
    let _serial = SERIAL.lock();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(f);
}

#[test]
fn killing_the_server_a_leader_is_connected_to_keeps_leadership() {
    serial(leader_survives(|_| {
        server_of_this_process().expect("no connection of this process to a ZooKeeper server")
    }));
}

#[test]
fn killing_the_ensemble_leader_keeps_leadership() {
    serial(leader_survives(|_| {
        ensemble_leader().expect("no ensemble leader")
    }));
}

#[test]
fn ten_thousand_items_survive_a_killed_consumer() {
    serial(ten_thousand_items());
}

async fn ten_thousand_items() {
    const N: u32 = 10_000;
    let name = unique("q10k");
    let producer = ZkCoordinator::connect(
        "producer".parse().unwrap(),
        ZkOptions::new(HOSTS).with_auth(zk_auth().unwrap().expect("the test services authenticate")),
    )
    .await
    .unwrap();
    let q = producer.queue(&name).unwrap();
    q.put_batch((0..N).map(|i| i.to_be_bytes().to_vec()).collect())
        .await
        .unwrap();
    assert_eq!(q.len().await.unwrap(), N as usize);

    let (tx, rx) = channel();
    let mut got_a = Vec::new();
    {
        let mut a = spawn_node(
            "a",
            &["--node", "consumer-a", "--session-ms", "2000", "consume", &name],
            &tx,
        );
        while got_a.len() < 3000 {
            let (_, line, _) = next_line(&rx, Duration::from_secs(30), "consumer a");
            got_a.push(item(&line));
        }
        a.child.kill().unwrap();
        let _ = a.child.wait();
    }
    // Lines already printed before the kill.
    while let Ok((_, line, _)) = rx.recv_timeout(Duration::from_millis(200)) {
        got_a.push(item(&line));
    }
    let _b = spawn_node(
        "b",
        &["--node", "consumer-b", "--session-ms", "2000", "consume", &name],
        &tx,
    );
    let mut got_b = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while q.len().await.unwrap() > 0 {
        assert!(
            Instant::now() < deadline,
            "queue not drained: {} left",
            q.len().await.unwrap()
        );
        while let Ok((_, line, _)) = rx.recv_timeout(Duration::from_millis(100)) {
            got_b.push(item(&line));
        }
    }
    while let Ok((_, line, _)) = rx.recv_timeout(Duration::from_millis(300)) {
        got_b.push(item(&line));
    }
    let mut all: Vec<u32> = got_a.iter().chain(got_b.iter()).copied().collect();
    all.sort_unstable();
    let delivered_twice = all.len() - {
        all.dedup();
        all.len()
    };
    assert_eq!(all, (0..N).collect::<Vec<_>>(), "every item delivered");
    assert_eq!(q.len().await.unwrap(), 0, "every item acked");
    // Only what consumer a held unacked when killed may come twice (at-least-once), at most one batch.
    assert!(delivered_twice <= 64, "{delivered_twice} items delivered twice");
    eprintln!(
        "a got {}, b got {}, {delivered_twice} delivered twice",
        got_a.len(),
        got_b.len()
    );
    producer.close().await;
}

/// A leader connected to a follower that is cut off from the ensemble's leader (here: the ensemble's leader
/// paused) stops trusting its leadership within the session timeout. The follower keeps answering reads until it
/// gives up on its leader (`syncLimit × tickTime`, 5 s here, longer than the 2 s session), so a lease kept by
/// reads would still be trusted past the point where the servers may expire the session and elect a successor;
/// one kept by `sync` (which the follower answers only through the leader) is not.
#[test]
fn a_follower_cut_off_from_the_ensemble_leader_extends_no_lease() {
    serial(async {
        let leader = ensemble_leader().expect("no ensemble leader");
        let follower = (1..=3).find(|n| *n != leader).unwrap();
        let options = ZkOptions::new(format!("127.0.0.1:{}", 2180 + follower))
            .with_session_timeout(Duration::from_secs(2))
            .with_auth(zk_auth().unwrap().expect("the test services authenticate"));
        let coord = ZkCoordinator::connect("cutoff".parse().unwrap(), options)
            .await
            .unwrap();
        let term = coord
            .election(&unique("cutoff"))
            .unwrap()
            .campaign()
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(term.ensure().is_ok(), "{:?}", term.loss());

        /// Resumes the paused server even when an assertion fails.
        struct Resume(usize);
        impl Drop for Resume {
            fn drop(&mut self) {
                services(&["resume", &format!("zk{}", self.0)]);
            }
        }
        services(&["pause", &format!("zk{leader}")]);
        let resume = Resume(leader);
        let paused = Instant::now();
        // The follower still answers reads, so the session does not even look disconnected.
        let stat = coord.config().get_raw("anything").await;
        assert!(
            stat.is_ok(),
            "the cut-off follower stopped answering reads: {stat:?}"
        );
        // The last proof was sent at most T/5 before the pause: the deadline passes by 9T/10 after it.
        tokio::time::sleep(Duration::from_millis(2_200).saturating_sub(paused.elapsed())).await;
        let trusted = term.ensure();
        drop(resume);
        assert!(
            trusted.is_err(),
            "the leadership was still trusted {:?} after the ensemble's leader stopped hearing of the session",
            paused.elapsed()
        );
        coord.close().await;
        // Let the ensemble settle before the next test.
        let deadline = Instant::now() + Duration::from_secs(20);
        while ensemble_leader().is_none() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
}
