//! Notifications of alerts (feature `notify`): a [`Notifier`] trait, and two senders over HTTP: [`Alertmanager`]
//! (its v2 API, `POST /api/v2/alerts`) and a plain [`Webhook`] (a JSON body in the shape of Alertmanager's own
//! webhook). Only firing and resolved transitions are sent; pending ones are not news.
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
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

use super::{AlertEvent, AlertStatus};

/// The most bytes of a receiver's answer read (for the error message).
const MAX_ANSWER: usize = 64 * 1024;

/// Why a notification did not go through.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NotifyError {
    /// The receiver's address is not a usable `http://host:port[/path]` URL.
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
    /// wrong: 400, 404, 413, 422), so a caller should drop it rather than retry. Unreachable receivers, server
    /// errors, throttling and refused credentials (which an operator can fix) are worth retrying.
    pub fn is_permanent(&self) -> bool {
        match self {
            NotifyError::Url { .. } => true,
            NotifyError::Unreachable { .. } => false,
            NotifyError::Status { status, .. } => matches!(status, 400 | 404 | 405 | 413 | 422),
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

/// An HTTP endpoint with optional credentials and a timeout.
#[derive(Clone)]
struct Endpoint {
    url: hyper::Uri,
    authorization: Option<String>,
    timeout: Duration,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the credentials.
        f.debug_struct("Endpoint")
            .field("url", &self.url)
            .field(
                "authorization",
                &self.authorization.as_ref().map(|_| "(redacted)"),
            )
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl Endpoint {
    fn new(url: &str, path: Option<&str>) -> Result<Endpoint, NotifyError> {
        let bad = |reason| NotifyError::Url {
            url: url.chars().take(256).collect(),
            reason,
        };
        if url.len() > 2048 {
            return Err(bad("longer than 2048 bytes"));
        }
        let base: hyper::Uri = url.parse().map_err(|_| bad("not a URL"))?;
        match base.scheme_str() {
            Some("http") => {}
            Some("https") => return Err(bad("https is not supported: use a local TLS proxy or sidecar")),
            _ => return Err(bad("must start with http://")),
        }
        let authority = base.authority().ok_or_else(|| bad("no host"))?.clone();
        if authority.as_str().contains('@') {
            return Err(bad("credentials in the URL: use with_basic_auth or with_bearer"));
        }
        let full = match path {
            Some(p) => format!("http://{authority}{}{p}", base.path().trim_end_matches('/')),
            None => base.to_string(),
        };
        Ok(Endpoint {
            url: full.parse().map_err(|_| bad("not a URL"))?,
            authorization: None,
            timeout: Duration::from_secs(10),
            client: Client::builder(TokioExecutor::new()).build_http(),
        })
    }

    async fn post(&self, receiver: &str, body: &Value) -> Result<(), NotifyError> {
        let unreachable = |reason: String| NotifyError::Unreachable {
            receiver: receiver.to_string(),
            reason,
        };
        let mut request = hyper::Request::post(self.url.clone()).header("content-type", "application/json");
        if let Some(a) = &self.authorization {
            request = request.header("authorization", a);
        }
        let request = request
            .body(Full::new(Bytes::from(body.to_string())))
            .map_err(|e| unreachable(e.to_string()))?;
        let exchange = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| unreachable(e.to_string()))?;
            let status = response.status().as_u16();
            let text = match Limited::new(response.into_body(), MAX_ANSWER).collect().await {
                Ok(b) => String::from_utf8_lossy(&b.to_bytes()).into_owned(),
                Err(e) => format!("(answer unreadable: {e})"),
            };
            Ok::<_, NotifyError>((status, text))
        };
        let (status, text) = tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| unreachable(format!("no answer in {:?}", self.timeout)))??;
        if (200..300).contains(&status) {
            Ok(())
        } else {
            Err(NotifyError::Status {
                receiver: receiver.to_string(),
                status,
                body: text.chars().take(512).collect(),
            })
        }
    }
}

/// RFC 3339 text of a time in ms (Alertmanager's `startsAt`/`endsAt`).
fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms).map_or_else(|_| "1970-01-01T00:00:00Z".into(), |t| t.to_string())
}

/// What is worth sending: firing and resolved transitions.
fn news(events: &[AlertEvent]) -> Vec<&AlertEvent> {
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
        "annotations": { "value": e.value.to_string(), "summary": format!("{} on {}", e.rule, e.series) },
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
    /// An Alertmanager at `base` (`http://host:port`, optionally with a path prefix); alerts go to
    /// `<base>/api/v2/alerts`. A 10 s timeout, firing alerts valid for an hour unless sent again.
    pub fn new(base: &str) -> Result<Self, NotifyError> {
        let endpoint = Endpoint::new(base, Some("/api/v2/alerts"))?;
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
        self.endpoint.post(&self.name, &Value::Array(alerts)).await
    }
}

/// Posts alerts as JSON to any URL: `{"receiver": "aeroguard", "status": "firing"|"resolved", "alerts":
/// [...]}`, each alert as Alertmanager's webhook shows it (`status`, `labels`, `annotations`, `startsAt`,
/// `endsAt`), so receivers written for Alertmanager's webhooks read it as is.
#[derive(Debug, Clone)]
pub struct Webhook {
    endpoint: Endpoint,
    name: String,
}

impl Webhook {
    /// A webhook at `url` (`http://host:port/path`), with a 10 s timeout.
    pub fn new(url: &str) -> Result<Self, NotifyError> {
        let endpoint = Endpoint::new(url, None)?;
        Ok(Webhook {
            name: format!("webhook {}", endpoint.url),
            endpoint,
        })
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
        let alerts: Vec<Value> = news
            .iter()
            .map(|e| {
                let mut a = alertmanager_alert(e, Duration::ZERO);
                let status = if e.status == AlertStatus::Resolved {
                    "resolved"
                } else {
                    "firing"
                };
                a["status"] = json!(status);
                if e.status != AlertStatus::Resolved {
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
        let body = json!({ "version": "4", "receiver": "aeroguard", "status": status, "alerts": alerts });
        self.endpoint.post(&self.name, &body).await
    }
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
        for bad in [
            "",
            "ftp://x",
            "https://am:9093",
            "http://user:pw@am:9093",
            "not a url",
        ] {
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
