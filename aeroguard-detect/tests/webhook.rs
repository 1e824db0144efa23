//! The webhook sender against a real HTTP receiver on loopback: the body is Alertmanager's webhook shape, the
//! bearer token arrives, a refusal is a typed error that says whether to retry, and pending transitions are
//! not sent at all.

use std::sync::Arc;

use aeroguard_core::Timestamp;
use aeroguard_detect::alert::{AlertEvent, AlertStatus, Notifier, NotifyError, Severity, Webhook};
use axum::http::{HeaderMap, StatusCode};
use parking_lot::Mutex;

type Seen = Arc<Mutex<Vec<(Option<String>, serde_json::Value)>>>;

/// A receiver that records what it gets and answers `status`.
async fn receiver(status: StatusCode) -> (String, Seen) {
    let seen: Seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = seen.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let seen = s2.clone();
            async move {
                let auth = headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .map(String::from);
                let json = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
                seen.lock().push((auth, json));
                (status, "ok")
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/hook"), seen)
}

fn event(status: AlertStatus) -> AlertEvent {
    AlertEvent {
        rule: "low-flow".into(),
        series: "pump-1".into(),
        status,
        at: Timestamp::from_millis(1_700_000_060_000),
        since: Timestamp::from_millis(1_700_000_000_000),
        severity: Severity::Warning,
        labels: Default::default(),
        value: 8.2,
    }
}

#[tokio::test]
async fn the_webhook_receives_alertmanagers_shape_with_the_token() {
    let (url, seen) = receiver(StatusCode::OK).await;
    let hook = Webhook::new(&url).unwrap().with_bearer("hook-secret");
    hook.notify(&[event(AlertStatus::Pending)]).await.unwrap();
    assert!(seen.lock().is_empty(), "pending is not news");
    hook.notify(&[event(AlertStatus::Firing)]).await.unwrap();
    hook.notify(&[event(AlertStatus::Resolved)]).await.unwrap();
    let seen = seen.lock().clone();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].0.as_deref(), Some("Bearer hook-secret"));
    let (firing, resolved) = (&seen[0].1, &seen[1].1);
    assert_eq!(firing["status"], "firing");
    assert_eq!(firing["receiver"], "aeroguard");
    assert_eq!(firing["alerts"][0]["labels"]["alertname"], "low-flow");
    assert_eq!(firing["alerts"][0]["labels"]["series"], "pump-1");
    assert_eq!(firing["alerts"][0]["startsAt"], "2023-11-14T22:13:20Z");
    assert_eq!(resolved["status"], "resolved");
    assert_eq!(resolved["alerts"][0]["endsAt"], "2023-11-14T22:14:20Z");
}

#[tokio::test]
async fn refusals_say_whether_to_retry() {
    let (url, _) = receiver(StatusCode::SERVICE_UNAVAILABLE).await;
    let e = Webhook::new(&url)
        .unwrap()
        .notify(&[event(AlertStatus::Firing)])
        .await
        .unwrap_err();
    assert!(
        matches!(e, NotifyError::Status { status: 503, .. }) && !e.is_permanent(),
        "{e}"
    );
    let (url, _) = receiver(StatusCode::BAD_REQUEST).await;
    let e = Webhook::new(&url)
        .unwrap()
        .notify(&[event(AlertStatus::Firing)])
        .await
        .unwrap_err();
    assert!(
        matches!(e, NotifyError::Status { status: 400, .. }) && e.is_permanent(),
        "{e}"
    );
    let e = Webhook::new("http://127.0.0.1:1/hook")
        .unwrap()
        .notify(&[event(AlertStatus::Firing)])
        .await
        .unwrap_err();
    assert!(
        matches!(e, NotifyError::Unreachable { .. }) && !e.is_permanent(),
        "{e}"
    );
}
