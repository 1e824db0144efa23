//! How a client reaches a Redis server or Sentinel: its ACL credentials and TLS, and how a refusal of either
//! maps to the crate's errors.

use redis::{Client, ErrorKind, RedisError, ServerErrorKind};

use super::BACKEND;
use crate::Error;

/// How a client reaches a server: credentials, and TLS when the feature is on and configured.
#[derive(Debug, Clone, Default)]
pub(super) struct Access {
    credentials: Option<super::RedisCredentials>,
    #[cfg(feature = "tls")]
    tls: Option<super::RedisTls>,
}

impl Access {
    pub(super) fn new(options: &super::RedisOptions, credentials: Option<&super::RedisCredentials>) -> Self {
        let _ = options;
        Access {
            credentials: credentials.cloned(),
            #[cfg(feature = "tls")]
            tls: options.tls.clone(),
        }
    }

    /// A client for `url` (`redis://host:port`), authenticating with the credentials and speaking TLS when set.
    pub(super) fn client(&self, url: &str) -> std::result::Result<Client, RedisError> {
        use redis::IntoConnectionInfo;
        #[cfg(feature = "tls")]
        let url = match (&self.tls, url.strip_prefix("redis://")) {
            (Some(_), Some(rest)) => format!("rediss://{rest}"),
            _ => url.to_string(),
        };
        let mut info = url.into_connection_info()?;
        if let Some(c) = &self.credentials {
            let settings = c.apply(info.redis_settings().clone());
            info = info.set_redis_settings(settings);
        }
        #[cfg(feature = "tls")]
        if let Some(tls) = &self.tls {
            install_crypto_provider();
            return Client::build_with_tls(info, tls.certificates());
        }
        Client::open(info)
    }
}

/// rustls needs a process-wide crypto provider; install ring's unless the program chose one (never panic in
/// `ClientConfig::builder` when several providers are compiled in).
#[cfg(feature = "tls")]
pub(super) fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Another thread may have installed one meanwhile: either is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// Refused credentials (`Unauthorized`) or a command or key the ACL user may not use (`Forbidden`).
pub(super) fn access_error(e: &RedisError, operation: &'static str) -> Option<Error> {
    let reason = || e.detail().unwrap_or("").to_string();
    if e.kind() == ErrorKind::AuthenticationFailed || matches!(e.code(), Some("NOAUTH" | "WRONGPASS")) {
        Some(Error::Unauthorized {
            backend: BACKEND,
            operation,
            reason: format!("{} {}", e.code().unwrap_or("authentication failed"), reason()),
        })
    } else if matches!(e.kind(), ErrorKind::Server(ServerErrorKind::NoPerm)) || e.code() == Some("NOPERM") {
        Some(Error::Forbidden {
            backend: BACKEND,
            operation,
            reason: reason(),
        })
    } else {
        None
    }
}

/// A server's answer that is neither an access refusal nor a lost connection: a refusal for now (`Overloaded`,
/// retryable) or anything else (`Backend`).
pub(crate) fn refused_or_failed(e: &RedisError, operation: &'static str) -> Error {
    if super::conn::transient(e) {
        Error::Overloaded {
            backend: BACKEND,
            operation,
            reason: e.to_string(),
        }
    } else {
        Error::Backend {
            backend: BACKEND,
            operation,
            message: e.to_string(),
            cause: Some(aeroguard_core::Cause::new(e.clone())),
        }
    }
}
