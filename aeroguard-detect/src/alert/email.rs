//! E-mail notifications (feature `email`): SMTP through lettre, STARTTLS required (rustls, the system's CAs
//! or only the ones given), optional login; one message per batch of transitions.
//!
//! ```no_run
//! # async fn demo(events: Vec<aeroguard_detect::alert::AlertEvent>) -> Result<(), aeroguard_detect::alert::NotifyError> {
//! use aeroguard_detect::alert::{Email, Notifier};
//! let mail = Email::new("smtp.example.org", 587, "aeroguard@example.org", &["shift@example.org"])?
//!     .with_credentials("aeroguard", "secret");
//! mail.notify(&events).await?;
//! # Ok(()) }
//! ```

use std::time::Duration;

use async_trait::async_trait;
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Message};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, CertificateStore, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::endpoint::chain;
use super::notify::news;
use super::{AlertEvent, AlertStatus, Notifier, NotifyError, chat};

/// Most alerts listed in one message (the rest are counted).
pub const MAX_LISTED: usize = 100;

/// Sends alerts as e-mail over SMTP with STARTTLS required.
#[derive(Clone)]
pub struct Email {
    host: String,
    port: u16,
    from: Mailbox,
    to: Vec<Mailbox>,
    credentials: Option<Credentials>,
    ca: Option<Vec<u8>>,
    timeout: Duration,
    name: String,
}

impl std::fmt::Debug for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Email")
            .field("server", &format!("{}:{}", self.host, self.port))
            .field("from", &self.from.to_string())
            .field("to", &self.to.len())
            .field("credentials", &self.credentials.as_ref().map(|_| "(redacted)"))
            .finish()
    }
}

impl Email {
    /// Mail through the SMTP server at `host:port` (submission, usually 587), from `from` to each of `to`.
    /// Addresses are checked here.
    pub fn new(host: &str, port: u16, from: &str, to: &[&str]) -> Result<Self, NotifyError> {
        let name = format!("smtp {host}:{port}");
        let address = |a: &str| {
            a.parse::<Mailbox>().map_err(|_| NotifyError::Url {
                url: a.chars().take(256).collect(),
                reason: "not an e-mail address",
            })
        };
        if host.is_empty() || host.len() > 253 || host.contains(['/', '@', ' ']) {
            return Err(NotifyError::Url {
                url: host.chars().take(256).collect(),
                reason: "not a host name",
            });
        }
        if to.is_empty() || to.len() > 100 {
            return Err(NotifyError::Url {
                url: format!("{} recipients", to.len()),
                reason: "1 to 100 recipients",
            });
        }
        Ok(Email {
            host: host.to_string(),
            port,
            from: address(from)?,
            to: to.iter().map(|a| address(a)).collect::<Result<_, _>>()?,
            credentials: None,
            ca: None,
            timeout: Duration::from_secs(10),
            name,
        })
    }

    /// Logs in (AUTH PLAIN or LOGIN, only after STARTTLS).
    pub fn with_credentials(mut self, user: &str, password: &str) -> Self {
        self.credentials = Some(Credentials::new(user.to_string(), password.to_string()));
        self
    }

    /// Trusts only the CA certificates in `pem` (PEM), instead of the system's.
    pub fn with_ca(mut self, pem: &[u8]) -> Result<Self, NotifyError> {
        if pem.len() > 1 << 20 {
            let reason = "the CA bundle is larger than 1 MiB".to_string();
            return Err(NotifyError::Tls {
                receiver: self.name.clone(),
                reason,
            });
        }
        Certificate::from_pem(pem).map_err(|e| NotifyError::Tls {
            receiver: self.name.clone(),
            reason: e.to_string(),
        })?;
        self.ca = Some(pem.to_vec());
        Ok(self)
    }

    /// How long one attempt may take.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    fn transport(&self) -> Result<AsyncSmtpTransport<Tokio1Executor>, NotifyError> {
        let tls_error = |e: lettre::transport::smtp::Error| NotifyError::Tls {
            receiver: self.name.clone(),
            reason: e.to_string(),
        };
        let mut params = TlsParameters::builder(self.host.clone());
        if let Some(pem) = &self.ca {
            params = params
                .certificate_store(CertificateStore::None)
                .add_root_certificate(Certificate::from_pem(pem).map_err(tls_error)?);
        }
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&self.host)
            .port(self.port)
            .tls(Tls::Required(params.build_rustls().map_err(tls_error)?))
            .timeout(Some(self.timeout));
        if let Some(c) = &self.credentials {
            builder = builder.credentials(c.clone());
        }
        Ok(builder.build())
    }

    fn message(&self, news: &[&AlertEvent]) -> Result<Message, NotifyError> {
        let firing = news.iter().filter(|e| e.status == AlertStatus::Firing).count();
        let subject = match news {
            [one] => chat::line(one),
            _ => format!(
                "{} alerts: {firing} firing, {} resolved",
                news.len(),
                news.len() - firing
            ),
        };
        let mut body: Vec<String> = news.iter().take(MAX_LISTED).map(|e| chat::line(e)).collect();
        if news.len() > MAX_LISTED {
            body.push(format!("and {} more", news.len() - MAX_LISTED));
        }
        let mut m = Message::builder().from(self.from.clone()).subject(subject);
        for to in &self.to {
            m = m.to(to.clone());
        }
        m.header(ContentType::TEXT_PLAIN)
            .body(body.join("\n") + "\n")
            .map_err(|e| NotifyError::Url {
                url: e.to_string(),
                reason: "the message could not be built",
            })
    }
}

#[async_trait]
impl Notifier for Email {
    fn name(&self) -> &str {
        &self.name
    }

    async fn notify(&self, events: &[AlertEvent]) -> Result<(), NotifyError> {
        let news = news(events);
        if news.is_empty() {
            return Ok(());
        }
        let message = self.message(&news)?;
        match self.transport()?.send(message).await {
            Ok(_) => Ok(()),
            Err(e) => Err(match e.status() {
                Some(code) => NotifyError::Status {
                    receiver: self.name.clone(),
                    status: smtp_status(u16::from(code)),
                    body: e.to_string().chars().take(512).collect(),
                },
                None => NotifyError::Unreachable {
                    receiver: self.name.clone(),
                    reason: chain(&e),
                },
            }),
        }
    }
}

/// An SMTP reply as the HTTP status that means the same for retrying: a permanent refusal of the message
/// (5xx, but the login's 530 / 534 / 535, which an operator can fix) as 422, anything else as 503.
fn smtp_status(code: u16) -> u16 {
    match code {
        530 | 534 | 535 => 401,
        500..=599 => 422,
        _ => 503,
    }
}
