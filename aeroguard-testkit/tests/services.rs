//! The test services started by `scripts/services start` answer: every ZooKeeper node serves in an ensemble
//! with one leader, the Redis servers answer with their roles (over TLS, as the library's ACL user), and the
//! Sentinels agree on the master.
//!
//! Runs with the `live-services` feature (on in `scripts/test` and CI, which start the services first).
#![cfg(feature = "live-services")]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use aeroguard_testkit::raw as support;

fn connect(port: u16) -> TcpStream {
    let stream = TcpStream::connect(("127.0.0.1", port))
        .unwrap_or_else(|e| panic!("127.0.0.1:{port} unreachable ({e}): run `scripts/services start` first"));
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    stream
}

fn zk_four_letter(port: u16, word: &str) -> String {
    let mut s = connect(port);
    s.write_all(word.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

/// A connection to `127.0.0.1:port` as the services' user `credential`, over TLS when they run it.
fn redis(port: u16, credential: &str) -> redis::Connection {
    support::raw(&format!("127.0.0.1:{port}"), credential)
}

fn master_of(sentinel: u16) -> (String, u16) {
    redis::cmd("SENTINEL")
        .arg("get-master-addr-by-name")
        .arg("aeroguard")
        .query(&mut redis(sentinel, "AEROGUARD_SENTINEL_AUTH"))
        .unwrap()
}

fn role(port: u16) -> String {
    let reply: Vec<redis::Value> = redis::cmd("ROLE")
        .query(&mut redis(port, "AEROGUARD_REDIS_AUTH"))
        .unwrap();
    match reply.first() {
        Some(redis::Value::BulkString(b)) => String::from_utf8_lossy(b).into_owned(),
        other => panic!("ROLE on {port}: {other:?}"),
    }
}

#[test]
fn zookeeper_ensemble_serves_with_one_leader() {
    let modes: Vec<String> = [2181u16, 2182, 2183]
        .iter()
        .map(|&port| {
            let srvr = zk_four_letter(port, "srvr");
            let mode = srvr
                .lines()
                .find_map(|l| l.strip_prefix("Mode: "))
                .unwrap_or("none")
                .to_string();
            assert!(
                mode == "leader" || mode == "follower",
                "node {port} not in an ensemble: {srvr}"
            );
            mode
        })
        .collect();
    assert_eq!(modes.iter().filter(|m| *m == "leader").count(), 1, "{modes:?}");
}

#[test]
fn redis_primary_replica_and_sentinels_agree() {
    let master = master_of(26379);
    assert_eq!(master.0, "127.0.0.1");
    for sentinel in [26380u16, 26381] {
        assert_eq!(master_of(sentinel), master);
    }
    assert_eq!(role(master.1), "master");
    for replica_port in [6379u16, 6380, 6381].into_iter().filter(|&p| p != master.1) {
        assert_eq!(role(replica_port), "slave", "{replica_port}");
    }
    let pong: String = redis::cmd("PING")
        .query(&mut redis(master.1, "AEROGUARD_REDIS_AUTH"))
        .unwrap();
    assert_eq!(pong, "PONG");
}
