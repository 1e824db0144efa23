//! Registry and config checks.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use tokio::time::{Instant, timeout};

use super::{Harness, PROMPT};
use crate::{Config, ConfigEvent, Error, Expect};

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

/// A key created just after a watch on it starts is delivered: the watch's first read and its watch for the
/// key's creation may straddle the write, and the write must not fall between them (ZooKeeper once lost it).
pub async fn check_config_watch_sees_a_fresh_key(h: &dyn Harness) {
    let writer = h.connect("writer").await;
    let reader = h.connect("reader").await;
    for i in 0..50u8 {
        let key = h.unique("fresh");
        let mut watch = reader.config().watch_raw(&key).await.unwrap();
        if i % 2 == 1 {
            tokio::task::yield_now().await; // vary which side of the watch's first read the write lands on
        }
        let v = writer
            .config()
            .set_raw(&key, vec![i], Expect::Absent)
            .await
            .unwrap();
        let got = timeout(PROMPT, watch.next())
            .await
            .unwrap_or_else(|_| panic!("the watch on {key} never saw the key created right after it started"))
            .expect("the watch ended");
        assert_eq!((got.version, got.value), (v, vec![i]));
    }
    writer.close().await;
    reader.close().await;
}
