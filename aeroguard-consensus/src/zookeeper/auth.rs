//! Authentication and ACLs on ZooKeeper: who a client is (the digest scheme) and what each kind of znode lets
//! others do.

use std::fmt;

use base64::Engine as _;
use sha1::{Digest as _, Sha1};
use zookeeper_client as zk;

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
/// | root and recipe parents (`elections/<name>`, `services/<svc>`, `config`, `queues/<name>/...`) | read, write, create, delete, admin | (as cluster) | read | nothing |
/// | a node's own: election candidates, registrations, queue claims | read | all | read | nothing |
/// | shared values: config keys, queue items | read, write, delete, admin | (as cluster) | read | nothing |
///
/// ZooKeeper decides a delete by the *parent's* ACL, so every holder of the cluster credential may delete a
/// candidate or registration (a leader must be able to clean up after a crashed one); nobody else can, and
/// only the node itself can rewrite its own znodes.
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
    /// The roster: each member node's own identity. A reader counts a node's [inbox](crate::Inbox) slot (a
    /// round submission) only when that identity is the slot's one writer; a node not listed here is never
    /// counted. Set with [`ZkAuth::with_member`].
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

    /// The cluster identity's ACL scheme and id: the digest credential's, else the SASL login's.
    fn cluster_id(&self) -> Option<(&'static str, String)> {
        if let Some(c) = &self.cluster {
            return Some(("digest", c.id()));
        }
        // An observer's SASL login only opens its session.
        #[cfg(feature = "zookeeper-sasl")]
        if let (Some(s), None) = (&self.sasl, &self.observer) {
            return Some(("sasl", s.user().to_string()));
        }
        None
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

/// The three ACLs a client creates znodes with, computed once per coordinator.
#[derive(Debug, Clone)]
pub(crate) struct AclSet {
    /// Root and recipe parents.
    pub parent: Vec<zk::Acl>,
    /// This node's own ephemeral znodes.
    pub own: Vec<zk::Acl>,
    /// Config values and queue items.
    pub shared: Vec<zk::Acl>,
    /// This node's inbox slots: it alone writes; the cluster reads and administers them (ZooKeeper shows a
    /// digest ACL's hash only to an administrator, and a reader must compare it with the roster's; any ACL
    /// change shows in the slot's `aversion`, which readers require to be 0).
    pub slot: Vec<zk::Acl>,
}

/// What an ACL kind is for.
#[derive(Debug, Clone, Copy)]
pub(crate) enum AclKind {
    Parent,
    Own,
    Shared,
    Slot,
}

impl AclSet {
    /// Without authentication: everything open to anyone (ZooKeeper's `world:anyone`, all permissions).
    pub fn open() -> Self {
        let all = vec![zk::Acl::new(zk::Permission::ALL, zk::AuthId::anyone())];
        AclSet {
            parent: all.clone(),
            own: all.clone(),
            shared: all.clone(),
            slot: all,
        }
    }

    pub fn for_auth(auth: &ZkAuth) -> Self {
        let digest = |id: &str, perm| zk::Acl::new(perm, zk::AuthId::new("digest", id));
        let Some((scheme, cluster_id)) = auth.cluster_id() else {
            // An observer creates nothing (the cluster's ACLs refuse it); should it try, the request still
            // names a valid ACL, so the refusal is the permission's (`Forbidden`), not a malformed request.
            let own: Vec<zk::Acl> = auth
                .observer
                .iter()
                .map(|o| digest(&o.id(), zk::Permission::READ))
                .collect();
            return AclSet {
                parent: own.clone(),
                own: own.clone(),
                shared: own.clone(),
                slot: own,
            };
        };
        let cluster = |perm| zk::Acl::new(perm, zk::AuthId::new(scheme, &cluster_id));
        let read = zk::Permission::READ;
        let observers: Vec<zk::Acl> = auth.observers.iter().map(|o| digest(o, read)).collect();
        let with_observers = |mut acls: Vec<zk::Acl>| {
            acls.extend(observers.iter().cloned());
            acls
        };
        let (own, slot) = match &auth.node {
            Some(node) if (scheme, node.id()) != ("digest", cluster_id.clone()) => (
                vec![digest(&node.id(), zk::Permission::ALL), cluster(read)],
                vec![
                    digest(&node.id(), zk::Permission::ALL),
                    cluster(read | zk::Permission::ADMIN),
                ],
            ),
            _ => (
                vec![cluster(zk::Permission::ALL)],
                vec![cluster(zk::Permission::ALL)],
            ),
        };
        AclSet {
            parent: with_observers(vec![cluster(zk::Permission::ALL)]),
            own: with_observers(own),
            slot: with_observers(slot),
            shared: with_observers(vec![cluster(
                zk::Permission::READ | zk::Permission::WRITE | zk::Permission::DELETE | zk::Permission::ADMIN,
            )]),
        }
    }

    pub fn get(&self, kind: AclKind) -> zk::Acls<'_> {
        zk::Acls::new(match kind {
            AclKind::Parent => &self.parent,
            AclKind::Own => &self.own,
            AclKind::Shared => &self.shared,
            AclKind::Slot => &self.slot,
        })
    }
}

/// Refuses a root whose ACL lets anyone write: with authentication on, a root that someone created open (or
/// squatted) would let anyone delete what the cluster builds under it.
pub(crate) fn check_root_acl(root: &str, acls: &[zk::Acl]) -> Result<()> {
    let risky = [
        zk::Permission::WRITE,
        zk::Permission::CREATE,
        zk::Permission::DELETE,
        zk::Permission::ADMIN,
    ];
    for acl in acls {
        if acl.scheme() == "world" && risky.iter().any(|p| acl.permission().has(*p)) {
            return Err(Error::Forbidden {
                backend: super::BACKEND,
                operation: "check root ACL",
                reason: format!(
                    "{root} lets world:anyone {}; delete it or set its ACL to the cluster's (setAcl)",
                    acl.permission()
                ),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_match_zookeepers_generate_digest() {
        // org.apache.zookeeper.server.auth.DigestAuthenticationProvider.generateDigest("super:test")
        assert_eq!(id_of("super", "test"), "super:D/InIHSb7yEEbrWz8b9l71RjZJU=");
    }

    #[test]
    fn own_znodes_are_writable_by_the_node_alone() {
        let auth =
            ZkAuth::member(ZkDigest::new("c", "p").unwrap()).with_node(ZkDigest::new("n1", "q").unwrap());
        let set = AclSet::for_auth(&auth);
        let n1 = ZkDigest::new("n1", "q").unwrap().id();
        let writers: Vec<&str> = set
            .own
            .iter()
            .filter(|a| a.permission().has(zk::Permission::WRITE))
            .map(|a| a.id())
            .collect();
        assert_eq!(writers, vec![n1.as_str()]);
        assert!(set.parent.iter().all(|a| a.scheme() == "digest"));
    }

    #[test]
    fn an_open_root_is_refused() {
        let open = AclSet::open().parent;
        assert!(matches!(
            check_root_acl("/r", &open),
            Err(Error::Forbidden { .. })
        ));
        let read_only = vec![zk::Acl::new(zk::Permission::READ, zk::AuthId::anyone())];
        assert!(check_root_acl("/r", &read_only).is_ok());
    }

    #[test]
    fn observer_ids_are_checked() {
        let bad = ZkAuth::member(ZkDigest::new("c", "p").unwrap()).with_observer("dashboard");
        assert!(bad.validate().is_err());
        let good = ZkAuth::member(ZkDigest::new("c", "p").unwrap())
            .with_observer(&ZkDigest::new("ro", "x").unwrap().id());
        assert!(good.validate().is_ok());
    }
}
