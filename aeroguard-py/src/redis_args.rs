//! The Redis keyword arguments `Client` and `ElectionAuthority` share, and the options they make: where the
//! servers are, the logins, TLS (with a client certificate), the key prefix and how far writes must go.

use aeroguard_consensus::redis::{Durability, RedisCredentials, RedisOptions, RedisTls};

use crate::errors::value_error;
use crate::runtime::seconds;

/// The largest certificate or key file read.
const MAX_PEM_BYTES: u64 = 1 << 20;

/// `Client`'s and `ElectionAuthority`'s Redis arguments, as given.
pub struct RedisArgs {
    pub url: Option<String>,
    pub sentinels: Option<Vec<String>>,
    pub master: String,
    pub session: std::time::Duration,
    pub auth: Option<String>,
    pub sentinel_auth: Option<String>,
    pub ca: Option<String>,
    pub cert: Option<String>,
    pub key: Option<String>,
    pub prefix: Option<String>,
    pub min_replicas: u32,
    pub replica_timeout: f64,
}

impl RedisArgs {
    /// The options, every argument checked (a file that cannot be read is named with the argument).
    pub fn options(self) -> crate::errors::Result<RedisOptions> {
        let mut options = match (self.url, self.sentinels) {
            (Some(u), None) => RedisOptions::direct(u),
            (None, Some(s)) => {
                let refs: Vec<&str> = s.iter().map(String::as_str).collect();
                RedisOptions::sentinel(&refs, &self.master)
            }
            (None, None) => RedisOptions::direct("redis://127.0.0.1:6379"),
            (Some(_), Some(_)) => return Err(value_error("give url or sentinels, not both")),
        }
        .with_session_timeout(self.session);
        if let Some(c) = self.auth {
            options = options.with_credentials(RedisCredentials::parse(&c)?);
        }
        if let Some(c) = self.sentinel_auth {
            options = options.with_sentinel_credentials(RedisCredentials::parse(&c)?);
        }
        match (self.ca, self.cert, self.key) {
            (Some(ca), cert, key) => {
                let mut tls = RedisTls::from_ca_file(ca)?;
                match (cert, key) {
                    (Some(c), Some(k)) => {
                        tls = tls.with_client_certificate(pem("redis_cert", &c)?, pem("redis_key", &k)?);
                    }
                    (None, None) => {}
                    _ => return Err(value_error("give redis_cert and redis_key together")),
                }
                options = options.with_tls(tls);
            }
            (None, None, None) => {}
            (None, ..) => {
                return Err(value_error(
                    "redis_cert and redis_key need redis_ca: the client certificate is presented over TLS",
                ));
            }
        }
        if let Some(prefix) = self.prefix {
            options = options.with_prefix(prefix);
        }
        if self.min_replicas > 0 {
            options = options.with_durability(Durability::Replicas {
                count: self.min_replicas,
                timeout: seconds("replica_timeout", self.replica_timeout)?,
            });
        }
        Ok(options)
    }
}

/// A PEM file, at most 1 MiB, named by `what` when it cannot be read or is not PEM.
fn pem(what: &str, path: &str) -> crate::errors::Result<Vec<u8>> {
    let fail = |reason: &dyn std::fmt::Display| value_error(format!("{what} {path:?}: {reason}"));
    let size = std::fs::metadata(path).map_err(|e| fail(&e))?.len();
    if size > MAX_PEM_BYTES {
        return Err(fail(&format!("{size} bytes, at most {MAX_PEM_BYTES}")));
    }
    let bytes = std::fs::read(path).map_err(|e| fail(&e))?;
    if !bytes.windows(11).any(|w| w == b"-----BEGIN ") {
        return Err(fail(&"not PEM (no -----BEGIN line)"));
    }
    Ok(bytes)
}
