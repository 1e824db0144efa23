//! Credentials for Redis' ACL users, for the servers and for the Sentinels.

use std::fmt;

use crate::{Error, Result};

/// A Redis ACL user and its password (`AUTH user password`), or a password alone for the `default` user (the
/// `requirepass` of older set-ups). The password never appears in `Debug` output.
///
/// ```
/// use aeroguard_consensus::redis::RedisCredentials;
/// let c = RedisCredentials::parse("aeroguard:s3cret")?;
/// assert_eq!(c.username(), Some("aeroguard"));
/// assert!(!format!("{c:?}").contains("s3cret"));
/// assert_eq!(RedisCredentials::password_only("s3cret")?.username(), None);
/// assert!(RedisCredentials::parse("no-password").is_err());
/// # Ok::<(), aeroguard_consensus::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct RedisCredentials {
    username: Option<String>,
    password: String,
}

impl RedisCredentials {
    /// ACL user `username` (1 to 256 characters, no spaces or `:`) with `password` (1 to 1024 characters).
    pub fn new(username: &str, password: &str) -> Result<Self> {
        if username.is_empty()
            || username.len() > 256
            || username.contains(':')
            || username.chars().any(char::is_whitespace)
        {
            return Err(Error::parameter(
                "username",
                username,
                "must be 1 to 256 characters without spaces or ':'",
            ));
        }
        Ok(RedisCredentials {
            username: Some(username.to_string()),
            password: check_password(password)?,
        })
    }

    /// A password for the `default` user.
    pub fn password_only(password: &str) -> Result<Self> {
        Ok(RedisCredentials {
            username: None,
            password: check_password(password)?,
        })
    }

    /// Parses `user:password` (the form of `AEROGUARD_REDIS_AUTH`).
    pub fn parse(user_password: &str) -> Result<Self> {
        let (user, password) = crate::error::split_credentials(user_password)?;
        RedisCredentials::new(user, password)
    }

    /// The ACL user, if any.
    pub fn username(&self) -> Option<&str> {
        self.username.as_deref()
    }

    /// Adds these credentials to connection settings.
    pub(crate) fn apply(&self, settings: redis::RedisConnectionInfo) -> redis::RedisConnectionInfo {
        let settings = settings.set_password(&self.password);
        match &self.username {
            Some(user) => settings.set_username(user),
            None => settings,
        }
    }
}

fn check_password(password: &str) -> Result<String> {
    crate::error::check_password(password)?;
    Ok(password.to_string())
}

impl fmt::Debug for RedisCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisCredentials")
            .field("username", &self.username)
            .field("password", &"(redacted)")
            .finish()
    }
}

/// TLS to the Redis servers and Sentinels (feature `tls`): the CA that signed their certificates, and
/// optionally this client's certificate and key for servers that ask for one (`tls-auth-clients yes`). Server
/// names are verified: a certificate must name the address the client connects to.
///
/// ```
/// # #[cfg(feature = "tls")] {
/// use aeroguard_consensus::redis::RedisTls;
/// let err = RedisTls::from_ca_file("/no/such/ca.crt").unwrap_err();
/// assert!(err.to_string().contains("/no/such/ca.crt"));
/// assert!(RedisTls::new(b"not a certificate".to_vec()).is_err());
/// # }
/// ```
#[cfg(feature = "tls")]
#[derive(Clone, PartialEq, Eq)]
pub struct RedisTls {
    ca: Vec<u8>,
    client: Option<(Vec<u8>, Vec<u8>)>,
}

#[cfg(feature = "tls")]
impl RedisTls {
    /// Trusts the CA certificates in `ca_pem` (PEM).
    pub fn new(ca_pem: Vec<u8>) -> Result<Self> {
        if ca_pem.len() > 1 << 20 || !ca_pem.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----") {
            return Err(Error::parameter(
                "tls ca",
                format!("{} bytes", ca_pem.len()),
                "must be PEM certificates (-----BEGIN CERTIFICATE-----), at most 1 MiB",
            ));
        }
        Ok(RedisTls {
            ca: ca_pem,
            client: None,
        })
    }

    /// Trusts the CA certificates in the PEM file at `path`.
    pub fn from_ca_file(path: impl AsRef<std::path::Path>) -> Result<Self> {
        let path = path.as_ref();
        let pem = std::fs::read(path).map_err(|e| Error::InvalidParameter {
            name: "tls ca",
            value: path.display().to_string(),
            reason: match e.kind() {
                std::io::ErrorKind::NotFound => "no such file",
                std::io::ErrorKind::PermissionDenied => "permission denied",
                _ => "unreadable",
            },
        })?;
        RedisTls::new(pem)
    }

    /// Presents `cert_pem` with `key_pem` (PEM) to servers that authenticate clients by certificate.
    pub fn with_client_certificate(mut self, cert_pem: Vec<u8>, key_pem: Vec<u8>) -> Self {
        self.client = Some((cert_pem, key_pem));
        self
    }

    pub(crate) fn certificates(&self) -> redis::TlsCertificates {
        redis::TlsCertificates {
            client_tls: self.client.as_ref().map(|(cert, key)| redis::ClientTlsConfig {
                client_cert: cert.clone(),
                client_key: key.clone(),
            }),
            root_cert: Some(self.ca.clone()),
        }
    }
}

#[cfg(feature = "tls")]
impl fmt::Debug for RedisTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisTls")
            .field("ca", &format!("{} bytes", self.ca.len()))
            .field("client_certificate", &self.client.is_some())
            .finish()
    }
}
