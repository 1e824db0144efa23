//! The test services started by `scripts/services start` answer: every ZooKeeper node serves in an ensemble
//! with one leader, both Redis servers answer with their roles, and the Sentinels agree on the master.
//!
//! Runs with the `live-services` feature (on in `scripts/test` and CI, which start the services first).
#![cfg(feature = "live-services")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

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

/// Sends one RESP command and reads the whole reply (enough for the short replies used here).
fn resp(port: u16, args: &[&str]) -> Vec<String> {
    let mut s = connect(port);
    let mut cmd = format!("*{}\r\n", args.len());
    for a in args {
        cmd.push_str(&format!("${}\r\n{a}\r\n", a.len()));
    }
    s.write_all(cmd.as_bytes()).unwrap();
    let mut reader = BufReader::new(s);
    let mut first = String::new();
    reader.read_line(&mut first).unwrap();
    let first = first.trim_end().to_string();
    let count = match first.strip_prefix('*') {
        Some(n) => n.parse::<usize>().unwrap(),
        None => return vec![first],
    };
    let mut items = Vec::new();
    for _ in 0..count {
        let mut header = String::new();
        reader.read_line(&mut header).unwrap();
        if header.starts_with('$') {
            let mut value = String::new();
            reader.read_line(&mut value).unwrap();
            items.push(value.trim_end().to_string());
        } else {
            items.push(header.trim_end().to_string());
        }
    }
    items
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
    let master = resp(26379, &["SENTINEL", "get-master-addr-by-name", "aeroguard"]);
    assert_eq!(master.len(), 2, "{master:?}");
    assert_eq!(master[0], "127.0.0.1");
    for sentinel in [26380u16, 26381] {
        assert_eq!(
            resp(sentinel, &["SENTINEL", "get-master-addr-by-name", "aeroguard"]),
            master
        );
    }
    let master_port: u16 = master[1].parse().unwrap();
    assert_eq!(resp(master_port, &["ROLE"])[0], "master");
    for replica_port in [6379u16, 6380, 6381].into_iter().filter(|&p| p != master_port) {
        assert_eq!(resp(replica_port, &["ROLE"])[0], "slave", "{replica_port}");
    }
    assert_eq!(resp(master_port, &["PING"]), ["+PONG"]);
}
