//! Inboxes on the memory backend: a coordinator writes only the slot of its own node.

use aeroguard_core::NodeId;
use async_trait::async_trait;

use super::Session;
use crate::{Inbox, Result, Slot};

#[derive(Debug)]
pub(crate) struct MemoryInbox {
    session: Session,
    name: String,
}

impl MemoryInbox {
    pub fn new(session: Session, name: &str) -> Result<Self> {
        crate::inbox::check(name, &[])?;
        Ok(MemoryInbox {
            session,
            name: name.to_string(),
        })
    }
}

#[async_trait]
impl Inbox for MemoryInbox {
    async fn post(&self, value: Vec<u8>) -> Result<()> {
        crate::inbox::check(&self.name, &value)?;
        let sid = self.session.sid()?;
        let mut st = self.session.cluster.lock();
        st.live(sid, "inbox post")?;
        st.inboxes
            .insert((self.name.clone(), self.session.node.clone()), value);
        self.session.cluster.changed(&mut st);
        Ok(())
    }

    async fn read(&self, node: &NodeId) -> Result<Slot> {
        let sid = self.session.sid()?;
        let st = self.session.cluster.lock();
        st.live(sid, "inbox read")?;
        Ok(st
            .inboxes
            .get(&(self.name.clone(), node.clone()))
            .map_or(Slot::Empty, |v| Slot::Posted(v.clone())))
    }
}
