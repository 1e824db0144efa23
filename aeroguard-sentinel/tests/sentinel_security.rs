//! The analysis service against hostile callers, over real HTTP on 127.0.0.1: no key, an unknown key, a
//! reader's key, another node's identity, a forged token and a stale token each change nothing (not even the
//! fence), while the real leader keeps writing; series and connections are bounded; a client that never
//! finishes its headers is cut off.

use std::time::Duration;

use aeroguard_consensus::{Coordinator, FencingToken};
use aeroguard_sentinel::Limits;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

mod support;
use support::start;

#[tokio::test]
async fn keys_are_required_and_roles_hold() {
    let s = start(None, 100, Limits::default()).await;
    assert_eq!(s.get_as(None, "/health").await.status, 200, "health stays open");
    let none = s.post_as(None, "pump-1", 1, 1).await;
    assert_eq!(none.status, 401, "{}", none.body);
    assert!(none.body.contains("Authorization: Bearer"), "{}", none.body);
    let forged = s.post_as(Some("agk_0000"), "pump-1", 1, 1).await;
    assert_eq!(forged.status, 401, "{}", forged.body);
    let reader = s.post_as(Some("prom"), "pump-1", 1, 1).await;
    assert_eq!(reader.status, 403, "{}", reader.body);
    assert_eq!(
        s.stored("pump-1").await,
        (0, None),
        "nothing stored, no fence raised"
    );
    assert_eq!(s.post_as(Some("n1"), "pump-1", 1, 1).await.status, 200);
    assert_eq!(
        s.get_as(Some("prom"), "/metrics").await.status,
        200,
        "a reader reads"
    );
    assert_eq!(s.get_as(None, "/metrics").await.status, 401);
    assert_eq!(s.get_as(None, "/history?series=pump-1").await.status, 401);
    let metrics = s.get_as(Some("prom"), "/metrics").await.body;
    assert!(metrics.contains("reason=\"unauthenticated\""), "{metrics}");
}

#[tokio::test]
async fn only_the_current_grant_writes_and_nothing_else_moves_the_fence() {
    let (s, n1, n2) = support::granted().await;
    let lead = n1.election("pump-1-leader").unwrap().campaign().await.unwrap();
    let t1 = lead.token().0;
    assert_eq!(s.post_as(Some("n1"), "pump-1", t1, 1).await.status, 200);
    assert_eq!(s.stored("pump-1").await, (1, Some(t1)));

    // The one request that used to silence the service: a forged, huge token from a node that holds the grant.
    let r = s.post_as(Some("n1"), "pump-1", u64::MAX >> 1, 2).await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(r.body.contains("not the current grant"), "{}", r.body);
    // Another node posting the leader's own token: it does not hold the election.
    let r = s.post_as(Some("n3"), "pump-1", t1, 3).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(s.stored("pump-1").await, (1, Some(t1)), "the fence did not move");
    assert_eq!(
        s.post_as(Some("n1"), "pump-1", t1, 4).await.status,
        200,
        "the real leader keeps writing"
    );

    // A new term: the old leader's token is stale, from anyone.
    lead.resign().await.unwrap();
    let lead2 = n2.election("pump-1-leader").unwrap().campaign().await.unwrap();
    let t2 = lead2.token().0;
    assert!(t2 > t1);
    let r = s.post_as(Some("n1"), "pump-1", t1, 5).await;
    assert_eq!(r.status, 403, "the deposed leader: {}", r.body);
    let r = s.post_as(Some("n2"), "pump-1", t1, 5).await;
    assert_eq!(r.status, 409, "a stale token from the new leader: {}", r.body);
    let r = s.post_as(None, "pump-1", t2, 5).await;
    assert_eq!(r.status, 401);
    assert_eq!(s.stored("pump-1").await, (2, Some(t1)));
    for at in 6..9 {
        assert_eq!(s.post_as(Some("n2"), "pump-1", t2, at).await.status, 200);
    }
    assert_eq!(s.stored("pump-1").await, (5, Some(t2)));
    // Nobody holds the election: nothing is current.
    lead2.resign().await.unwrap();
    assert_eq!(s.post_as(Some("n2"), "pump-1", t2, 10).await.status, 409);
    assert_eq!(s.stored("pump-1").await, (5, Some(t2)));
}

#[tokio::test]
async fn series_beyond_the_limit_are_refused_with_a_reason() {
    let s = start(None, 2, Limits::default()).await;
    assert_eq!(s.post_as(Some("n1"), "a", 1, 1).await.status, 200);
    assert_eq!(s.post_as(Some("n1"), "b", 1, 1).await.status, 200);
    let r = s.post_as(Some("n1"), "c", 1, 1).await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(r.body.contains("series limit"), "{}", r.body);
    assert_eq!(
        s.post_as(Some("n1"), "a", 1, 2).await.status,
        200,
        "known series go on"
    );
    let metrics = s.get_as(Some("prom"), "/metrics").await.body;
    assert!(!metrics.contains("series=\"c\""), "no label for a refused series");
}

#[tokio::test]
async fn slow_headers_and_surplus_connections_are_cut_off() {
    let limits = Limits {
        max_connections: 2,
        header_timeout: Duration::from_millis(300),
        ..Limits::default()
    };
    let s = start(None, 10, limits).await;
    // A client that sends half a request line and waits: closed after the header timeout.
    let mut slow = tokio::net::TcpStream::connect(&s.addr).await.unwrap();
    slow.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(3), slow.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "the slow client was not cut off within 3 s");
    let text = String::from_utf8_lossy(&buf);
    assert!(!text.contains("200 OK"), "{text}");
    // Two idle connections hold the limit; a third is closed without an answer.
    let _a = tokio::net::TcpStream::connect(&s.addr).await.unwrap();
    let _b = tokio::net::TcpStream::connect(&s.addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut c = tokio::net::TcpStream::connect(&s.addr).await.unwrap();
    c.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n").await.ok();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(2), c.read_to_end(&mut buf)).await;
    assert!(buf.is_empty(), "{}", String::from_utf8_lossy(&buf));
    // Once they go (the header timeout ends idle ones), the service answers again.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(s.get_as(None, "/health").await.status, 200);
    let _ = FencingToken(0);
}
