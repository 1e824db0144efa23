//! Notifications of alerts (feature `notify`): a [`Notifier`] trait, and senders over HTTP or HTTPS (rustls,
//! the system's CAs or only the ones given): [`Alertmanager`] (its v2 API, `POST /api/v2/alerts`) and a
//! [`Webhook`] (a JSON body in the shape of Alertmanager's own webhook, or Slack's or Microsoft Teams'
//! incoming-webhook shapes); with feature `email`, [`Email`](super::Email) over SMTP with STARTTLS. Only firing
//! and resolved transitions are sent; pending ones are not news.
//!
//! A sender does one attempt with a timeout and says whether trying again can help
//! ([`NotifyError::is_permanent`]); retry with backoff and buffering across outages belong to the caller: the
//! cluster's nodes put notifications in an outbox on disk (`aeroguard_consensus::outbox`) and forward them.
//!
//! ```no_run
//! # async fn demo(events: Vec<aeroguard_detect::alert::AlertEvent>) -> Result<(), aeroguard_detect::alert::NotifyError> {
//! use aeroguard_detect::alert::{Alertmanager, Notifier};
//! let am = Alertmanager::new("http://127.0.0.1:9093")?.with_basic_auth("aeroguard", "secret");
//! am.notify(&events).await?;
//! # Ok(()) }
//! ```

use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use serde_json::{Value, json};

use super::chat::{self, Shape};
use super::endpoint::{Endpoint, Trust};
use super::{AlertEvent, AlertStatus};

/// Why a notification did not go through.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NotifyError {
    /// The receiver's address is not a usable `http(s)://host:port[/path]` URL.
    #[error("receiver URL {url:?}: {reason}")]
    Url {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The receiver could not be reached, or did not answer in time.
    #[error("{receiver} unreachable: {reason}")]
    Unreachable {
        /// The receiver.
        receiver: String,
        /// What happened.
        reason: String,
    },
    /// TLS could not be set up as asked (a CA bundle that holds no certificate).
    #[error("{receiver}: TLS: {reason}")]
    Tls {
        /// The receiver.
        receiver: String,
        /// What was wrong.
        reason: String,
    },
    /// The receiver answered with an error status.
    #[error("{receiver} answered {status}: {body}")]
    Status {
        /// The receiver.
        receiver: String,
        /// The HTTP status.
        status: u16,
        /// The start of its answer.
        body: String,
    },
}

impl NotifyError {
    /// Whether sending the same notification again can never succeed (the receiver found the request itself
    /// wrong: 400, 404, 413, 422; or a stale fencing token, 409), so a caller should drop it rather than retry.
    /// Unreachable receivers, server errors, throttling and refused credentials (which an operator can fix) are
    /// worth retrying.
    pub fn is_permanent(&self) -> bool {
        match self {
            NotifyError::Url { .. } | NotifyError::Tls { .. } => true,
            NotifyError::Unreachable { .. } => false,
            NotifyError::Status { status, .. } => matches!(status, 400 | 404 | 405 | 409 | 413 | 422),
        }
    }
}

/// Something that tells people about alerts.
#[async_trait]
pub trait Notifier: std::fmt::Debug + Send + Sync {
    /// The receiver, for logs and errors.
    fn name(&self) -> &str;

    /// Sends the firing and resolved transitions among `events` (pending ones are skipped; nothing to send is
    /// a success).
    async fn notify(&self, events: &[AlertEvent]) -> Result<(), NotifyError>;
}

/// RFC 3339 text of a time in ms (Alertmanager's `startsAt`/`endsAt`).
pub(crate) fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms).map_or_else(|_| "1970-01-01T00:00:00Z".into(), |t| t.to_string())
}

/// What is worth sending: firing and resolved transitions.
pub(crate) fn news(events: &[AlertEvent]) -> Vec<&AlertEvent> {
    events
        .iter()
        .filter(|e| e.status != AlertStatus::Pending)
        .collect()
}

/// An alert in Alertmanager's v2 shape: labels `alertname` (the rule), `series`, `severity` and the rule's
/// own; the value as an annotation; `startsAt` when the condition began to hold; `endsAt` the resolution time,
/// or for a firing alert its time plus `ttl` (Alertmanager resolves it by itself if nothing is heard by then).
fn alertmanager_alert(e: &AlertEvent, ttl: Duration) -> Value {
    let mut labels = serde_json::Map::new();
    for (k, v) in &e.labels {
        labels.insert(k.clone(), json!(v));
    }
    labels.insert("alertname".into(), json!(e.rule));
    labels.insert("series".into(), json!(e.series));
    labels.insert(
        "severity".into(),
        serde_json::to_value(e.severity).unwrap_or(Value::Null),
    );
    let ends = match e.status {
        AlertStatus::Resolved => e.at.as_millis(),
        _ => {
            e.at.as_millis()
                .saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX))
        }
    };
    json!({
        "labels": labels,
        "annotations": {
            "value": e.value.to_string(),
            // An action's notification says what to do.
            "summary": e.labels.get("recommendation").cloned().unwrap_or_else(|| format!("{} on {}", e.rule, e.series)),
        },
        "startsAt": rfc3339(e.since.as_millis()),
        "endsAt": rfc3339(ends),
    })
}

/// Sends alerts to an Alertmanager's v2 API.
#[derive(Debug, Clone)]
pub struct Alertmanager {
    endpoint: Endpoint,
    name: String,
    ttl: Duration,
}

impl Alertmanager {
    /// An Alertmanager at `base` (`http(s)://host:port`, optionally with a path prefix); alerts go to
    /// `<base>/api/v2/alerts`. A 10 s timeout, firing alerts valid for an hour unless sent again.
    pub fn new(base: &str) -> Result<Self, NotifyError> {
        let endpoint = Endpoint::new(base, Some("/api/v2/alerts"), &Trust::System)?;
        Ok(Alertmanager {
            name: format!("alertmanager {}", endpoint.url),
            endpoint,
            ttl: super::FIRING_TTL,
        })
    }

    /// Authenticates with HTTP basic auth (Alertmanager's `--web.config.file`).
    pub fn with_basic_auth(mut self, user: &str, password: &str) -> Self {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        self.endpoint.authorization = Some(format!("Basic {token}"));
        self
    }

    /// Authenticates with a bearer token.
    pub fn with_bearer(mut self, token: &str) -> Self {
        self.endpoint.authorization = Some(format!("Bearer {token}"));
        self
    }

    /// How long one attempt may take.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.endpoint.timeout = timeout;
        self
    }

    /// Trusts only the CA certificates in `pem` (PEM) for `https://`, instead of the system's.
    pub fn with_ca(mut self, pem: &[u8]) -> Result<Self, NotifyError> {
        self.endpoint.trust(&Trust::from_pem(&self.name, pem)?)?;
        Ok(self)
    }

    /// How long Alertmanager keeps a firing alert active without hearing of it again.
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }
}

#[async_trait]
impl Notifier for Alertmanager {
    fn name(&self) -> &str {
        &self.name
    }

    async fn notify(&self, events: &[AlertEvent]) -> Result<(), NotifyError> {
        let alerts: Vec<Value> = news(events)
            .into_iter()
            .map(|e| alertmanager_alert(e, self.ttl))
            .collect();
        if alerts.is_empty() {
            return Ok(());
        }
        self.endpoint.post(&self.name, &Value::Array(alerts), &[]).await
    }
}

/// Posts alerts as JSON to any URL. In the default shape, `{"receiver": "aeroguard", "status":
/// "firing"|"resolved", "alerts": [...]}`, each alert as Alertmanager's webhook shows it (`status`, `labels`,
/// `annotations`, `startsAt`, `endsAt`), so receivers written for Alertmanager's webhooks read it as is;
/// [`Webhook::slack`] and [`Webhook::teams`] post the shapes of their incoming webhooks instead.
///
/// ```
/// use aeroguard_detect::alert::Webhook;
/// let slack = Webhook::slack("https://hooks.slack.com/services/T0/B0/secret")?;
/// assert!(!format!("{slack:?}").contains("secret"), "the path of a chat webhook is its secret");
/// assert!(Webhook::new("ftp://x").is_err());
/// # Ok::<(), aeroguard_detect::alert::NotifyError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Webhook {
    endpoint: Endpoint,
    name: String,
    shape: Shape,
    headers: Vec<(&'static str, String)>,
}

impl Webhook {
    /// A webhook at `url` (`http(s)://host:port/path`) in Alertmanager's webhook shape, with a 10 s timeout.
    pub fn new(url: &str) -> Result<Self, NotifyError> {
        Webhook::shaped(url, Shape::Alertmanager)
    }

    /// A Slack incoming webhook (`{"text": ...}`, one line per alert).
    pub fn slack(url: &str) -> Result<Self, NotifyError> {
        Webhook::shaped(url, Shape::Slack)
    }

    /// A Microsoft Teams incoming webhook (a message with an Adaptive Card, one line per alert).
    pub fn teams(url: &str) -> Result<Self, NotifyError> {
        Webhook::shaped(url, Shape::Teams)
    }

    fn shaped(url: &str, shape: Shape) -> Result<Self, NotifyError> {
        let endpoint = Endpoint::new(url, None, &Trust::System)?;
        Ok(Webhook {
            name: format!("{} {}", shape.name(), endpoint.shown()),
            endpoint,
            shape,
            headers: Vec::new(),
        })
    }

    /// Authenticates with a bearer token.
    pub fn with_bearer(mut self, token: &str) -> Self {
        self.endpoint.authorization = Some(format!("Bearer {token}"));
        self
    }

    /// Trusts only the CA certificates in `pem` (PEM) for `https://`, instead of the system's.
    pub fn with_ca(mut self, pem: &[u8]) -> Result<Self, NotifyError> {
        self.endpoint.trust(&Trust::from_pem(&self.name, pem)?)?;
        Ok(self)
    }

    /// Sends a header of one's own with every request (an idempotency key, a fencing token).
    pub fn with_header(mut self, name: &'static str, value: &str) -> Self {
        self.headers.push((name, value.to_string()));
        self
    }

    /// How long one attempt may take.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.endpoint.timeout = timeout;
        self
    }
}

#[async_trait]
impl Notifier for Webhook {
    fn name(&self) -> &str {
        &self.name
    }

    async fn notify(&self, events: &[AlertEvent]) -> Result<(), NotifyError> {
        let news = news(events);
        if news.is_empty() {
            return Ok(());
        }
        let body = match self.shape {
            Shape::Alertmanager => alertmanager_webhook(&news),
            Shape::Slack => chat::slack(&news),
            Shape::Teams => chat::teams(&news),
        };
        self.endpoint.post(&self.name, &body, &self.headers).await
    }
}

/// The body of Alertmanager's own webhook.
fn alertmanager_webhook(news: &[&AlertEvent]) -> Value {
    let alerts: Vec<Value> = news
        .iter()
        .map(|e| {
            let mut a = alertmanager_alert(e, Duration::ZERO);
            let resolved = e.status == AlertStatus::Resolved;
            a["status"] = json!(if resolved { "resolved" } else { "firing" });
            if !resolved {
                a["endsAt"] = json!("0001-01-01T00:00:00Z");
            }
            a
        })
        .collect();
    let status = if news.iter().any(|e| e.status == AlertStatus::Firing) {
        "firing"
    } else {
        "resolved"
    };
    json!({ "version": "4", "receiver": "aeroguard", "status": status, "alerts": alerts })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use aeroguard_core::Timestamp;

    fn event(status: AlertStatus) -> AlertEvent {
        AlertEvent {
            rule: "hot".into(),
            series: "pump-1".into(),
            status,
            at: Timestamp::from_millis(1_700_000_060_000),
            since: Timestamp::from_millis(1_700_000_000_000),
            severity: super::super::Severity::Critical,
            labels: [("site".to_string(), "north".to_string())].into(),
            value: 95.5,
        }
    }

    #[test]
    fn urls_are_checked() {
        for bad in ["", "ftp://x", "http://user:pw@am:9093", "not a url"] {
            let e = Alertmanager::new(bad).unwrap_err();
            assert!(e.is_permanent(), "{bad}: {e}");
        }
        let am = Alertmanager::new("http://127.0.0.1:9093/prefix/").unwrap();
        assert_eq!(
            am.endpoint.url.to_string(),
            "http://127.0.0.1:9093/prefix/api/v2/alerts"
        );
        let debug = format!("{:?}", am.with_basic_auth("u", "very-secret"));
        assert!(
            !debug.contains("very-secret")
                && !debug.contains(&base64::engine::general_purpose::STANDARD.encode("u:very-secret"))
        );
    }

    #[test]
    fn the_alertmanager_shape() {
        let firing = alertmanager_alert(&event(AlertStatus::Firing), Duration::from_secs(60));
        assert_eq!(firing["labels"]["alertname"], "hot");
        assert_eq!(firing["labels"]["series"], "pump-1");
        assert_eq!(firing["labels"]["severity"], "critical");
        assert_eq!(firing["labels"]["site"], "north");
        assert_eq!(firing["startsAt"], "2023-11-14T22:13:20Z");
        assert_eq!(firing["endsAt"], "2023-11-14T22:15:20Z", "its time plus the ttl");
        let resolved = alertmanager_alert(&event(AlertStatus::Resolved), Duration::from_secs(60));
        assert_eq!(resolved["endsAt"], "2023-11-14T22:14:20Z", "the resolution time");
        assert_eq!(
            news(&[event(AlertStatus::Pending), event(AlertStatus::Firing)]).len(),
            1
        );
    }

    #[test]
    fn what_is_worth_retrying() {
        let status = |status| NotifyError::Status {
            receiver: "r".into(),
            status,
            body: String::new(),
        };
        assert!(status(400).is_permanent() && status(422).is_permanent());
        assert!(!status(401).is_permanent() && !status(503).is_permanent() && !status(429).is_permanent());
        assert!(
            !NotifyError::Unreachable {
                receiver: "r".into(),
                reason: "refused".into()
            }
            .is_permanent()
        );
    }
}
