//! Inboxes on the memory backend: a coordinator writes only the slot of its own node.

use aeroguard_core::NodeId;
use async_trait::async_trait;

use super::Handle;
use crate::{Inbox, Result, Slot};

#[derive(Debug)]
pub(crate) struct MemoryInbox {
    h: Handle,
    name: String,
}

impl MemoryInbox {
    pub fn new(h: Handle, name: &str) -> Result<Self> {
        crate::inbox::check(name, &[])?;
        Ok(MemoryInbox {
            h,
            name: name.to_string(),
        })
    }
}

#[async_trait]
impl Inbox for MemoryInbox {
    async fn post(&self, value: Vec<u8>) -> Result<()> {
        crate::inbox::check(&self.name, &value)?;
        let sid = self.h.sid()?;
        let mut st = self.h.cluster.lock();
        st.live(sid, "inbox post")?;
        st.inboxes.insert((self.name.clone(), self.h.node.clone()), value);
        self.h.cluster.changed(&mut st);
        Ok(())
    }

    async fn read(&self, node: &NodeId) -> Result<Slot> {
        let sid = self.h.sid()?;
        let st = self.h.cluster.lock();
        st.live(sid, "inbox read")?;
        Ok(st
            .inboxes
            .get(&(self.name.clone(), node.clone()))
            .map_or(Slot::Empty, |v| Slot::Posted(v.clone())))
    }
}
