//! Identities as ZooKeeper's ACLs name them, for rosters.

use std::fmt;

use zookeeper_client as zk;

use super::ZkDigest;
use crate::{Error, Result};

/// An identity as ZooKeeper's ACLs name it: a scheme and an id.
///
/// ```
/// use aeroguard_consensus::zookeeper::{ZkDigest, ZkIdentity};
/// let n1 = ZkDigest::new("n1", "n1-secret")?;
/// assert_eq!(ZkIdentity::of(&n1), ZkIdentity::digest(&n1.id())?);
/// assert_eq!(ZkIdentity::sasl("n1")?.to_string(), "sasl:n1");
/// assert!(ZkIdentity::digest("n1").is_err(), "a digest id is user:base64(sha1)");
/// # Ok::<(), aeroguard_consensus::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ZkIdentity {
    scheme: &'static str,
    id: String,
}

impl ZkIdentity {
    /// The digest identity of these credentials.
    pub fn of(credential: &ZkDigest) -> Self {
        ZkIdentity {
            scheme: "digest",
            id: credential.id(),
        }
    }

    /// A digest identity from its id `user:base64(sha1(user:password))`, as [`ZkDigest::id`] prints it (a
    /// roster needs no member's password).
    pub fn digest(id: &str) -> Result<Self> {
        if !is_digest_id(id) {
            return Err(Error::parameter(
                "identity",
                id,
                "must be a digest id user:base64(sha1), as ZkDigest::id prints",
            ));
        }
        Ok(ZkIdentity {
            scheme: "digest",
            id: id.to_string(),
        })
    }

    /// The identity of SASL user `user` (the ensemble checked its password).
    pub fn sasl(user: &str) -> Result<Self> {
        if user.is_empty() || user.len() > 256 {
            return Err(Error::parameter("user", user, "must be 1 to 256 characters"));
        }
        Ok(ZkIdentity {
            scheme: "sasl",
            id: user.to_string(),
        })
    }

    pub(crate) fn matches(&self, acl: &zk::Acl) -> bool {
        acl.scheme() == self.scheme && acl.id() == self.id
    }
}

impl std::str::FromStr for ZkIdentity {
    type Err = Error;

    /// Parses the [`Display`](fmt::Display) form: `digest:<user>:<hash>` or `sasl:<user>`.
    ///
    /// ```
    /// use aeroguard_consensus::zookeeper::ZkIdentity;
    /// let id: ZkIdentity = "digest:n2:NA7UVyEW3mEEhMNIp20TZddlhsQ=".parse()?;
    /// assert_eq!(id.to_string(), "digest:n2:NA7UVyEW3mEEhMNIp20TZddlhsQ=");
    /// assert!("world:anyone".parse::<ZkIdentity>().is_err());
    /// # Ok::<(), aeroguard_consensus::Error>(())
    /// ```
    fn from_str(s: &str) -> Result<Self> {
        match s.split_once(':') {
            Some(("digest", id)) => ZkIdentity::digest(id),
            Some(("sasl", user)) => ZkIdentity::sasl(user),
            _ => Err(Error::parameter(
                "identity",
                s,
                "must be digest:<user>:<base64 sha1> or sasl:<user>",
            )),
        }
    }
}

impl fmt::Display for ZkIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.scheme, self.id)
    }
}

pub(crate) fn is_digest_id(id: &str) -> bool {
    id.split_once(':')
        .is_some_and(|(u, h)| !u.is_empty() && h.len() == 28 && h.ends_with('='))
}
