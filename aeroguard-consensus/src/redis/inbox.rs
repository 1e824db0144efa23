//! Inboxes on Redis: one string key per member, `<prefix>-inbox/<node>/{<name>}`.
//!
//! The keys sit outside `<prefix>:*` on purpose: a deployment gives the library's shared ACL user read access
//! to them (`%R~<prefix>-inbox/*`) and each member's own user write access to its own slots only
//! (`~<prefix>-inbox/<node>/*`), so what a member's slot holds was written by that member's login. Redis keeps
//! no record of who wrote a key, so a reader cannot check this: the ACL is the guarantee (SECURITY.md).

use aeroguard_core::NodeId;
use async_trait::async_trait;

use super::Session;
use crate::{Inbox, Result, Slot};

#[derive(Debug)]
pub(crate) struct RedisInbox {
    session: Session,
    name: String,
}

impl RedisInbox {
    pub fn new(session: Session, name: &str) -> Result<Self> {
        crate::inbox::check(name, &[])?;
        Ok(RedisInbox {
            session,
            name: name.to_string(),
        })
    }

    fn key(&self, node: &NodeId) -> String {
        super::keys::inbox(&self.session.options.prefix, &self.name, node.as_str())
    }
}

#[async_trait]
impl Inbox for RedisInbox {
    async fn post(&self, value: Vec<u8>) -> Result<()> {
        crate::inbox::check(&self.name, &value)?;
        let key = self.key(&self.session.node);
        self.session
            .run("inbox post", |mut c| {
                let (key, value) = (key.clone(), value.clone());
                async move {
                    redis::cmd("SET")
                        .arg(key)
                        .arg(value)
                        .query_async::<()>(&mut c)
                        .await
                }
            })
            .await
    }

    async fn read(&self, node: &NodeId) -> Result<Slot> {
        let key = self.key(node);
        let value: Option<Vec<u8>> = self
            .session
            .run("inbox read", |mut c| {
                let key = key.clone();
                async move { redis::cmd("GET").arg(key).query_async(&mut c).await }
            })
            .await?;
        Ok(value.map_or(Slot::Empty, Slot::Posted))
    }
}
