//! Inboxes on ZooKeeper: `inbox/<name>/<node>`, a persistent znode per member, created with the slot ACL (the
//! node's identity alone writes it; the cluster reads it, and administers it when the identity is a digest) and
//! written after creation.
//!
//! A reader trusts a slot when the roster's identity for the node is its one writer, its ACL never changed
//! (`aversion` 0), and its data was set after creation (`version` > 0): whoever created it, only that identity
//! can have written the value (anyone else would have to change the ACL first, which shows). The ACL and the
//! data are read as one view (read again if the znode changed in between). A node that finds its own slot's
//! ACL changed (with digest identities the cluster administers slots, so a holder of the cluster credential can
//! bump `aversion` with a no-op `setAcl` and silence the node) makes the slot again. With digest identities
//! anyone holding the cluster credential may also delete a slot (ZooKeeper decides deletes by the parent's ACL),
//! which loses an answer but forges none. With SASL identities of the nodes' own
//! ([`ZkAuth::with_own_sasl`](super::ZkAuth::with_own_sasl)) `inbox/<name>` lets the cluster create but not
//! delete, and nobody but the node administers its slot: no other member can change or withdraw its answer.

use aeroguard_core::NodeId;
use async_trait::async_trait;
use zookeeper_client as zk;

use super::identity::vouch;
use super::{AclKind, Session, zk_err};
use crate::{Inbox, Result, Slot};

#[derive(Debug)]
pub(crate) struct ZkInbox {
    session: Session,
    name: String,
}

impl ZkInbox {
    pub fn new(session: Session, name: &str) -> Result<Self> {
        crate::inbox::check(name, &[])?;
        Ok(ZkInbox {
            session,
            name: name.to_string(),
        })
    }

    fn dir(&self) -> String {
        self.session.path(&format!("inbox/{}", self.name))
    }

    fn slot(&self, node: &NodeId) -> String {
        format!("{}/{node}", self.dir())
    }
}

#[async_trait]
impl Inbox for ZkInbox {
    async fn post(&self, value: Vec<u8>) -> Result<()> {
        const OP: &str = "inbox post";
        crate::inbox::check(&self.name, &value)?;
        let (client, _) = self.session.client(OP)?;
        let path = self.slot(&self.session.node);
        let mut cleared = false;
        loop {
            match client.set_data(&path, &value, None).await {
                // The slot's ACL was changed after creation (even to the same ACL): readers no longer vouch
                // for it. Made again, once, it counts again.
                Ok(stat) if stat.aversion != 0 && !cleared => {
                    cleared = true;
                    tracing::warn!(slot = %path, "the inbox slot's ACL was changed by another identity: making it again");
                    match client.delete(&path, None).await {
                        Ok(()) | Err(zk::Error::NoNode) => {}
                        Err(e) => return Err(zk_err(e, OP)),
                    }
                }
                Ok(_) => return Ok(()),
                Err(zk::Error::NoNode) => {
                    self.session
                        .ensure_dir_as(&client, &self.dir(), AclKind::Guarded)
                        .await?;
                    // Created empty, then written: a reader trusts only values set after creation.
                    let opts = self
                        .session
                        .create_options(zk::CreateMode::Persistent, AclKind::Slot);
                    match client.create(&path, &[], &opts).await {
                        Ok(_) | Err(zk::Error::NodeExists) => {}
                        Err(e) => return Err(zk_err(e, OP)),
                    }
                }
                // Someone else created this node's slot (squatting it): the cluster may delete it, once, where
                // the inbox's ACL lets it.
                Err(zk::Error::NoAuth) if !cleared => {
                    cleared = true;
                    match client.delete(&path, None).await {
                        Ok(()) | Err(zk::Error::NoNode) => {}
                        Err(zk::Error::NoAuth) => {
                            return Err(crate::Error::Forbidden {
                                backend: super::BACKEND,
                                operation: OP,
                                reason: format!(
                                    "{path} was made by another identity, which alone may write it, and this node \
                                     may not delete it: an administrator must"
                                ),
                            });
                        }
                        Err(e) => return Err(zk_err(e, OP)),
                    }
                }
                Err(e) => return Err(zk_err(e, OP)),
            }
        }
    }

    async fn read(&self, node: &NodeId) -> Result<Slot> {
        const OP: &str = "inbox read";
        let (client, _) = self.session.client(OP)?;
        let path = self.slot(node);
        // A slot this client may not read was not made by the library (its slots grant the cluster read): a
        // refusal for that one slot, not an error that would end the round.
        let unreadable = || {
            Ok(Slot::Unattested(
                "the slot's ACL does not let this client read it".into(),
            ))
        };
        // The ACL and the data in one consistent view: read both, and again if the znode changed between
        // the two reads (a different creation, data version or ACL version).
        let mut attempts = 0;
        let (acls, acl_stat, data, stat) = loop {
            let (acls, acl_stat) = match client.get_acl(&path).await {
                Ok(found) => found,
                Err(zk::Error::NoNode) => return Ok(Slot::Empty),
                Err(zk::Error::NoAuth) => return unreadable(),
                Err(e) => return Err(zk_err(e, OP)),
            };
            let (data, stat) = match client.get_data(&path).await {
                Ok(found) => found,
                Err(zk::Error::NoNode) => return Ok(Slot::Empty),
                Err(zk::Error::NoAuth) => return unreadable(),
                Err(e) => return Err(zk_err(e, OP)),
            };
            let same = (stat.czxid, stat.version, stat.aversion)
                == (acl_stat.czxid, acl_stat.version, acl_stat.aversion);
            if same {
                break (acls, acl_stat, data, stat);
            }
            attempts += 1;
            if attempts == 3 {
                return Ok(Slot::Unattested(
                    "the slot changed while it was read, three times".into(),
                ));
            }
        };
        if stat.version == 0 {
            return Ok(Slot::Empty);
        }
        let Some(auth) = self.session.options.auth.as_ref() else {
            return Ok(Slot::Posted(data));
        };
        Ok(
            match vouch(auth, node.as_str(), &acls, &acl_stat, zk::Permission::WRITE) {
                None => Slot::Posted(data),
                Some(why) => Slot::Unattested(format!("the slot: {why}")),
            },
        )
    }
}
