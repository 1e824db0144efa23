//! Election on the memory backend: candidates queue by sequence number; the first one leads.

use aeroguard_core::NodeId;
use async_trait::async_trait;
use tokio::sync::watch;

use super::{Session, SessionId};
use crate::election::Tenure;
use crate::{Election, Error, FencingToken, Leadership, LossReason, Result, SessionState, SessionStatus};

#[derive(Debug)]
pub(crate) struct MemoryElection {
    session: Session,
    name: String,
}

impl MemoryElection {
    pub fn new(session: Session, name: &str) -> Self {
        MemoryElection {
            session,
            name: name.to_string(),
        }
    }

    fn withdraw(&self, seq: u64) {
        withdraw(&self.session, &self.name, seq);
    }
}

fn withdraw(session: &Session, name: &str, seq: u64) {
    let Ok(sid) = session.sid() else { return };
    let mut st = session.cluster.lock();
    // A request from a cut-off or crashed session never reaches the cluster: its entry stays until the
    // session expires, as on ZooKeeper.
    if st.live(sid, "resign").is_err() {
        return;
    }
    if let Some(c) = st.elections.get_mut(name) {
        let before = c.len();
        c.retain(|c| c.0 != seq);
        if c.len() != before {
            session.cluster.changed(&mut st);
        }
    }
}

/// Withdraws the candidacy if the campaign future is dropped before it is elected.
struct Candidacy<'a> {
    election: &'a MemoryElection,
    seq: u64,
    armed: bool,
}

impl Drop for Candidacy<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.election.withdraw(self.seq);
        }
    }
}

/// Waits for a change notification or a session change; fails if the session ends.
pub(crate) async fn wait_change(
    notify: &mut watch::Receiver<u64>,
    session: &mut watch::Receiver<SessionStatus>,
    epoch: u64,
    operation: &'static str,
) -> Result<()> {
    tokio::select! {
        r = notify.changed() => r.map_err(|_| Error::SessionExpired { operation }),
        r = session.changed() => {
            r.map_err(|_| Error::Closed)?;
            let s = *session.borrow_and_update();
            match s.state {
                SessionState::Closed => Err(Error::Closed),
                SessionState::Expired => Err(Error::SessionExpired { operation }),
                _ if s.epoch != epoch => Err(Error::SessionExpired { operation }),
                _ => Ok(()),
            }
        }
    }
}

#[derive(Debug)]
struct MemoryTenure {
    session: Session,
    name: String,
    seq: u64,
}

#[async_trait]
impl Tenure for MemoryTenure {
    async fn resign(&self) -> Result<()> {
        withdraw(&self.session, &self.name, self.seq);
        Ok(())
    }

    fn resign_in_background(&self) {
        withdraw(&self.session, &self.name, self.seq);
    }
}

fn position(session: &Session, name: &str, seq: u64) -> Option<usize> {
    session
        .cluster
        .lock()
        .elections
        .get(name)
        .and_then(|c| c.iter().position(|c| c.0 == seq))
}

#[async_trait]
impl Election for MemoryElection {
    fn name(&self) -> &str {
        &self.name
    }

    async fn campaign(&self) -> Result<Leadership> {
        const OP: &str = "campaign";
        let mut status_rx = self.session.status();
        let sid: SessionId = self.session.sid()?;
        let epoch = status_rx.borrow_and_update().epoch;
        let seq = {
            let mut st = self.session.cluster.lock();
            st.live(sid, OP)?;
            let seq = st.next_zxid();
            st.elections
                .entry(self.name.clone())
                .or_default()
                .push((seq, self.session.node.clone(), sid));
            self.session.cluster.changed(&mut st);
            seq
        };
        let mut guard = Candidacy {
            election: self,
            seq,
            armed: true,
        };
        let mut notify = self
            .session
            .cluster
            .subscribe(sid)
            .ok_or(Error::SessionExpired { operation: OP })?;
        loop {
            let connected = status_rx.borrow().state == SessionState::Connected;
            match position(&self.session, &self.name, seq) {
                None => return Err(Error::SessionExpired { operation: OP }),
                Some(0) if connected => break,
                Some(_) => {}
            }
            wait_change(&mut notify, &mut status_rx, epoch, OP).await?;
        }
        guard.armed = false;
        let (session, name) = (self.session.clone(), self.name.clone());
        let gone = async move {
            while position(&session, &name, seq).is_some() {
                if notify.changed().await.is_err() {
                    return LossReason::Closed;
                }
            }
            LossReason::Deposed
        };
        let tenure = MemoryTenure {
            session: self.session.clone(),
            name: self.name.clone(),
            seq,
        };
        Ok(Leadership::start(
            &self.name,
            self.session.node.clone(),
            FencingToken(seq),
            self.session.status(),
            self.session.grace(),
            gone,
            Box::new(tenure),
        ))
    }

    async fn leader(&self) -> Result<Option<NodeId>> {
        Ok(self.contenders().await?.into_iter().next())
    }

    async fn grant(&self) -> Result<Option<crate::Grant>> {
        let sid = self.session.sid()?;
        let st = self.session.cluster.lock();
        st.live(sid, "grant")?;
        Ok(st
            .elections
            .get(&self.name)
            .and_then(|c| c.first())
            .map(|(seq, node, _)| crate::Grant {
                node: node.clone(),
                token: FencingToken(*seq),
            }))
    }

    async fn contenders(&self) -> Result<Vec<NodeId>> {
        let sid = self.session.sid()?;
        let st = self.session.cluster.lock();
        st.live(sid, "contenders")?;
        Ok(st
            .elections
            .get(&self.name)
            .map(|c| c.iter().map(|c| c.1.clone()).collect())
            .unwrap_or_default())
    }
}
