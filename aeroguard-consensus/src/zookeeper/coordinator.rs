//! One node's coordinator on a ZooKeeper ensemble.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use aeroguard_core::NodeId;
use async_trait::async_trait;
use parking_lot::RwLock;
use tokio::sync::watch;
use zookeeper_client as zk;

use super::connect::{close_session, connect_client, supervise};
use super::{BACKEND, Session, ZkOptions, ZkSession, acls, lease, zk_err};
use crate::{Coordinator, Result, SessionState, SessionStatus};

/// One node's session with a ZooKeeper ensemble.
#[derive(Debug)]
pub struct ZkCoordinator {
    session: Session,
    supervisor: tokio::task::JoinHandle<()>,
}

impl ZkCoordinator {
    /// Connects `node` to the ensemble.
    ///
    /// Fails with `Unreachable` (naming the hosts) when no server answers within the connection timeout.
    pub async fn connect(node: NodeId, options: ZkOptions) -> Result<Arc<ZkCoordinator>> {
        options.validate()?;
        let acls = options.acls();
        let since = tokio::time::Instant::now();
        let client = connect_client(&options).await?;
        let (status, _) = watch::channel(SessionStatus {
            state: SessionState::Connected,
            epoch: 1,
        });
        let session = Arc::new(ZkSession {
            options,
            node,
            status,
            client: RwLock::new(Some(client.clone())),
            closed: AtomicBool::new(false),
            lease: RwLock::new(lease::clock(client.session_timeout(), since)),
            acls,
        });
        session.start_lease(&client, 1, since);
        let root = session.options.root.clone();
        if !session.options.is_observer() {
            session.ensure_dir(&client, &root).await?;
        }
        if session.options.auth.is_some() {
            match client.get_acl(&root).await {
                Ok((acls, _)) => acls::check_root_acl(&root, &acls)?,
                Err(zk::Error::NoNode) => {}
                Err(e) => return Err(zk_err(e, "check root ACL")),
            }
        }
        let span = tracing::info_span!("session", backend = BACKEND, node = %session.node);
        let supervisor = tokio::spawn(tracing::Instrument::instrument(
            supervise(Arc::downgrade(&session), client),
            span,
        ));
        Ok(Arc::new(ZkCoordinator { session, supervisor }))
    }

    /// The session id of the current session (for diagnostics, and to match `cons` output).
    pub fn session_id(&self) -> Option<i64> {
        self.session.client.read().as_ref().map(|c| c.session_id().0)
    }

    /// Ends the current session at the servers while the coordinator lives on, as if the servers had expired
    /// it (for failure tests): its ephemeral nodes go, it sees `Expired`, then builds a new session.
    pub async fn force_expire(&self) {
        let client = self.session.client.read().clone();
        if let Some(client) = client {
            close_session(self.session.options.clone(), client).await;
        }
    }

    /// Stops this coordinator as if its process had died, for failure tests: it stops rebuilding sessions,
    /// reports `Closed` to its own recipes, and its session is ended at the servers, so its ephemeral nodes
    /// (leadership, registrations, claims) go as they would after a crashed process's session timeout, only
    /// without the wait. (Killing a real process, as the cluster tests do, measures the timeout itself.)
    pub async fn abandon(&self) {
        self.session.closed.store(true, Ordering::SeqCst);
        self.end_session().await;
    }

    /// Stops rebuilding sessions, reports `Closed`, and ends the current session at the servers (its ephemeral
    /// nodes go at once). The caller has marked the coordinator closed.
    async fn end_session(&self) {
        self.supervisor.abort();
        let client = self.session.client.write().take();
        self.session
            .status
            .send_modify(|s| s.state = SessionState::Closed);
        if let Some(client) = client {
            close_session(self.session.options.clone(), client).await;
        }
    }
}

#[async_trait]
impl Coordinator for ZkCoordinator {
    crate::coordinator::recipes_over_cell! {
        backend: BACKEND,
        election: super::election::ZkElection,
        registry: super::registry::ZkRegistry,
        config: super::config::ZkConfig,
        inbox: super::inbox::ZkInbox,
        queue: super::queue::ZkQueue,
    }

    /// Writes this node's own clock znode (ephemeral, `<root>/clocks/<node>`, only its identity may write)
    /// and reads the `mtime` the ZooKeeper leader stamped on the write.
    async fn clock_offset(&self) -> Result<crate::ClockOffset> {
        const OP: &str = "clock";
        let (client, _) = self.session.client(OP)?;
        let dir = self.session.path("clocks");
        let path = format!("{dir}/{}", self.session.node);
        let mut created = false;
        loop {
            let sent = aeroguard_core::Timestamp::now();
            match client.set_data(&path, &[], None).await {
                Ok(stat) => {
                    let received = aeroguard_core::Timestamp::now();
                    let server = aeroguard_core::Timestamp::from_millis(stat.mtime);
                    return Ok(crate::ClockOffset::from_probe(sent, server, received));
                }
                Err(zk::Error::NoNode) if !created => {
                    created = true;
                    self.session.ensure_dir(&client, &dir).await?;
                    let opts = self
                        .session
                        .create_options(zk::CreateMode::Ephemeral, super::AclKind::Own);
                    match client.create(&path, &[], &opts).await {
                        Ok(_) | Err(zk::Error::NodeExists) => {}
                        Err(e) => return Err(super::zk_err(e, OP)),
                    }
                }
                Err(e) => return Err(super::zk_err(e, OP)),
            }
        }
    }

    async fn close(&self) {
        if self.session.closed.swap(true, Ordering::SeqCst) {
            return;
        }
        self.end_session().await;
    }
}

impl Drop for ZkCoordinator {
    fn drop(&mut self) {
        self.supervisor.abort();
        if self.session.closed.swap(true, Ordering::SeqCst) {
            return;
        }
        let client = self.session.client.write().take();
        self.session
            .status
            .send_modify(|s| s.state = SessionState::Closed);
        if let (Some(client), Ok(rt)) = (client, tokio::runtime::Handle::try_current()) {
            rt.spawn(close_session(self.session.options.clone(), client));
        }
    }
}
