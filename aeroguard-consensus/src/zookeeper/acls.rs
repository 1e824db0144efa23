//! The ACLs a client creates znodes with, and the checks of ACLs it finds: a parent someone else made first
//! must not let anyone do more than the one this client would have made.

use zookeeper_client as zk;

use super::ZkAuth;
use crate::{Error, Result};

/// The ACLs a client creates znodes with, computed once per coordinator (see [`ZkAuth`]'s table).
#[derive(Debug, Clone)]
pub(crate) struct AclSet {
    /// Root and recipe parents.
    pub parent: Vec<zk::Acl>,
    /// Parents of what members own (`elections/<name>`, `inbox/<name>`): with a node identity of its own, the
    /// cluster may create there but not delete, so no member withdraws another's candidacy or answer.
    pub guarded: Vec<zk::Acl>,
    /// This node's own ephemeral znodes.
    pub own: Vec<zk::Acl>,
    /// Config values and queue items.
    pub shared: Vec<zk::Acl>,
    /// What readers check against the roster (inbox slots, a node's folder of candidates): the node alone
    /// writes; the cluster reads. With a digest identity the cluster also administers them, since ZooKeeper
    /// shows a digest ACL's hash only to an administrator and a reader must compare it with the roster's (any
    /// ACL change shows in the `aversion`, which readers require to be 0); a SASL id is shown to every reader.
    pub slot: Vec<zk::Acl>,
    /// The observers' entries (read only), which a znode made before an observer was listed may lack.
    pub observers: Vec<zk::Acl>,
}

/// What an ACL kind is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AclKind {
    Parent,
    Guarded,
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
            guarded: all.clone(),
            own: all.clone(),
            shared: all.clone(),
            slot: all,
            observers: Vec::new(),
        }
    }

    pub fn for_auth(auth: &ZkAuth) -> Self {
        let id =
            |(scheme, id): &(&'static str, String), perm| zk::Acl::new(perm, zk::AuthId::new(scheme, id));
        let read = zk::Permission::READ;
        let Some(cluster_id) = auth.cluster_id() else {
            // An observer creates nothing (the cluster's ACLs refuse it); should it try, the request still
            // names a valid ACL, so the refusal is the permission's (`Forbidden`), not a malformed request.
            let own: Vec<zk::Acl> = auth
                .observer
                .iter()
                .map(|o| id(&("digest", o.id()), read))
                .collect();
            return AclSet {
                parent: own.clone(),
                guarded: own.clone(),
                own: own.clone(),
                shared: own.clone(),
                slot: own,
                observers: Vec::new(),
            };
        };
        let cluster = |perm| id(&cluster_id, perm);
        let observers: Vec<zk::Acl> = auth
            .observers
            .iter()
            .map(|o| id(&("digest", o.clone()), read))
            .collect();
        let with_observers = |mut acls: Vec<zk::Acl>| {
            acls.extend(observers.iter().cloned());
            acls
        };
        let parent = vec![cluster(zk::Permission::ALL)];
        let (guarded, own, slot) = match auth.node_id() {
            Some(node) => {
                let mine = id(&node, zk::Permission::ALL);
                // A digest id is shown in full to administrators only (see `slot`).
                let (guarded, slot_cluster) = if node.0 == "sasl" {
                    (vec![cluster(read | zk::Permission::CREATE)], cluster(read))
                } else {
                    (parent.clone(), cluster(read | zk::Permission::ADMIN))
                };
                (
                    guarded,
                    vec![mine.clone(), cluster(read)],
                    vec![mine, slot_cluster],
                )
            }
            None => (parent.clone(), parent.clone(), parent.clone()),
        };
        AclSet {
            parent: with_observers(parent),
            guarded: with_observers(guarded),
            own: with_observers(own),
            slot: with_observers(slot),
            shared: with_observers(vec![cluster(
                zk::Permission::READ | zk::Permission::WRITE | zk::Permission::DELETE | zk::Permission::ADMIN,
            )]),
            observers,
        }
    }

    pub fn kind(&self, kind: AclKind) -> &[zk::Acl] {
        match kind {
            AclKind::Parent => &self.parent,
            AclKind::Guarded => &self.guarded,
            AclKind::Own => &self.own,
            AclKind::Shared => &self.shared,
            AclKind::Slot => &self.slot,
        }
    }

    pub fn get(&self, kind: AclKind) -> zk::Acls<'_> {
        zk::Acls::new(self.kind(kind))
    }

    /// Refuses a znode of `kind` at `path` that someone else made with an ACL other than this client's for it:
    /// every permission beyond read that `found` grants must be granted to the same identity by the expected
    /// ACL (nobody may do more), and every entry of the expected ACL but the observers' must be in `found` (a
    /// node's folder the cluster may not read would hide its candidates from every other reader). ZooKeeper
    /// shows a digest id as `user:x` to a client without ADMIN; such an entry is compared by its user.
    pub fn check_found(&self, kind: AclKind, path: &str, found: &[zk::Acl]) -> Result<()> {
        let expected = self.kind(kind);
        let refuse = |what: String| Error::Forbidden {
            backend: super::BACKEND,
            operation: "check a parent's ACL",
            reason: format!(
                "{path} {what}; an administrator must delete it (or set its ACL to what the cluster makes)"
            ),
        };
        for acl in found {
            let granted = BEYOND_READ.iter().filter(|p| acl.permission().has(**p)).all(|p| {
                expected
                    .iter()
                    .any(|e| same_identity(e, acl) && e.permission().has(*p))
            });
            if !granted {
                return Err(refuse(format!(
                    "lets {}:{} {}, more than this client grants there",
                    acl.scheme(),
                    acl.id(),
                    acl.permission()
                )));
            }
        }
        for e in expected.iter().filter(|e| !self.observers.contains(e)) {
            let held = found
                .iter()
                .any(|f| same_identity(e, f) && f.permission().has(e.permission()));
            if !held {
                return Err(refuse(format!(
                    "does not let {}:{} {}, as this client would have made it",
                    e.scheme(),
                    e.id(),
                    e.permission()
                )));
            }
        }
        Ok(())
    }
}

/// Every permission but read.
const BEYOND_READ: [zk::Permission; 4] = [
    zk::Permission::WRITE,
    zk::Permission::CREATE,
    zk::Permission::DELETE,
    zk::Permission::ADMIN,
];

/// Whether `expected` and `found` name the same identity, `found` possibly with its digest hash hidden.
fn same_identity(expected: &zk::Acl, found: &zk::Acl) -> bool {
    if expected.scheme() != found.scheme() {
        return false;
    }
    if expected.id() == found.id() {
        return true;
    }
    found.scheme() == "digest"
        && found
            .id()
            .strip_suffix(":x")
            .is_some_and(|user| expected.id().split_once(':').is_some_and(|(u, _)| u == user))
}

/// Refuses a root whose ACL lets anyone write: with authentication on, a root that someone created open (or
/// squatted) would let anyone delete what the cluster builds under it.
pub(crate) fn check_root_acl(root: &str, acls: &[zk::Acl]) -> Result<()> {
    for acl in acls {
        if acl.scheme() == "world" && BEYOND_READ.iter().any(|p| acl.permission().has(*p)) {
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
    use crate::zookeeper::ZkDigest;

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

    #[cfg(feature = "zookeeper-sasl")]
    #[test]
    fn with_an_own_sasl_login_nobody_else_deletes_or_administers_what_the_node_owns() {
        use crate::zookeeper::ZkSasl;
        let auth =
            ZkAuth::member(ZkDigest::new("c", "p").unwrap()).with_own_sasl(ZkSasl::new("n1", "q").unwrap());
        let set = AclSet::for_auth(&auth);
        let holders = |acls: &[zk::Acl], perm| -> Vec<String> {
            acls.iter()
                .filter(|a| a.permission().has(perm))
                .map(|a| format!("{}:{}", a.scheme(), a.id()))
                .collect()
        };
        for acls in [&set.own, &set.slot] {
            assert_eq!(holders(acls, zk::Permission::ADMIN), ["sasl:n1"]);
            assert_eq!(holders(acls, zk::Permission::DELETE), ["sasl:n1"]);
        }
        assert!(holders(&set.guarded, zk::Permission::DELETE).is_empty());
        assert!(holders(&set.guarded, zk::Permission::ADMIN).is_empty());
        assert_eq!(holders(&set.guarded, zk::Permission::CREATE).len(), 1);
    }

    #[test]
    fn a_parent_found_with_more_than_this_client_grants_is_refused() {
        let auth =
            ZkAuth::member(ZkDigest::new("c", "p").unwrap()).with_node(ZkDigest::new("n1", "q").unwrap());
        let set = AclSet::for_auth(&auth);
        // What this client makes passes; so does the same with the cluster's hash hidden (`user:x`).
        assert!(set.check_found(AclKind::Slot, "/r/x", &set.slot).is_ok());
        let cluster_hidden = [
            set.slot[0].clone(),
            zk::Acl::new(
                zk::Permission::READ | zk::Permission::ADMIN,
                zk::AuthId::new("digest", "c:x"),
            ),
        ];
        assert!(set.check_found(AclKind::Slot, "/r/x", &cluster_hidden).is_ok());
        // Anyone else with more than read is refused, naming the znode.
        let open = AclSet::open().parent;
        let err = set.check_found(AclKind::Slot, "/r/x", &open).unwrap_err();
        assert!(err.to_string().contains("/r/x"), "{err}");
        let other = [zk::Acl::new(
            zk::Permission::CREATE,
            zk::AuthId::new("digest", "n2:x"),
        )];
        assert!(set.check_found(AclKind::Slot, "/r/x", &other).is_err());
        // A folder that hides from the cluster (its one writer right, the cluster's read missing) is refused.
        let hidden = [set.slot[0].clone()];
        let err = set.check_found(AclKind::Slot, "/r/x", &hidden).unwrap_err();
        assert!(err.to_string().contains("does not let digest:c:"), "{err}");
        let mut with_anyone_reading = set.slot.clone();
        with_anyone_reading.push(zk::Acl::new(zk::Permission::READ, zk::AuthId::anyone()));
        assert!(
            set.check_found(AclKind::Slot, "/r/x", &with_anyone_reading)
                .is_ok()
        );
    }
}
