//! The round recipe on the memory backend (it is built only on the other recipes).

use std::time::Duration;

use aeroguard_consensus::memory::MemoryCluster;
use aeroguard_consensus::round::{Quorum, RoundFollower, RoundLeader, RoundOptions};
use aeroguard_consensus::{Coordinator, Error};

#[tokio::test]
async fn quorum_deadline_and_fencing() {
    let cluster = MemoryCluster::new();
    let lead = cluster.connect("lead".parse().unwrap()).unwrap();
    let options = RoundOptions::new("p", "sensors", Duration::from_millis(500), Quorum::All);
    let mut regs = Vec::new();
    let mut followers = Vec::new();
    for i in 0..3 {
        let c = cluster.connect(format!("f{i}").parse().unwrap()).unwrap();
        regs.push(
            c.registry()
                .register("sensors", serde_json::json!({}))
                .await
                .unwrap(),
        );
        followers.push(RoundFollower::<f64>::new(c, &options).await.unwrap());
    }
    // f0 and f1 answer every round; f2 never does.
    for (i, mut f) in followers.into_iter().enumerate().take(2) {
        tokio::spawn(async move {
            loop {
                let r = f.next_round().await.unwrap();
                f.submit(&r, &(i as f64 + r.round as f64)).await.unwrap();
            }
        });
    }
    let leadership = lead.election("p").unwrap().campaign().await.unwrap();
    let leader = RoundLeader::<f64>::new(lead.clone(), options.clone()).unwrap();
    let r1 = leader.run(&leadership).await.unwrap();
    assert_eq!(r1.round, 1);
    assert_eq!(r1.token, leadership.token());
    assert_eq!(
        r1.answered.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        ["f0", "f1"],
        "{r1:?}"
    );
    assert_eq!(r1.answered[1].1, 2.0);
    assert_eq!(r1.missing.iter().map(|n| n.as_str()).collect::<Vec<_>>(), ["f2"]);
    assert!(!r1.reached_quorum);
    let r2 = leader.run(&leadership).await.unwrap();
    assert_eq!(r2.round, 2, "rounds are numbered once each");

    // A new leader takes over; the old one is fenced when it tries to open a round.
    let old = leadership.token();
    let other = cluster.connect("other".parse().unwrap()).unwrap();
    std::mem::forget(leadership);
    cluster.expire(&"lead".parse().unwrap());
    let new_lead = other.election("p").unwrap().campaign().await.unwrap();
    assert!(new_lead.token() > old);
    let r3 = RoundLeader::<f64>::new(other.clone(), options.clone())
        .unwrap()
        .run(&new_lead)
        .await
        .unwrap();
    assert_eq!(r3.round, 3);
    // The deposed leader's coordinator rebuilt its session, but its old term is gone.
    let stale = lead.election("p").unwrap();
    let _waiting = tokio::spawn(async move { stale.campaign().await });
    let q = RoundOptions {
        quorum: Quorum::Majority,
        ..options
    };
    let r4 = RoundLeader::<f64>::new(other, q)
        .unwrap()
        .run(&new_lead)
        .await
        .unwrap();
    assert!(r4.reached_quorum, "2 of 3 is a majority: {r4:?}");
}

#[tokio::test]
async fn a_lost_term_cannot_run_a_round() {
    let cluster = MemoryCluster::new();
    let a = cluster.connect("a".parse().unwrap()).unwrap();
    let b = cluster.connect("b".parse().unwrap()).unwrap();
    let options = RoundOptions::new("x", "none", Duration::from_millis(50), Quorum::Majority);
    let old = a.election("x").unwrap().campaign().await.unwrap();
    cluster.expire(&"a".parse().unwrap());
    match RoundLeader::<u8>::new(a.clone(), options.clone())
        .unwrap()
        .run(&old)
        .await
    {
        Err(Error::LeadershipLost { election, .. }) => assert_eq!(election, "x"),
        other => panic!("a lost term must not open a round: {other:?}"),
    }
    let new = b.election("x").unwrap().campaign().await.unwrap();
    assert!(new.token() > old.token());
    let r = RoundLeader::<u8>::new(b.clone(), options)
        .unwrap()
        .run(&new)
        .await
        .unwrap();
    assert_eq!(
        (r.round, r.quorum, r.token),
        (1, 0, new.token()),
        "no members: an empty round, not a hang"
    );
    assert!(matches!(
        RoundLeader::<u8>::new(b, RoundOptions::new("y", "s", Duration::ZERO, Quorum::All)),
        Err(Error::InvalidParameter { name: "deadline", .. })
    ));
}

/// An announcement at the end of the round numbers is a typed error, not an overflow; a submission naming a
/// node that is not a live registered member (one process posing as several) is discarded.
#[tokio::test]
async fn out_of_range_announcements_and_unregistered_submitters() {
    use aeroguard_consensus::Expect;
    use aeroguard_consensus::round::MAX_ROUND;
    let cluster = MemoryCluster::new();
    let lead = cluster.connect("lead".parse().unwrap()).unwrap();
    let f0 = cluster.connect("f0".parse().unwrap()).unwrap();
    let _reg = f0
        .registry()
        .register("sensors", serde_json::json!({}))
        .await
        .unwrap();
    let options = RoundOptions::new("q", "sensors", Duration::from_millis(300), Quorum::All);
    let mut follower = RoundFollower::<f64>::new(f0.clone(), &options).await.unwrap();
    let leadership = lead.election("q").unwrap().campaign().await.unwrap();
    let leader = RoundLeader::<f64>::new(lead.clone(), options.clone()).unwrap();
    let forger = f0.clone();
    tokio::spawn(async move {
        let r = follower.next_round().await.unwrap();
        // The same process first submits as n6, n7 and n8, which never registered, then as itself.
        for fake in ["n6", "n7", "n8"] {
            let body = serde_json::json!({
                "round": r.round, "token": r.token, "opened_at": r.opened_at, "node": fake, "value": 1e9,
            });
            forger
                .queue("round-q")
                .unwrap()
                .put(body.to_string().into_bytes())
                .await
                .unwrap();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        follower.submit(&r, &4.0).await.unwrap();
    });
    let r = leader.run(&leadership).await.unwrap();
    assert_eq!(
        r.answered.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        ["f0"],
        "{r:?}"
    );

    for round in [u64::MAX, MAX_ROUND] {
        let current = lead.config().get_raw("round-q").await.unwrap().unwrap();
        let hostile = serde_json::json!({
            "round": round, "token": leadership.token(), "leader": "lead", "opened_at": 0,
        });
        lead.config()
            .set_raw(
                "round-q",
                hostile.to_string().into_bytes(),
                Expect::Version(current.version),
            )
            .await
            .unwrap();
        let err = leader.run(&leadership).await.unwrap_err();
        assert!(matches!(err, Error::Invalid { .. }), "round {round}: {err:?}");
    }
}
