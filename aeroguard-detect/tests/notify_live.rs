//! The notifiers against real receivers (`scripts/services`: an HTTPS webhook receiver and an SMTP server that
//! requires STARTTLS, each with a certificate from the receivers' test CA): an `https` webhook in each shape
//! and an e-mail are delivered; a certificate the sender does not trust, or a wrong password, is refused.

use std::time::Duration;

use aeroguard_core::Timestamp;
use aeroguard_detect::alert::{AlertEvent, AlertStatus, Email, Notifier, NotifyError, Severity, Webhook};

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: eval \"$(bash scripts/services env)\""))
}

fn ca() -> Vec<u8> {
    std::fs::read(var("AEROGUARD_RECEIVERS_CA")).expect("the receivers' CA")
}

fn event(rule: &str, status: AlertStatus) -> AlertEvent {
    AlertEvent {
        rule: rule.into(),
        series: "pump-7".into(),
        status,
        at: Timestamp::from_millis(1_700_000_060_000),
        since: Timestamp::from_millis(1_700_000_000_000),
        severity: Severity::Critical,
        labels: [("site".to_string(), "north".to_string())].into(),
        value: 95.5,
    }
}

/// The webhook receiver's lines that mention `marker`.
fn received(marker: &str) -> Vec<serde_json::Value> {
    let log = std::fs::read_to_string(var("AEROGUARD_WEBHOOK_LOG")).unwrap_or_default();
    log.lines()
        .filter(|l| l.contains(marker))
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

fn marker(what: &str) -> String {
    format!("{what}-{}-{}", std::process::id(), Timestamp::now().as_millis())
}

#[tokio::test]
async fn an_https_webhook_in_each_shape_is_delivered() {
    let url = "https://localhost:8443/hooks";
    let token = var("AEROGUARD_WEBHOOK_TOKEN");
    for (name, hook) in [
        ("plain", Webhook::new(url).unwrap()),
        ("slack", Webhook::slack(url).unwrap()),
        ("teams", Webhook::teams(url).unwrap()),
    ] {
        let rule = marker(name);
        let hook = hook
            .with_ca(&ca())
            .unwrap()
            .with_bearer(&token)
            .with_header("idempotency-key", &rule);
        hook.notify(&[event(&rule, AlertStatus::Firing)]).await.unwrap();
        let got = received(&rule);
        assert_eq!(got.len(), 1, "{name}: {got:?}");
        assert_eq!(got[0]["headers"]["idempotency-key"], rule.as_str());
        let body: serde_json::Value = serde_json::from_str(got[0]["body"].as_str().unwrap()).unwrap();
        match name {
            "plain" => assert_eq!(body["alerts"][0]["labels"]["alertname"], rule.as_str()),
            "slack" => assert!(
                body["text"]
                    .as_str()
                    .unwrap()
                    .contains(&format!("[FIRING] critical {rule} on pump-7"))
            ),
            _ => {
                let card = &body["attachments"][0]["content"];
                assert_eq!(card["type"], "AdaptiveCard");
                assert!(card["body"][0]["text"].as_str().unwrap().contains(&rule));
            }
        }
    }
}

#[tokio::test]
async fn a_receiver_whose_certificate_is_not_trusted_is_refused() {
    // The system's CAs did not sign the test receiver's certificate.
    let rule = marker("untrusted");
    let hook = Webhook::new("https://localhost:8443/hooks")
        .unwrap()
        .with_bearer(&var("AEROGUARD_WEBHOOK_TOKEN"));
    let e = hook
        .notify(&[event(&rule, AlertStatus::Firing)])
        .await
        .unwrap_err();
    assert!(matches!(e, NotifyError::Unreachable { .. }), "{e}");
    assert!(e.to_string().contains("certificate"), "{e}");
    assert!(received(&rule).is_empty(), "nothing reached the receiver");
    // Trusted, but the wrong token: refused by the receiver, worth retrying once it is fixed.
    let wrong = Webhook::new("https://localhost:8443/hooks")
        .unwrap()
        .with_ca(&ca())
        .unwrap()
        .with_bearer("wrong");
    let e = wrong
        .notify(&[event(&rule, AlertStatus::Firing)])
        .await
        .unwrap_err();
    assert!(
        matches!(e, NotifyError::Status { status: 401, .. }) && !e.is_permanent(),
        "{e}"
    );
    assert!(
        Webhook::new("https://localhost:8443/")
            .unwrap()
            .with_ca(b"not a certificate")
            .is_err()
    );
}

fn mail(password: &str) -> Email {
    let auth = var("AEROGUARD_SMTP_AUTH");
    let (user, _) = auth.split_once(':').unwrap();
    Email::new(
        "localhost",
        2525,
        "aeroguard@plant.example",
        &["shift@plant.example", "maintenance@plant.example"],
    )
    .unwrap()
    .with_ca(&ca())
    .unwrap()
    .with_credentials(user, password)
    .with_timeout(Duration::from_secs(10))
}

#[tokio::test]
async fn an_email_goes_through_starttls_to_every_recipient() {
    let auth = var("AEROGUARD_SMTP_AUTH");
    let rule = marker("mail");
    mail(auth.split_once(':').unwrap().1)
        .notify(&[
            event(&rule, AlertStatus::Firing),
            event(&rule, AlertStatus::Resolved),
        ])
        .await
        .unwrap();
    let inbox = std::path::PathBuf::from(var("AEROGUARD_SMTP_INBOX"));
    let found: Vec<String> = std::fs::read_dir(&inbox)
        .unwrap()
        .filter_map(|e| std::fs::read_to_string(e.unwrap().path()).ok())
        .filter(|m| m.contains(&rule))
        .collect();
    assert_eq!(found.len(), 1, "one message for the batch");
    let m = &found[0];
    assert!(
        m.contains("X-Envelope-To: shift@plant.example,maintenance@plant.example"),
        "{m}"
    );
    assert!(m.contains("Subject: 2 alerts: 1 firing, 1 resolved"), "{m}");
    assert!(
        m.contains(&format!("[FIRING] critical {rule} on pump-7")) && m.contains("[RESOLVED]"),
        "{m}"
    );
}

#[tokio::test]
async fn a_wrong_password_or_an_untrusted_server_sends_no_mail() {
    let rule = marker("refused");
    let e = mail("wrong-password")
        .notify(&[event(&rule, AlertStatus::Firing)])
        .await
        .unwrap_err();
    assert!(
        matches!(e, NotifyError::Status { status: 401, .. }) && !e.is_permanent(),
        "{e}"
    );
    let untrusted = Email::new("localhost", 2525, "a@plant.example", &["b@plant.example"]).unwrap();
    let e = untrusted
        .notify(&[event(&rule, AlertStatus::Firing)])
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("certificate") || e.to_string().contains("tls"),
        "{e}"
    );
    let inbox = std::path::PathBuf::from(var("AEROGUARD_SMTP_INBOX"));
    let leaked = std::fs::read_dir(&inbox)
        .map(|d| {
            d.filter_map(|e| std::fs::read_to_string(e.unwrap().path()).ok())
                .any(|m| m.contains(&rule))
        })
        .unwrap_or(false);
    assert!(!leaked, "no message was taken");
}
