//! Identities as ZooKeeper's ACLs name them, for rosters.

use std::fmt;

use zookeeper_client as zk;

use super::{ZkAuth, ZkDigest};
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

/// Whether a znode's ACL and history let what it holds stand for `node`: `None` if so, else why not. The
/// roster's identity for `node` must be the one identity `acls` grant `perm` (write for a slot, create for a
/// folder), and the ACL must never have changed (`aversion` 0): whoever made the znode, only that identity can
/// have written it (anyone else would have had to change the ACL first, which shows).
pub(crate) fn vouch(
    auth: &ZkAuth,
    node: &str,
    acls: &[zk::Acl],
    stat: &zk::Stat,
    perm: zk::Permission,
) -> Option<String> {
    let Some(identity) = auth.identity_of(node) else {
        return Some(format!(
            "{node} is not in this client's roster (ZkAuth::with_member), so nothing vouches for it"
        ));
    };
    let writers: Vec<&zk::Acl> = acls.iter().filter(|a| a.permission().has(perm)).collect();
    if writers.len() != 1 || !identity.matches(writers[0]) {
        let named: Vec<String> = writers
            .iter()
            .map(|a| format!("{}:{}", a.scheme(), a.id()))
            .collect();
        // ZooKeeper shows a digest id as `user:x` to a client without ADMIN on the znode.
        let hidden = if named.iter().any(|n| n.ends_with(":x")) {
            " (this client may not see the full ACL: it lacks ADMIN there)"
        } else {
            ""
        };
        return Some(format!(
            "[{}] may {perm} there, not {identity} alone{hidden}",
            named.join(", ")
        ));
    }
    if stat.aversion != 0 {
        return Some("its ACL was changed after it was created".into());
    }
    None
}

pub(crate) fn is_digest_id(id: &str) -> bool {
    id.split_once(':')
        .is_some_and(|(u, h)| !u.is_empty() && h.len() == 28 && h.ends_with('='))
}
