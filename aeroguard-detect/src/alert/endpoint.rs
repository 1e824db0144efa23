//! An HTTP or HTTPS endpoint the notifiers post JSON to: rustls (ring) for `https://`, trusting the system's
//! CA certificates or only the ones given; credentials and a timeout per endpoint.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use serde_json::Value;

use super::NotifyError;

/// The most bytes of a receiver's answer read (for the error message).
const MAX_ANSWER: usize = 64 * 1024;
/// The largest CA bundle accepted.
const MAX_CA_PEM: usize = 1 << 20;

/// Which certificate authorities an `https://` endpoint trusts.
#[derive(Debug, Clone, Default)]
pub(crate) enum Trust {
    /// The system's (rustls-native-certs: `/etc/ssl/certs` and `SSL_CERT_FILE`).
    #[default]
    System,
    /// Only these (DER), for a private CA.
    Only(Vec<CertificateDer<'static>>),
}

impl Trust {
    /// Only the certificates in `pem`, refused when it holds none or is too large.
    pub(crate) fn from_pem(receiver: &str, pem: &[u8]) -> Result<Trust, NotifyError> {
        let bad = |reason: &str| NotifyError::Tls {
            receiver: receiver.into(),
            reason: reason.into(),
        };
        if pem.len() > MAX_CA_PEM {
            return Err(bad("the CA bundle is larger than 1 MiB"));
        }
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem)
            .collect::<Result<_, _>>()
            .map_err(|e| bad(&format!("the CA bundle is not PEM certificates: {e}")))?;
        if certs.is_empty() {
            return Err(bad("the CA bundle holds no certificate"));
        }
        Ok(Trust::Only(certs))
    }

    fn roots(&self) -> rustls::RootCertStore {
        let mut roots = rustls::RootCertStore::empty();
        match self {
            Trust::System => {
                roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
            }
            Trust::Only(certs) => {
                roots.add_parsable_certificates(certs.iter().cloned());
            }
        }
        roots
    }
}

type Https = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// An HTTP(S) endpoint with optional credentials and a timeout.
#[derive(Clone)]
pub(crate) struct Endpoint {
    pub(crate) url: hyper::Uri,
    pub(crate) authorization: Option<String>,
    pub(crate) timeout: Duration,
    client: Https,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the credentials, nor the path (chat webhooks carry their secret in it).
        f.debug_struct("Endpoint")
            .field("url", &self.shown())
            .field(
                "authorization",
                &self.authorization.as_ref().map(|_| "(redacted)"),
            )
            .field("timeout", &self.timeout)
            .finish()
    }
}

fn client(receiver: &str, trust: &Trust) -> Result<Https, NotifyError> {
    let config =
        rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| NotifyError::Tls {
                receiver: receiver.into(),
                reason: e.to_string(),
            })?
            .with_root_certificates(trust.roots())
            .with_no_client_auth();
    let connector = HttpsConnectorBuilder::new()
        .with_tls_config(config)
        .https_or_http()
        .enable_http1()
        .build();
    Ok(Client::builder(TokioExecutor::new()).build(connector))
}

impl Endpoint {
    /// `url` (`http://` or `https://`, host, port, optional path; no credentials in it), with `path` appended
    /// when given.
    pub(crate) fn new(url: &str, path: Option<&str>, trust: &Trust) -> Result<Endpoint, NotifyError> {
        let bad = |reason| NotifyError::Url {
            url: url.chars().take(256).collect(),
            reason,
        };
        if url.len() > 2048 {
            return Err(bad("longer than 2048 bytes"));
        }
        let base: hyper::Uri = url.parse().map_err(|_| bad("not a URL"))?;
        let scheme = match base.scheme_str() {
            Some(s @ ("http" | "https")) => s.to_string(),
            _ => return Err(bad("must start with http:// or https://")),
        };
        let authority = base.authority().ok_or_else(|| bad("no host"))?.clone();
        if authority.as_str().contains('@') {
            return Err(bad("credentials in the URL: use with_basic_auth or with_bearer"));
        }
        let full = match path {
            Some(p) => format!("{scheme}://{authority}{}{p}", base.path().trim_end_matches('/')),
            None => base.to_string(),
        };
        Ok(Endpoint {
            url: full.parse().map_err(|_| bad("not a URL"))?,
            authorization: None,
            timeout: Duration::from_secs(10),
            client: client(url, trust)?,
        })
    }

    /// Trusts `trust` from now on.
    pub(crate) fn trust(&mut self, trust: &Trust) -> Result<(), NotifyError> {
        self.client = client(&self.shown(), trust)?;
        Ok(())
    }

    /// The URL without its path (which may carry a secret).
    pub(crate) fn shown(&self) -> String {
        let scheme = self.url.scheme_str().unwrap_or("http");
        let authority = self.url.authority().map_or("", |a| a.as_str());
        format!("{scheme}://{authority}")
    }

    pub(crate) async fn post(
        &self,
        receiver: &str,
        body: &Value,
        headers: &[(&str, String)],
    ) -> Result<(), NotifyError> {
        let unreachable = |reason: String| NotifyError::Unreachable {
            receiver: receiver.to_string(),
            reason,
        };
        let mut request = hyper::Request::post(self.url.clone()).header("content-type", "application/json");
        if let Some(a) = &self.authorization {
            request = request.header("authorization", a);
        }
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let request = request
            .body(Full::new(Bytes::from(body.to_string())))
            .map_err(|e| unreachable(e.to_string()))?;
        let exchange = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| unreachable(chain(&e)))?;
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

/// An error with its causes (a refused certificate shows only in the cause).
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
