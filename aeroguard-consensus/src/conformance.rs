//! The conformance suite: each guarantee of the recipes, stated once, run against every backend.
//!
//! A backend's tests implement [`Harness`] and call each `check_*` function (see `tests/memory.rs` and
//! `tests/zookeeper.rs`). Each check panics with a message naming the broken guarantee: it is test code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::{Instant, sleep, timeout};

use crate::{Config, ConfigEvent, Coordinator, Delivery, Error, Expect, FencingToken, LossReason};

/// What the suite needs from a backend.
#[async_trait]
pub trait Harness: Send + Sync {
    /// Connects a coordinator for node `node`.
    async fn connect(&self, node: &str) -> Arc<dyn Coordinator>;

    /// Makes the coordinator's process vanish without closing its session: the backend must notice within
    /// the session timeout.
    async fn crash(&self, coordinator: Arc<dyn Coordinator>);

    /// Expires the coordinator's session while the coordinator lives on (it must build a new one).
    async fn expire(&self, coordinator: &Arc<dyn Coordinator>);

    /// The session timeout the harness's coordinators use.
    fn session_timeout(&self) -> Duration;

    /// A name no earlier run used (real servers keep state between runs).
    fn unique(&self, base: &str) -> String;
}

/// How long the suite waits for something that should happen promptly.
const PROMPT: Duration = Duration::from_secs(5);

async fn campaign_within(
    c: &Arc<dyn Coordinator>,
    election: &str,
    limit: Duration,
) -> Option<crate::Leadership> {
    let e = c.election(election).unwrap();
    timeout(limit, e.campaign())
        .await
        .ok()
        .map(|r| r.expect("campaign failed"))
}

/// One leader at a time; each resignation elects the next candidate in order, with a strictly higher token;
/// `leader()` and `contenders()` agree with who holds it.
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
        lead.resign().await.unwrap();
    }
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

/// Registrations appear in watches, leave when dropped, and vanish when their owner crashes.
pub async fn check_registry(h: &dyn Harness) {
    let service = h.unique("svc");
    let a = h.connect("a").await;
    let b = h.connect("b").await;
    let observer = h.connect("observer").await;
    let mut watch = observer.registry().watch(&service).await.unwrap();
    let first = timeout(PROMPT, watch.next()).await.unwrap().unwrap();
    assert!(first.instances.is_empty());

    let ra = a
        .registry()
        .register(&service, serde_json::json!({"port": 1}))
        .await
        .unwrap();
    let rb = b
        .registry()
        .register(&service, serde_json::json!({"port": 2}))
        .await
        .unwrap();
    assert!(
        matches!(
            a.registry().register(&service, serde_json::json!({})).await,
            Err(Error::Conflict { .. })
        ),
        "a node registers once per service"
    );
    let members = wait_for_members(&mut watch, &["a", "b"]).await;
    assert_eq!(members.instances[0].payload, serde_json::json!({"port": 1}));
    assert_eq!(observer.registry().instances(&service).await.unwrap().len(), 2);

    drop(ra);
    let m = wait_for_members(&mut watch, &["b"]).await;
    assert!(m.left.iter().any(|n| n.as_str() == "a") || m.joined.is_empty());

    std::mem::forget(rb);
    let crashed = Instant::now();
    h.crash(b).await;
    wait_for_members(&mut watch, &[]).await;
    assert!(
        crashed.elapsed() <= h.session_timeout() + Duration::from_secs(3),
        "crashed member lingered"
    );
    a.close().await;
    observer.close().await;
}

async fn wait_for_members(watch: &mut crate::MembershipWatch, want: &[&str]) -> crate::Membership {
    let deadline = Instant::now() + PROMPT + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let m = timeout(left, watch.next())
            .await
            .unwrap_or_else(|_| panic!("membership never became {want:?}"))
            .unwrap();
        let nodes: Vec<String> = m.instances.iter().map(|i| i.node.to_string()).collect();
        if nodes == want {
            return m;
        }
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Sampling {
    period_ms: u64,
}

/// Compare-and-set by version; a watcher ends on the latest value; an invalid value is rejected and the last
/// good one stays in force.
pub async fn check_config(h: &dyn Harness) {
    let key = h.unique("sampling");
    let writer = h.connect("writer").await;
    let reader = h.connect("reader").await;
    let check = |s: &Sampling| {
        if s.period_ms >= 10 {
            Ok(())
        } else {
            Err(format!("period_ms {} below 10", s.period_ms))
        }
    };
    let wcfg = Config::<Sampling>::new(writer.config(), &key).unwrap();
    let rcfg = Config::<Sampling>::new(reader.config(), &key)
        .unwrap()
        .with_validator(check);
    assert_eq!(rcfg.get().await.unwrap(), None);
    let v1 = wcfg
        .set(&Sampling { period_ms: 1000 }, Expect::Absent)
        .await
        .unwrap();
    assert!(matches!(
        wcfg.set(&Sampling { period_ms: 1 }, Expect::Absent).await,
        Err(Error::Conflict { .. })
    ));
    let v2 = wcfg
        .set(&Sampling { period_ms: 900 }, Expect::Version(v1))
        .await
        .unwrap();
    assert!(v2 > v1);
    assert!(matches!(
        wcfg.set(&Sampling { period_ms: 1 }, Expect::Version(v1)).await,
        Err(Error::Conflict { .. })
    ));

    let mut watch = rcfg.watch().await.unwrap();
    match timeout(PROMPT, watch.next()).await.unwrap().unwrap() {
        ConfigEvent::Applied(v) => assert_eq!(v.value.period_ms, 900),
        other => panic!("first event must be the current value, got {other:?}"),
    }
    // A burst of writes: the watcher may skip some, but must end on the last.
    let mut last = v2;
    for p in 0..20u64 {
        last = wcfg
            .set(&Sampling { period_ms: 100 + p }, Expect::Version(last))
            .await
            .unwrap();
    }
    let deadline = Instant::now() + PROMPT;
    loop {
        match timeout(deadline.saturating_duration_since(Instant::now()), watch.next()).await {
            Ok(Some(ConfigEvent::Applied(v))) if v.version == last => {
                assert_eq!(v.value.period_ms, 119);
                break;
            }
            Ok(Some(_)) => {}
            other => panic!("watcher did not end on the latest version {last}: {other:?}"),
        }
    }
    // A value that fails validation (written by a client without the validator) is reported, not applied.
    let bad = wcfg.set(&Sampling { period_ms: 5 }, Expect::Any).await.unwrap();
    match timeout(PROMPT, watch.next()).await.unwrap().unwrap() {
        ConfigEvent::Rejected { version, error } => {
            assert_eq!(version, bad);
            assert!(error.to_string().contains("below 10"), "{error}");
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    assert_eq!(
        watch.current().unwrap().value.period_ms,
        119,
        "last good value stays in force"
    );
    assert!(matches!(rcfg.get().await, Err(Error::Invalid { .. })));
    // Malformed bytes are rejected the same way.
    writer
        .config()
        .set_raw(&key, b"{not json".to_vec(), Expect::Any)
        .await
        .unwrap();
    assert!(matches!(
        timeout(PROMPT, watch.next()).await.unwrap().unwrap(),
        ConfigEvent::Rejected { .. }
    ));
    writer.close().await;
    reader.close().await;
}

/// FIFO for one consumer; a dropped delivery comes back; take times out with a typed error; two consumers
/// never hold the same item and together see everything exactly once after acks.
pub async fn check_queue(h: &dyn Harness) {
    let name = h.unique("q");
    let producer = h.connect("producer").await;
    let q = producer.queue(&name).unwrap();
    match q.take(Some(Duration::from_millis(200))).await {
        Err(Error::Timeout { .. }) => {}
        other => panic!("take on an empty queue must time out, got {other:?}"),
    }
    for i in 0..5u32 {
        q.put(i.to_be_bytes().to_vec()).await.unwrap();
    }
    assert_eq!(q.len().await.unwrap(), 5);
    let d = q.take(Some(PROMPT)).await.unwrap();
    assert_eq!(d.payload(), 0u32.to_be_bytes());
    drop(d); // not acked: must come back, first
    let d = q.take(Some(PROMPT)).await.unwrap();
    assert_eq!(
        d.payload(),
        0u32.to_be_bytes(),
        "an unacked item is delivered again"
    );
    d.ack().await.unwrap();
    for i in 1..5u32 {
        let d = q.take(Some(PROMPT)).await.unwrap();
        assert_eq!(d.payload(), i.to_be_bytes(), "FIFO");
        d.ack().await.unwrap();
    }
    assert_eq!(q.len().await.unwrap(), 0);

    // Two consumers, batches, no item held twice.
    let total = 200u32;
    q.put_batch((0..total).map(|i| i.to_be_bytes().to_vec()).collect())
        .await
        .unwrap();
    let mut handles = Vec::new();
    for c in 0..2 {
        let coord = h.connect(&format!("consumer{c}")).await;
        let q = coord.queue(&name).unwrap();
        handles.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            loop {
                match q.take_batch(16, Some(Duration::from_millis(500))).await {
                    Ok(batch) => {
                        seen.extend(
                            batch
                                .iter()
                                .map(|d| u32::from_be_bytes(d.payload().try_into().unwrap())),
                        );
                        Delivery::ack_all(batch).await.unwrap();
                    }
                    Err(Error::Timeout { .. }) => break,
                    Err(e) => panic!("consumer failed: {e}"),
                }
            }
            coord.close().await;
            seen
        }));
    }
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.await.unwrap());
    }
    let distinct: HashSet<u32> = all.iter().copied().collect();
    assert_eq!(
        all.len(),
        total as usize,
        "every item delivered once when all are acked"
    );
    assert_eq!(distinct.len(), total as usize, "no item delivered twice");
    producer.close().await;
}

/// Items claimed by a consumer whose process dies are delivered again after its session times out.
pub async fn check_queue_crashed_consumer(h: &dyn Harness) {
    let name = h.unique("qcrash");
    let producer = h.connect("producer").await;
    let q = producer.queue(&name).unwrap();
    q.put_batch((0..10u32).map(|i| i.to_be_bytes().to_vec()).collect())
        .await
        .unwrap();
    let doomed = h.connect("doomed").await;
    let claimed = doomed
        .queue(&name)
        .unwrap()
        .take_batch(4, Some(PROMPT))
        .await
        .unwrap();
    assert_eq!(claimed.len(), 4);
    std::mem::forget(claimed); // the process dies holding them
    h.crash(doomed).await;
    let survivor = h.connect("survivor").await;
    let sq = survivor.queue(&name).unwrap();
    let mut got = Vec::new();
    let deadline = Instant::now() + h.session_timeout() + Duration::from_secs(5);
    while got.len() < 10 {
        let left = deadline.saturating_duration_since(Instant::now());
        let d = sq
            .take(Some(left))
            .await
            .unwrap_or_else(|e| panic!("only {} of 10 items came back: {e}", got.len()));
        got.push(u32::from_be_bytes(d.payload().try_into().unwrap()));
        d.ack().await.unwrap();
    }
    got.sort();
    assert_eq!(got, (0..10).collect::<Vec<_>>());
    survivor.close().await;
    producer.close().await;
}

/// After a session expiry the coordinator builds a new session: its leadership is reported lost (and another
/// candidate elected), its registrations come back in the new session, and it can campaign again.
pub async fn check_session_expiry_recovery(h: &dyn Harness) {
    let (election, service) = (h.unique("expiry"), h.unique("expiry-svc"));
    let a = h.connect("a").await;
    let b = h.connect("b").await;
    let _registration = a
        .registry()
        .register(&service, serde_json::json!({"a": true}))
        .await
        .unwrap();
    let lead = campaign_within(&a, &election, PROMPT).await.unwrap();
    let e = b.election(&election).unwrap();
    let waiting = tokio::spawn(async move { e.campaign().await });
    sleep(Duration::from_millis(200)).await;
    let epoch = a.session().borrow().epoch;
    h.expire(&a).await;
    let reason = timeout(PROMPT, lead.lost())
        .await
        .expect("leadership not reported lost after expiry");
    assert!(
        matches!(reason, LossReason::SessionExpired | LossReason::Deposed),
        "{reason:?}"
    );
    let next = timeout(PROMPT, waiting)
        .await
        .expect("no successor after expiry")
        .unwrap()
        .unwrap();
    assert!(next.token() > lead.token());
    let mut session = a.session();
    timeout(PROMPT, session.wait_for(|s| s.epoch > epoch && s.is_connected()))
        .await
        .expect("no new session after expiry")
        .unwrap();
    let deadline = Instant::now() + PROMPT;
    loop {
        let members = b.registry().instances(&service).await.unwrap();
        if members.iter().any(|m| m.node == *a.node()) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "registration not re-created in the new session"
        );
        sleep(Duration::from_millis(50)).await;
    }
    // The old term stays lost; a new campaign queues behind the new leader.
    assert!(!lead.is_trusted());
    assert!(
        campaign_within(&a, &election, Duration::from_millis(300))
            .await
            .is_none()
    );
    drop(next);
    a.close().await;
    b.close().await;
}

/// Runs every check in turn.
pub async fn run_all(h: &dyn Harness) {
    check_election_succession(h).await;
    check_election_cancel_and_drop(h).await;
    check_election_crash_failover(h).await;
    check_registry(h).await;
    check_config(h).await;
    check_queue(h).await;
    check_queue_crashed_consumer(h).await;
    check_session_expiry_recovery(h).await;
}

/// Tokens that did not strictly increase, if any (for simulations).
pub fn non_increasing(tokens: &[FencingToken]) -> Option<(FencingToken, FencingToken)> {
    tokens.windows(2).find(|w| w[1] <= w[0]).map(|w| (w[0], w[1]))
}
