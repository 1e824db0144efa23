//! Inboxes on ZooKeeper: `inbox/<name>/<node>`, a persistent znode per member, created with the slot ACL (the
//! node's identity alone writes it; the cluster reads and administers it) and written after creation.
//!
//! A reader trusts a slot when the roster's identity for the node is its one writer, its ACL never changed
//! (`aversion` 0), and its data was set after creation (`version` > 0): whoever created it, only that identity
//! can have written the value (anyone else would have to change the ACL first, which shows). The ACL and the
//! data are read as one view (read again if the znode changed in between). A node that finds its own slot's
//! ACL changed (the cluster administers slots, so a holder of the cluster credential can bump `aversion` with a
//! no-op `setAcl` and silence the node) makes the slot again. Anyone holding the cluster credential may delete
//! a slot (ZooKeeper decides deletes by the parent's ACL), which loses an answer but forges none.

use aeroguard_core::NodeId;
use async_trait::async_trait;
use zookeeper_client as zk;

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

    /// Whether the slot's ACL and history let its value stand for `node`: `None` if so, else why not.
    fn vouch(&self, node: &NodeId, acls: &[zk::Acl], stat: &zk::Stat) -> Option<String> {
        let auth = self.session.options.auth.as_ref()?;
        let Some(identity) = auth.identity_of(node.as_str()) else {
            return Some(format!(
                "{node} is not in this client's roster (ZkAuth::with_member), so nothing vouches for its slot"
            ));
        };
        let writers: Vec<&zk::Acl> = acls
            .iter()
            .filter(|a| a.permission().has(zk::Permission::WRITE))
            .collect();
        if writers.len() != 1 || !identity.matches(writers[0]) {
            let named: Vec<String> = writers
                .iter()
                .map(|a| format!("{}:{}", a.scheme(), a.id()))
                .collect();
            // ZooKeeper shows a digest id as `user:x` to a client without ADMIN on the znode.
            let hidden = if named.iter().any(|n| n.ends_with(":x")) {
                " (this client may not see the slot's full ACL: it lacks ADMIN there)"
            } else {
                ""
            };
            return Some(format!(
                "the slot is writable by [{}], not by {identity} alone{hidden}",
                named.join(", ")
            ));
        }
        if stat.aversion != 0 {
            return Some("the slot's ACL was changed after it was created".into());
        }
        None
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
                    self.session.ensure_dir(&client, &self.dir()).await?;
                    // Created empty, then written: a reader trusts only values set after creation.
                    let opts = self
                        .session
                        .create_options(zk::CreateMode::Persistent, AclKind::Slot);
                    match client.create(&path, &[], &opts).await {
                        Ok(_) | Err(zk::Error::NodeExists) => {}
                        Err(e) => return Err(zk_err(e, OP)),
                    }
                }
                // Someone else created this node's slot (squatting it): the cluster may delete it, once.
                Err(zk::Error::NoAuth) if !cleared => {
                    cleared = true;
                    match client.delete(&path, None).await {
                        Ok(()) | Err(zk::Error::NoNode) => {}
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
        Ok(match self.vouch(node, &acls, &acl_stat) {
            None => Slot::Posted(data),
            Some(why) => Slot::Unattested(why),
        })
    }
}
