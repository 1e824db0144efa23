//! The action webhook (feature `notify`): each action POSTed as its JSON record, with the leader's fencing token
//! and the episode's idempotency key in headers.

use std::time::Duration;

use super::ActionRecord;
use crate::alert::NotifyError;
use crate::alert::endpoint::{Endpoint, Trust};

/// The header that carries the fencing token of the leader that acted.
pub const FENCING_TOKEN_HEADER: &str = "x-aeroguard-fencing-token";
/// The header that carries the episode's key (the same for every call of one episode).
pub const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";

/// Calls a receiver with each action. A receiver refuses a call whose token is older than one it has seen
/// (answering 409) and acknowledges a key it has taken without acting again ([`Gate`](super::Gate)).
///
/// ```
/// use aeroguard_detect::action::ActionHook;
/// let hook = ActionHook::new("https://maintenance.example:8443/actions")?.with_bearer("secret");
/// assert!(!format!("{hook:?}").contains("secret"));
/// assert!(ActionHook::new("maintenance.example").is_err());
/// # Ok::<(), aeroguard_detect::alert::NotifyError>(())
/// ```
#[derive(Debug, Clone)]
pub struct ActionHook {
    endpoint: Endpoint,
    name: String,
}

impl ActionHook {
    /// A receiver at `url` (`http(s)://host:port/path`), trusting the system's CAs, with a 10 s timeout.
    pub fn new(url: &str) -> Result<Self, NotifyError> {
        let endpoint = Endpoint::new(url, None, &Trust::System)?;
        Ok(ActionHook {
            name: format!("action webhook {}", endpoint.shown()),
            endpoint,
        })
    }

    /// Authenticates with a bearer token.
    pub fn with_bearer(mut self, token: &str) -> Self {
        self.endpoint.authorization = Some(format!("Bearer {token}"));
        self
    }

    /// Trusts only the CA certificates in `pem` (PEM) for `https://`.
    pub fn with_ca(mut self, pem: &[u8]) -> Result<Self, NotifyError> {
        self.endpoint.trust(&Trust::from_pem(&self.name, pem)?)?;
        Ok(self)
    }

    /// How long one attempt may take.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.endpoint.timeout = timeout;
        self
    }

    /// The receiver, for logs and errors.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Sends one action. A 409 (a stale leader's call, refused) is permanent ([`NotifyError::is_permanent`]):
    /// trying again cannot help.
    pub async fn call(&self, record: &ActionRecord) -> Result<(), NotifyError> {
        let body = serde_json::to_value(record).map_err(|e| NotifyError::Url {
            url: self.name.clone(),
            reason: if e.is_data() {
                "the record is not JSON"
            } else {
                "the record did not serialise"
            },
        })?;
        let mut headers = vec![(IDEMPOTENCY_KEY_HEADER, record.key.clone())];
        if let Some(t) = record.token {
            headers.push((FENCING_TOKEN_HEADER, t.to_string()));
        }
        self.endpoint.post(&self.name, &body, &headers).await
    }
}
