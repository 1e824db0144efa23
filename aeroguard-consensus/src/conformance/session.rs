//! Session expiry and recovery.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use tokio::time::{Instant, sleep, timeout};

use super::{Harness, PROMPT, campaign_within};
use crate::LossReason;

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

/// A coordinator measures its clock against the servers': on one machine (the servers' clocks are this
/// host's) the offset is under a second, known to within the round trip, and a second probe works as the first.
pub async fn check_clock_offset(h: &dyn Harness) {
    let a = h.connect("clock-a").await;
    for probe in 0..2 {
        let o = timeout(PROMPT, a.clock_offset())
            .await
            .expect("clock probe hung")
            .unwrap_or_else(|e| panic!("clock probe {probe}: {e}"));
        assert!(
            !o.exceeds(Duration::from_secs(1)),
            "probe {probe}: {o} on one machine"
        );
        assert!(o.uncertainty < PROMPT, "probe {probe}: {o}");
    }
}
