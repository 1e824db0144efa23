//! Election checks: succession, cancellation, crash failover.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use tokio::time::{Instant, sleep, timeout};

use super::{Harness, PROMPT, campaign_within};
use crate::Coordinator;

/// One leader at a time; each resignation elects the next candidate in order, with a strictly higher token;
/// `leader()`, `contenders()` and `grant()` agree with who holds it.
pub async fn check_election_succession(h: &dyn Harness) {
    let name = h.unique("succession");
    let nodes: Vec<Arc<dyn Coordinator>> = vec![
        h.connect("n1").await,
        h.connect("n2").await,
        h.connect("n3").await,
    ];
    let first = campaign_within(&nodes[0], &name, PROMPT)
        .await
        .expect("n1 alone must be elected");
    let mut waiting = Vec::new();
    for n in &nodes[1..] {
        let e = n.election(&name).unwrap();
        waiting.push(tokio::spawn(async move { e.campaign().await }));
        // Join in a known order.
        let deadline = Instant::now() + PROMPT;
        loop {
            let c = nodes[0].election(&name).unwrap().contenders().await.unwrap();
            if c.contains(n.node()) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{} never showed up among the contenders",
                n.node()
            );
            sleep(Duration::from_millis(10)).await;
        }
    }
    let contenders = nodes[2].election(&name).unwrap().contenders().await.unwrap();
    let names: Vec<&str> = contenders.iter().map(|n| n.as_str()).collect();
    assert_eq!(names, ["n1", "n2", "n3"], "contenders in succession order");
    assert_eq!(
        nodes[1]
            .election(&name)
            .unwrap()
            .leader()
            .await
            .unwrap()
            .unwrap()
            .as_str(),
        "n1"
    );
    sleep(Duration::from_millis(100)).await;
    assert!(
        waiting.iter().all(|w| !w.is_finished()),
        "nobody else may be elected while n1 leads"
    );

    let mut tokens = vec![first.token()];
    first.resign().await.unwrap();
    for (i, w) in waiting.into_iter().enumerate() {
        let lead = timeout(PROMPT, w)
            .await
            .expect("next candidate not elected after a resignation")
            .unwrap()
            .unwrap();
        assert_eq!(lead.node(), nodes[i + 1].node(), "succession order");
        assert!(lead.is_trusted());
        assert!(
            lead.token() > *tokens.last().unwrap(),
            "tokens must strictly increase: {tokens:?} then {}",
            lead.token()
        );
        tokens.push(lead.token());
        let leader = nodes[0].election(&name).unwrap().leader().await.unwrap();
        assert_eq!(leader.as_ref(), Some(lead.node()));
        let grant = nodes[0].election(&name).unwrap().grant().await.unwrap();
        assert_eq!(
            grant.map(|g| (g.node, g.token)),
            Some((lead.node().clone(), lead.token())),
            "the grant names the leader and its term's token"
        );
        lead.resign().await.unwrap();
    }
    assert_eq!(
        nodes[0].election(&name).unwrap().grant().await.unwrap(),
        None,
        "nobody holds an election everyone resigned"
    );
    // A new term after everyone resigned still gets a higher token.
    let again = campaign_within(&nodes[0], &name, PROMPT).await.unwrap();
    assert!(again.token() > *tokens.last().unwrap());
    drop(again);
    for n in nodes {
        n.close().await;
    }
}

/// A campaign future dropped before election withdraws its candidacy; dropping a leadership resigns it.
pub async fn check_election_cancel_and_drop(h: &dyn Harness) {
    let name = h.unique("cancel");
    let a = h.connect("a").await;
    let b = h.connect("b").await;
    let lead = campaign_within(&a, &name, PROMPT).await.unwrap();
    assert!(
        campaign_within(&b, &name, Duration::from_millis(300))
            .await
            .is_none(),
        "b elected while a leads"
    );
    let deadline = Instant::now() + PROMPT;
    loop {
        let c = a.election(&name).unwrap().contenders().await.unwrap();
        if c.len() == 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "a cancelled campaign must withdraw, contenders: {c:?}"
        );
        sleep(Duration::from_millis(20)).await;
    }
    let token = lead.token();
    drop(lead);
    let next = campaign_within(&b, &name, PROMPT)
        .await
        .expect("dropping a leadership must resign it");
    assert!(next.token() > token);
    assert!(next.ensure().is_ok());
    a.close().await;
    b.close().await;
}

/// When the leader's process dies, the next candidate is elected within the session timeout (plus margin),
/// with a higher token.
pub async fn check_election_crash_failover(h: &dyn Harness) {
    let name = h.unique("crash");
    let a = h.connect("a").await;
    let b = h.connect("b").await;
    let lead = campaign_within(&a, &name, PROMPT).await.unwrap();
    let token = lead.token();
    let e = b.election(&name).unwrap();
    let waiting = tokio::spawn(async move { e.campaign().await });
    sleep(Duration::from_millis(200)).await;
    std::mem::forget(lead); // a dead process resigns nothing
    let killed = Instant::now();
    h.crash(a).await;
    let limit = h.session_timeout() + Duration::from_secs(3);
    let next = timeout(limit, waiting)
        .await
        .expect("no failover within the session timeout")
        .unwrap()
        .unwrap();
    assert!(killed.elapsed() <= limit);
    assert!(next.token() > token);
    b.close().await;
}
