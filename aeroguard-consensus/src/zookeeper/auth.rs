//! Authentication and ACLs on ZooKeeper: who a client is (the digest scheme) and what each kind of znode lets
//! others do.

use std::fmt;

use base64::Engine as _;
use sha1::{Digest as _, Sha1};

use super::identity::{ZkIdentity, is_digest_id};
use crate::{Error, Result};

/// Credentials for ZooKeeper's `digest` scheme (`addauth digest user:password`). The password never appears in
/// `Debug` output.
///
/// ```
/// use aeroguard_consensus::zookeeper::ZkDigest;
/// let d = ZkDigest::new("aeroguard", "s3cret")?;
/// // What ZooKeeper stores in ACLs and what `DigestAuthenticationProvider.generateDigest` prints.
/// assert_eq!(d.id(), "aeroguard:xrw30WUdCZNhsFBWq4pxZDvBJsI=");
/// assert!(!format!("{d:?}").contains("s3cret"));
/// # Ok::<(), aeroguard_consensus::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ZkDigest {
    user: String,
    password: String,
}

impl ZkDigest {
    /// Credentials for `user` (not empty, no `:`) with `password` (not empty).
    pub fn new(user: &str, password: &str) -> Result<Self> {
        if user.is_empty() || user.contains(':') || user.len() > 256 {
            return Err(Error::parameter(
                "user",
                user,
                "must be 1 to 256 characters without ':'",
            ));
        }
        crate::error::check_password(password)?;
        Ok(ZkDigest {
            user: user.to_string(),
            password: password.to_string(),
        })
    }

    /// Parses `user:password` (the form of `AEROGUARD_ZK_AUTH` and of `addauth digest`).
    ///
    /// ```
    /// use aeroguard_consensus::zookeeper::ZkDigest;
    /// assert_eq!(ZkDigest::parse("n1:pw")?.user(), "n1");
    /// assert!(ZkDigest::parse("no-password").is_err());
    /// # Ok::<(), aeroguard_consensus::Error>(())
    /// ```
    pub fn parse(user_password: &str) -> Result<Self> {
        let (user, password) = crate::error::split_credentials(user_password)?;
        ZkDigest::new(user, password)
    }

    /// The user name.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The identity ZooKeeper derives from these credentials: `user:base64(sha1(user:password))`. ACLs name
    /// it, so a cluster can list an observer by its id without knowing its password.
    pub fn id(&self) -> String {
        id_of(&self.user, &self.password)
    }

    fn auth_bytes(&self) -> Vec<u8> {
        format!("{}:{}", self.user, self.password).into_bytes()
    }
}

fn id_of(user: &str, password: &str) -> String {
    let hash = Sha1::digest(format!("{user}:{password}").as_bytes());
    format!(
        "{user}:{}",
        base64::engine::general_purpose::STANDARD.encode(hash)
    )
}

impl fmt::Debug for ZkDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ZkDigest")
            .field("user", &self.user)
            .field("password", &"(redacted)")
            .finish()
    }
}

/// Who a ZooKeeper client is (the digest scheme) and what its znodes allow others to do:
///
/// | znodes | cluster identity | this node's identity | observers | anyone else |
/// |---|---|---|---|---|
/// | root and recipe parents (`services/<svc>`, `config`, `queues/<name>/...`) | read, write, create, delete, admin | (as cluster) | read | nothing |
/// | parents of what members own (`elections/<name>`, `inbox/<name>`), with the node's own identity | read, create | (as cluster) | read | nothing |
/// | a node's own: its election folder and candidates, registrations, queue claims | read | all | read | nothing |
/// | a node's inbox slots | read (and admin with a digest identity) | all | read | nothing |
/// | shared values: config keys, queue items | read, write, delete, admin | (as cluster) | read | nothing |
///
/// ZooKeeper decides a delete by the *parent's* ACL. Under recipe parents every holder of the cluster
/// credential may delete (a registration of a crashed node, a claimed item); under the parents of what members
/// own nobody may, so with a node identity of its own (best a SASL login, [`ZkAuth::with_own_sasl`]) no other
/// member can withdraw its candidacy or its answer, and only the node itself can rewrite its own znodes.
///
/// ```
/// use aeroguard_consensus::zookeeper::{ZkAuth, ZkDigest, ZkOptions};
/// let cluster = ZkDigest::new("aeroguard", "cluster-secret")?;
/// let own = ZkDigest::new("n1", "n1-secret")?;
/// let dashboard = ZkDigest::new("dashboard", "ro-secret")?;
/// let options = ZkOptions::new("127.0.0.1:2181")
///     .with_auth(ZkAuth::member(cluster).with_node(own).with_observer(&dashboard.id()));
/// // The dashboard itself connects read-only:
/// let ro = ZkOptions::new("127.0.0.1:2181").with_auth(ZkAuth::observer(dashboard));
/// # Ok::<(), aeroguard_consensus::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ZkAuth {
    /// The credential every member of the cluster holds: recipe parents and shared values are writable by it
    /// alone. `None` for an observer.
    pub cluster: Option<ZkDigest>,
    /// This node's own credential: its candidates, registrations and claims are writable by it alone. When
    /// `None`, the cluster credential stands in.
    pub node: Option<ZkDigest>,
    /// The digest ids (`user:hash`, see [`ZkDigest::id`]) of read-only observers, granted read on everything
    /// this node creates.
    pub observers: Vec<String>,
    /// An observer's own credential (set by [`ZkAuth::observer`]): it reads and creates nothing.
    pub observer: Option<ZkDigest>,
    /// A SASL login (feature `zookeeper-sasl`, [`ZkAuth::sasl_member`], [`ZkAuth::with_sasl`]): it opens the
    /// session; without a digest cluster credential (and for a member, not an observer), its identity
    /// `sasl:<user>` is the cluster's.
    #[cfg(feature = "zookeeper-sasl")]
    pub sasl: Option<super::sasl::ZkSasl>,
    /// Whether the SASL login is this node's own ([`ZkAuth::with_own_sasl`]): its identity `sasl:<user>`,
    /// not a digest, then owns the node's znodes, and since ZooKeeper shows SASL ids to every reader, the
    /// cluster needs no ADMIN on them and gets none.
    #[cfg(feature = "zookeeper-sasl")]
    pub sasl_is_own: bool,
    /// The roster: each member node's own identity. A reader counts a node's [inbox](crate::Inbox) slot (a
    /// round submission) only when that identity is the slot's one writer, and a node's election candidates
    /// only in a folder that identity alone may create in; a node not listed here is never counted (with an
    /// empty roster, candidates are not checked). Set with [`ZkAuth::with_member`].
    pub members: Vec<(String, ZkIdentity)>,
}

impl ZkAuth {
    /// A cluster member holding the cluster credential.
    pub fn member(cluster: ZkDigest) -> Self {
        ZkAuth {
            cluster: Some(cluster),
            ..ZkAuth::default()
        }
    }

    /// A read-only observer: it authenticates as `credential` and never writes (its writes are `Forbidden`
    /// by the cluster's ACLs, which must list [`ZkDigest::id`] of it as an observer).
    pub fn observer(credential: ZkDigest) -> Self {
        ZkAuth {
            observer: Some(credential),
            ..ZkAuth::default()
        }
    }

    /// Adds this node's own credential.
    pub fn with_node(mut self, node: ZkDigest) -> Self {
        self.node = Some(node);
        self
    }

    /// Adds `node` to the roster with its own `identity` (see [`ZkAuth::members`]).
    ///
    /// ```
    /// use aeroguard_consensus::zookeeper::{ZkAuth, ZkDigest, ZkIdentity};
    /// let auth = ZkAuth::member(ZkDigest::new("aeroguard", "cluster-secret")?)
    ///     .with_node(ZkDigest::new("n1", "n1-secret")?)
    ///     .with_member("n2", ZkIdentity::digest("n2:QtbcGkvDUDSa9ZcUKSR2SuWzWNs=")?);
    /// assert_eq!(auth.members.len(), 1);
    /// # Ok::<(), aeroguard_consensus::Error>(())
    /// ```
    pub fn with_member(mut self, node: &str, identity: ZkIdentity) -> Self {
        self.members.retain(|(n, _)| n != node);
        self.members.push((node.to_string(), identity));
        self
    }

    /// The identity the roster names for `node`.
    pub(crate) fn identity_of(&self, node: &str) -> Option<&ZkIdentity> {
        self.members.iter().find(|(n, _)| n == node).map(|(_, i)| i)
    }

    /// Grants read to the observer with digest id `id` (`user:hash`).
    pub fn with_observer(mut self, id: &str) -> Self {
        self.observers.push(id.to_string());
        self
    }

    /// Whether this client only reads.
    pub fn is_observer(&self) -> bool {
        self.cluster_id().is_none()
    }

    /// The cluster identity's ACL scheme and id: the digest credential's, else the SASL login's (unless that
    /// is the node's own).
    pub(crate) fn cluster_id(&self) -> Option<(&'static str, String)> {
        if let Some(c) = &self.cluster {
            return Some(("digest", c.id()));
        }
        // An observer's SASL login only opens its session.
        #[cfg(feature = "zookeeper-sasl")]
        if let (Some(s), None, false) = (&self.sasl, &self.observer, self.sasl_is_own) {
            return Some(("sasl", s.user().to_string()));
        }
        None
    }

    /// This node's own identity's ACL scheme and id, when it has one apart from the cluster's: its own SASL
    /// login's, else its digest credential's.
    pub(crate) fn node_id(&self) -> Option<(&'static str, String)> {
        #[cfg(feature = "zookeeper-sasl")]
        if let (Some(s), true) = (&self.sasl, self.sasl_is_own) {
            return Some(("sasl", s.user().to_string()));
        }
        let own = ("digest", self.node.as_ref()?.id());
        (Some(own.clone()) != self.cluster_id()).then_some(own)
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if self.cluster_id().is_none() && self.observer.is_none() {
            return Err(Error::parameter(
                "auth",
                "no credentials",
                "needs a cluster credential (ZkAuth::member) or an observer's (ZkAuth::observer)",
            ));
        }
        for id in &self.observers {
            if !is_digest_id(id) {
                return Err(Error::parameter(
                    "observers",
                    id,
                    "must be a digest id user:base64(sha1), as ZkDigest::id prints",
                ));
            }
        }
        Ok(())
    }

    /// The `addauth` packets this client sends: every credential it holds.
    pub(crate) fn credentials(&self) -> impl Iterator<Item = Vec<u8>> + '_ {
        [&self.cluster, &self.node, &self.observer]
            .into_iter()
            .flatten()
            .map(ZkDigest::auth_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_match_zookeepers_generate_digest() {
        // org.apache.zookeeper.server.auth.DigestAuthenticationProvider.generateDigest("super:test")
        assert_eq!(id_of("super", "test"), "super:D/InIHSb7yEEbrWz8b9l71RjZJU=");
    }
}
