//! Time is checked, not trusted, over real HTTP on 127.0.0.1: a reading stamped ahead of the service's clock
//! is refused naming the bound and stops nothing; a re-send is told by its time and value, also after a
//! restart; a reading out of order (a leader whose clock lags the last one's) is refused, never answered 200
//! without being stored: every reading answered as taken is in `/history`.

use aeroguard_consensus::Coordinator;
use aeroguard_core::Timestamp;
use aeroguard_sentinel::Limits;

mod support;
use support::{Service, start, start_with};

fn now() -> i64 {
    Timestamp::now().as_millis()
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap()
}

/// Counts an answer: readings taken (200) or a reading refused as out of order (409); anything else fails.
fn tally(taken: &mut u64, refused: &mut u64, r: &aeroguard_sentinel::client::Response) {
    match r.status {
        200 => *taken += json(&r.body)["accepted"].as_u64().unwrap(),
        409 => {
            assert!(r.body.contains("not after the series' last time"), "{}", r.body);
            *refused += 1
        }
        other => panic!("{other}: {}", r.body),
    }
}

/// The points `/history` holds for `series`, read as a reader would.
async fn history_len(s: &Service, series: &str) -> usize {
    let r = s.get_as(Some("prom"), &format!("/history?series={series}")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    json(&r.body).as_array().unwrap().len()
}

#[tokio::test]
async fn a_reading_from_a_clock_ahead_is_refused_and_stops_nothing() {
    let s = start(None, 100, Limits::default()).await;
    let t = now();
    assert_eq!(s.post_as(Some("n1"), "pump-1", 1, t).await.status, 200);
    // Stamped in the year 2100 by the node holding the grant.
    let r = s.post_as(Some("n1"), "pump-1", 1, 4_102_444_800_000).await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(
        r.body.contains("more than the 5000 ms accepted") && r.body.contains("--max-ahead-ms"),
        "{}",
        r.body
    );
    // Every later reading is taken, none skipped.
    for i in 1..=20 {
        let r = s.post_as(Some("n1"), "pump-1", 1, t + i).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(json(&r.body)["skipped"], 0, "{}", r.body);
    }
    assert_eq!(history_len(&s, "pump-1").await, 21);
    let metrics = s.get_as(Some("prom"), "/metrics").await.body;
    assert!(metrics.contains("reason=\"ahead\""), "{metrics}");
}

#[tokio::test]
async fn a_failover_to_a_lagging_clock_is_refused_and_every_200_is_stored() {
    let (s, n1, n2) = support::granted().await;
    let t = now();
    let (mut answered_taken, mut refused) = (0u64, 0u64);
    let first = n1.election("pump-1-leader").unwrap().campaign().await.unwrap();
    let t1 = first.token().0;
    for i in 0..10 {
        tally(
            &mut answered_taken,
            &mut refused,
            &s.post_as(Some("n1"), "pump-1", t1, t + i * 100).await,
        );
    }
    first.resign().await.unwrap();
    // The next leader's clock lags two minutes: what it stamps is before what the first one took.
    let second = n2.election("pump-1-leader").unwrap().campaign().await.unwrap();
    let t2 = second.token().0;
    for i in 0..10 {
        tally(
            &mut answered_taken,
            &mut refused,
            &s.post_as(Some("n2"), "pump-1", t2, t - 120_000 + i * 100).await,
        );
    }
    assert_eq!((answered_taken, refused), (10, 10));
    // Once its clock is right again, its readings are taken.
    for i in 0..5 {
        tally(
            &mut answered_taken,
            &mut refused,
            &s.post_as(Some("n2"), "pump-1", t2, t + 2_000 + i * 100).await,
        );
    }
    assert_eq!(answered_taken, 15);
    assert_eq!(history_len(&s, "pump-1").await as u64, answered_taken);
    let metrics = s.get_as(Some("prom"), "/metrics").await.body;
    assert!(metrics.contains("reason=\"out_of_order\""), "{metrics}");
}

#[tokio::test]
async fn a_resend_is_told_by_time_and_value_also_after_a_restart() {
    let s = start(None, 100, Limits::default()).await;
    let t = now();
    for i in 0..5 {
        assert_eq!(s.post_as(Some("n1"), "pump-1", 1, t + i).await.status, 200);
    }
    // The same reading again (the sender never saw the answer): taken already, nothing stored twice.
    let again = s.post_as(Some("n1"), "pump-1", 1, t + 3).await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(
        (
            json(&again.body)["skipped"].clone(),
            json(&again.body)["accepted"].clone()
        ),
        (1.into(), 0.into())
    );
    // Another value at a time taken: not a re-send.
    let forged = s
        .post_readings(
            Some("n1"),
            "pump-1",
            1,
            serde_json::json!([{"at": t + 3, "values": [99.0, 60.0, 12.0]}]),
        )
        .await;
    assert_eq!(forged.status, 409, "{}", forged.body);
    // Readings of one request go oldest first, one per time.
    let unordered = s
        .post_readings(
            Some("n1"),
            "pump-1",
            1,
            serde_json::json!([{"at": t + 9, "values": [1.0, 2.0, 3.0]}, {"at": t + 8, "values": [1.0, 2.0, 3.0]}]),
        )
        .await;
    assert_eq!(unordered.status, 400, "{}", unordered.body);
    assert!(
        unordered.body.contains("not after readings[0].at"),
        "{}",
        unordered.body
    );
    assert_eq!(history_len(&s, "pump-1").await, 5);
    // A second instance over the same store (a restart): the re-send is still told from the stored points.
    let b = start_with(s.history.clone(), None, 100, Limits::default()).await;
    let again = b.post_as(Some("n1"), "pump-1", 1, t + 4).await;
    assert_eq!(
        (again.status, json(&again.body)["skipped"].clone()),
        (200, 1.into()),
        "{}",
        again.body
    );
    let forged = b
        .post_readings(
            Some("n1"),
            "pump-1",
            1,
            serde_json::json!([{"at": t + 2, "values": [99.0, 60.0, 12.0]}]),
        )
        .await;
    assert_eq!(forged.status, 409, "{}", forged.body);
    assert_eq!(b.post_as(Some("n1"), "pump-1", 1, t + 5).await.status, 200);
    assert_eq!(history_len(&b, "pump-1").await, 6);
}
