//! SASL logins (feature `zookeeper-sasl`): for ensembles that authenticate users from a JAAS `Server` section
//! (DIGEST-MD5 here; Kerberos needs the `gssapi` mechanism of zookeeper-client, not wired in). ZooKeeper names a
//! SASL identity `sasl:<user>` in ACLs.

use std::fmt;

use zookeeper_client as zk;

use super::ZkAuth;
use crate::{Error, Result};

/// A DIGEST-MD5 SASL login. The password never appears in `Debug` output.
///
/// ```
/// use aeroguard_consensus::zookeeper::{ZkAuth, ZkOptions, ZkSasl};
/// let login = ZkSasl::new("aeroguard", "s3cret")?;
/// assert!(!format!("{login:?}").contains("s3cret"));
/// let options = ZkOptions::new("127.0.0.1:2181").with_auth(ZkAuth::sasl_member(login));
/// # Ok::<(), aeroguard_consensus::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ZkSasl {
    user: String,
    password: String,
}

impl ZkSasl {
    /// A login as `user` (1 to 256 characters) with `password` (1 to 1024).
    pub fn new(user: &str, password: &str) -> Result<Self> {
        if user.is_empty() || user.len() > 256 {
            return Err(Error::parameter("user", user, "must be 1 to 256 characters"));
        }
        crate::error::check_password(password)?;
        Ok(ZkSasl {
            user: user.to_string(),
            password: password.to_string(),
        })
    }

    /// Parses `user:password`.
    pub fn parse(user_password: &str) -> Result<Self> {
        let (user, password) = crate::error::split_credentials(user_password)?;
        ZkSasl::new(user, password)
    }

    /// The user.
    pub fn user(&self) -> &str {
        &self.user
    }

    pub(crate) fn options(&self) -> zk::SaslOptions {
        zk::SaslOptions::digest_md5(self.user.clone(), self.password.clone()).into()
    }
}

impl fmt::Debug for ZkSasl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ZkSasl")
            .field("user", &self.user)
            .field("password", &"(redacted)")
            .finish()
    }
}

impl ZkAuth {
    /// A cluster member that logs in with SASL: the cluster identity is `sasl:<user>`.
    pub fn sasl_member(login: ZkSasl) -> Self {
        ZkAuth {
            sasl: Some(login),
            ..ZkAuth::default()
        }
    }

    /// Adds a SASL login to digest credentials: the login opens the session (an ensemble that admits SASL
    /// logins only, `enforce.auth.schemes=sasl`, lists who may log in), and the digest credentials still name
    /// the cluster, the node and the observers in ACLs.
    ///
    /// ```
    /// use aeroguard_consensus::zookeeper::{ZkAuth, ZkDigest, ZkSasl};
    /// let auth = ZkAuth::member(ZkDigest::new("aeroguard", "cluster-secret")?)
    ///     .with_sasl(ZkSasl::new("gate", "gate-secret")?);
    /// assert_eq!(auth.sasl.as_ref().map(ZkSasl::user), Some("gate"));
    /// # Ok::<(), aeroguard_consensus::Error>(())
    /// ```
    pub fn with_sasl(mut self, login: ZkSasl) -> Self {
        self.sasl = Some(login);
        self.sasl_is_own = false;
        self
    }

    /// Adds this node's own SASL login: it opens the session, and its identity `sasl:<user>` owns the node's
    /// znodes (in place of a digest node credential, [`ZkAuth::with_node`]). ZooKeeper shows SASL ids to every
    /// reader, so the cluster needs no ADMIN on a node's slots and folders to check them against the roster,
    /// and the parents of what members own (`elections/<name>`, `inbox/<name>`) let the cluster create but not
    /// delete: no other member can withdraw this node's candidacy or answer. List the node in every member's
    /// roster as [`ZkIdentity::sasl`](super::ZkIdentity::sasl).
    ///
    /// ```
    /// use aeroguard_consensus::zookeeper::{ZkAuth, ZkDigest, ZkIdentity, ZkSasl};
    /// let auth = ZkAuth::member(ZkDigest::new("aeroguard", "cluster-secret")?)
    ///     .with_own_sasl(ZkSasl::new("n1", "n1-secret")?)
    ///     .with_member("n1", ZkIdentity::sasl("n1")?)
    ///     .with_member("n2", ZkIdentity::sasl("n2")?);
    /// assert!(auth.sasl_is_own);
    /// # Ok::<(), aeroguard_consensus::Error>(())
    /// ```
    pub fn with_own_sasl(mut self, login: ZkSasl) -> Self {
        self.sasl = Some(login);
        self.sasl_is_own = true;
        self
    }
}
