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
        match user_password.split_once(':') {
            Some((user, password)) => RedisCredentials::new(user, password),
            None => Err(Error::parameter(
                "credentials",
                "(redacted)",
                "must be user:password",
            )),
        }
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
    if password.is_empty() || password.len() > 1024 {
        return Err(Error::parameter(
            "password",
            "(redacted)",
            "must be 1 to 1024 characters",
        ));
    }
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
