//! The ZooKeeper backend (feature `zookeeper`), on `zookeeper-client` with its tokio runtime.
//!
//! Layout under the root (default `/aeroguard`):
//!
//! | recipe | znodes |
//! |---|---|
//! | election | `elections/<name>/<node>~<seq>`: ephemeral sequential; the lowest sequence leads, each candidate watches only its predecessor; the token is the node's `czxid`, which strictly increases over all terms |
//! | registry | `services/<service>/<node>`: ephemeral, data = JSON payload |
//! | config | `config/<key>`: persistent; version = znode data version + 1 |
//! | inbox | `inbox/<name>/<node>`: persistent, the node's own ACL; see [`Inbox`](crate::Inbox) |
//! | queue | `queues/<name>/items/i-<seq>`: persistent sequential; `queues/<name>/claims/<item>`: ephemeral claim, deleted with the item on ack (one `multi`) |
//!
//! Sessions: the coordinator maps ZooKeeper's states to [`SessionState`] (`Disconnected` is `Suspended`).
//! After `Expired` it builds a new session (epoch + 1); registrations are re-created in it, leadership is lost
//! (its watchdog reports `SessionExpired`) and must be campaigned for again, claims are released (their items
//! are delivered again). A reconnect within the session keeps leadership only if the leader's own node is
//! still there, which the watchdog checks. Sessions are opened detached and closed explicitly by
//! [`close`](crate::Coordinator::close) (or on drop): the session is resumed on a second connection that is
//! then dropped, which sends the close.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::RwLock;
use std::time::Duration;

use aeroguard_core::NodeId;
use async_trait::async_trait;
use tokio::sync::watch;
use zookeeper_client as zk;

use crate::election::LeaseClock;
use crate::{
    ConfigStore, Coordinator, Election, Error, Queue, Registry, Result, SessionOptions, SessionState,
    SessionStatus,
};

mod auth;
mod config;
mod connect;
mod election;
mod identity;
mod inbox;
mod lease;
mod queue;
mod registry;
#[cfg(feature = "zookeeper-sasl")]
mod sasl;

pub(crate) use auth::AclKind;
pub use auth::{ZkAuth, ZkDigest};
use connect::{close_session, connect_client, supervise};
pub use identity::ZkIdentity;
#[cfg(feature = "zookeeper-sasl")]
pub use sasl::ZkSasl;

const BACKEND: &str = "zookeeper";

/// Connection parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct ZkOptions {
    /// The ensemble, `host:port,host:port,...`.
    pub hosts: String,
    /// The root znode under which everything lives.
    pub root: String,
    /// The session timeout asked of the servers (they clamp it to their min/max), and the grace: how long a
    /// leader tolerates a suspended connection before it stops trusting its leadership.
    ///
    /// The servers expire a silent session no earlier than the session timeout `T` after they last heard from
    /// it; the client notices silence after `2T/5` (`zookeeper-client` declares a connection dead after eight
    /// ticks of `T/20`). So a leader cut off from the ensemble stops trusting itself after at most
    /// `2T/5 + grace` plus one round trip, and that must come before `T`. The default grace is `T/2`, which
    /// leaves `T/10` for the round trip and long enough to ride out a reconnection to another server.
    pub session: SessionOptions,
    /// How long to wait for a connection when (re)building a session.
    pub connection_timeout: Duration,
    /// Credentials and ACLs (see [`ZkAuth`]). `None`: no authentication, and every znode open to anyone
    /// (only for an ensemble nobody else can reach).
    pub auth: Option<ZkAuth>,
}

impl ZkOptions {
    /// Options for `hosts` with a 4 s session timeout.
    pub fn new(hosts: impl Into<String>) -> Self {
        ZkOptions {
            hosts: hosts.into(),
            root: "/aeroguard".into(),
            session: SessionOptions::new(Duration::from_secs(4)),
            connection_timeout: Duration::from_secs(5),
            auth: None,
        }
    }

    /// Authenticates with `auth` and creates every znode with its ACLs.
    pub fn with_auth(mut self, auth: ZkAuth) -> Self {
        self.auth = Some(auth);
        self
    }

    /// Sets the session timeout and the grace to half of it.
    pub fn with_session_timeout(mut self, timeout: Duration) -> Self {
        self.session = SessionOptions::new(timeout);
        self
    }

    /// Sets the root znode.
    pub fn with_root(mut self, root: impl Into<String>) -> Self {
        self.root = root.into();
        self
    }

    fn validate(&self) -> Result<()> {
        if self.hosts.trim().is_empty() {
            return Err(Error::parameter(
                "hosts",
                &self.hosts,
                "must name at least one host:port",
            ));
        }
        if !self.root.starts_with('/') || self.root.len() < 2 || self.root.ends_with('/') {
            return Err(Error::parameter(
                "root",
                &self.root,
                "must be an absolute znode path like /aeroguard",
            ));
        }
        if let Some(auth) = &self.auth {
            auth.validate()?;
        }
        self.session.validate()
    }

    fn acls(&self) -> auth::AclSet {
        match &self.auth {
            Some(a) => auth::AclSet::for_auth(a),
            None => auth::AclSet::open(),
        }
    }

    fn is_observer(&self) -> bool {
        self.auth.as_ref().is_some_and(ZkAuth::is_observer)
    }
}

/// Maps a client error to the crate's.
pub(crate) fn zk_err(e: zk::Error, operation: &'static str) -> Error {
    match e {
        zk::Error::ConnectionLoss | zk::Error::NoHosts => Error::ConnectionLoss {
            backend: BACKEND,
            operation,
        },
        zk::Error::SessionExpired => Error::SessionExpired { operation },
        zk::Error::NoAuth => Error::Forbidden {
            backend: BACKEND,
            operation,
            reason: "the ACL does not grant it (NoAuth)".into(),
        },
        zk::Error::AuthFailed => Error::Unauthorized {
            backend: BACKEND,
            operation,
            reason: "authentication failed".into(),
        },
        zk::Error::ClientClosed => Error::Closed,
        zk::Error::Timeout => Error::Timeout {
            operation,
            after: Duration::ZERO,
        },
        other => Error::Backend {
            backend: BACKEND,
            operation,
            message: other.to_string(),
        },
    }
}

/// The session a coordinator and its recipes share.
#[derive(Debug)]
pub(crate) struct Cell {
    pub options: ZkOptions,
    pub node: NodeId,
    status: watch::Sender<SessionStatus>,
    client: RwLock<Option<zk::Client>>,
    closed: AtomicBool,
    /// The current session's local deadline (see `lease`).
    lease: RwLock<Arc<LeaseClock>>,
    /// The ACLs znodes are created with.
    acls: auth::AclSet,
}

pub(crate) type Handle = Arc<Cell>;

impl Cell {
    /// The current session's client and its epoch.
    pub fn client(&self, operation: &'static str) -> Result<(zk::Client, u64)> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(Error::Closed);
        }
        let epoch = self.status.borrow().epoch;
        match &*self.client.read() {
            Some(c) => Ok((c.clone(), epoch)),
            None => Err(Error::SessionExpired { operation }),
        }
    }

    pub fn session(&self) -> watch::Receiver<SessionStatus> {
        self.status.subscribe()
    }

    /// Whether the coordinator was closed.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// The current session's epoch.
    pub fn epoch(&self) -> u64 {
        self.status.borrow().epoch
    }

    /// The current session's local deadline.
    pub fn lease(&self) -> Arc<LeaseClock> {
        self.lease.read().clone()
    }

    /// The leader's grace on `client`'s session: the configured one, but never above half the timeout the
    /// servers granted (they may grant less than was asked).
    pub fn grace(&self, client: &zk::Client) -> Duration {
        self.options.session.grace.min(client.session_timeout() / 2)
    }

    /// Starts keeping the local deadline of a new session (epoch `epoch`) opened by a request sent at `since`.
    fn start_lease(self: &Arc<Self>, client: &zk::Client, epoch: u64, since: tokio::time::Instant) {
        let clock = lease::clock(client.session_timeout(), since);
        *self.lease.write() = clock.clone();
        tokio::spawn(lease::keep(Arc::downgrade(self), client.clone(), clock, epoch));
    }

    pub fn path(&self, rest: &str) -> String {
        format!("{}/{rest}", self.options.root)
    }

    /// Create options for a znode of `kind`.
    pub fn create_options(&self, mode: zk::CreateMode, kind: AclKind) -> zk::CreateOptions<'_> {
        mode.with_acls(self.acls.get(kind))
    }

    /// `mkdir -p` of a persistent path (recipe parents).
    pub async fn ensure_dir(&self, client: &zk::Client, path: &str) -> Result<()> {
        let opts = self.create_options(zk::CreateMode::Persistent, AclKind::Parent);
        client
            .mkdir(path, &opts)
            .await
            .map_err(|e| zk_err(e, "create directory"))
    }

    /// Waits until the session epoch differs from `epoch` or the state changes to something other than
    /// `Connected`/`Suspended`; used by watch loops to notice expiry.
    pub async fn session_ended(&self, epoch: u64) -> Error {
        let mut rx = self.status.subscribe();
        // An error here means the status sender is gone, which ends the session as surely.
        rx.wait_for(|s| s.epoch != epoch || matches!(s.state, SessionState::Expired | SessionState::Closed))
            .await
            .ok();
        if self.closed.load(Ordering::SeqCst) {
            Error::Closed
        } else {
            Error::SessionExpired { operation: "watch" }
        }
    }
}

/// One node's session with a ZooKeeper ensemble.
#[derive(Debug)]
pub struct ZkCoordinator {
    cell: Handle,
    supervisor: tokio::task::JoinHandle<()>,
}

impl ZkCoordinator {
    /// Connects `node` to the ensemble.
    ///
    /// Fails with `ConnectionLoss` when no server answers within the connection timeout.
    pub async fn connect(node: NodeId, options: ZkOptions) -> Result<Arc<ZkCoordinator>> {
        options.validate()?;
        let acls = options.acls();
        let since = tokio::time::Instant::now();
        let client = connect_client(&options).await?;
        let (status, _) = watch::channel(SessionStatus {
            state: SessionState::Connected,
            epoch: 1,
        });
        let cell = Arc::new(Cell {
            options,
            node,
            status,
            client: RwLock::new(Some(client.clone())),
            closed: AtomicBool::new(false),
            lease: RwLock::new(lease::clock(client.session_timeout(), since)),
            acls,
        });
        cell.start_lease(&client, 1, since);
        let root = cell.options.root.clone();
        if !cell.options.is_observer() {
            cell.ensure_dir(&client, &root).await?;
        }
        if cell.options.auth.is_some() {
            match client.get_acl(&root).await {
                Ok((acls, _)) => auth::check_root_acl(&root, &acls)?,
                Err(zk::Error::NoNode) => {}
                Err(e) => return Err(zk_err(e, "check root ACL")),
            }
        }
        let span = tracing::info_span!("session", backend = BACKEND, node = %cell.node);
        let supervisor = tokio::spawn(tracing::Instrument::instrument(
            supervise(Arc::downgrade(&cell), client),
            span,
        ));
        Ok(Arc::new(ZkCoordinator { cell, supervisor }))
    }

    /// The session id of the current session (for diagnostics, and to match `cons` output).
    pub fn session_id(&self) -> Option<i64> {
        self.cell.client.read().as_ref().map(|c| c.session_id().0)
    }

    /// Ends the current session at the servers while the coordinator lives on, as if the servers had expired
    /// it (for failure tests): its ephemeral nodes go, it sees `Expired`, then builds a new session.
    pub async fn force_expire(&self) {
        let client = self.cell.client.read().clone();
        if let Some(client) = client {
            close_session(self.cell.options.clone(), client).await;
        }
    }

    /// Stops this coordinator as if its process had died, for failure tests: it stops rebuilding sessions,
    /// reports `Closed` to its own recipes, and its session is ended at the servers, so its ephemeral nodes
    /// (leadership, registrations, claims) go as they would after a crashed process's session timeout, only
    /// without the wait. (Killing a real process, as the cluster tests do, measures the timeout itself.)
    pub async fn abandon(&self) {
        self.cell.closed.store(true, Ordering::SeqCst);
        self.supervisor.abort();
        let client = self.cell.client.write().take();
        self.cell.status.send_modify(|s| s.state = SessionState::Closed);
        if let Some(client) = client {
            close_session(self.cell.options.clone(), client).await;
        }
    }
}

#[async_trait]
impl Coordinator for ZkCoordinator {
    fn node(&self) -> &NodeId {
        &self.cell.node
    }

    fn backend(&self) -> &'static str {
        BACKEND
    }

    fn session(&self) -> watch::Receiver<SessionStatus> {
        self.cell.session()
    }

    fn election(&self, name: &str) -> Result<Arc<dyn Election>> {
        crate::error::check_name("election", name)?;
        Ok(Arc::new(election::ZkElection::new(self.cell.clone(), name)))
    }

    fn registry(&self) -> Arc<dyn Registry> {
        Arc::new(registry::ZkRegistry::new(self.cell.clone()))
    }

    fn config(&self) -> Arc<dyn ConfigStore> {
        Arc::new(config::ZkConfig::new(self.cell.clone()))
    }

    fn inbox(&self, name: &str) -> Result<Arc<dyn crate::Inbox>> {
        Ok(Arc::new(inbox::ZkInbox::new(self.cell.clone(), name)?))
    }

    fn queue_with(&self, name: &str, options: crate::QueueOptions) -> Result<Arc<dyn Queue>> {
        crate::queue::check_names(name, &options)?;
        Ok(Arc::new(queue::ZkQueue::new(self.cell.clone(), name, options)))
    }

    async fn close(&self) {
        if self.cell.closed.swap(true, Ordering::SeqCst) {
            return;
        }
        self.supervisor.abort();
        let client = self.cell.client.write().take();
        self.cell.status.send_modify(|s| s.state = SessionState::Closed);
        if let Some(client) = client {
            close_session(self.cell.options.clone(), client).await;
        }
    }
}

impl Drop for ZkCoordinator {
    fn drop(&mut self) {
        self.supervisor.abort();
        if self.cell.closed.swap(true, Ordering::SeqCst) {
            return;
        }
        let client = self.cell.client.write().take();
        self.cell.status.send_modify(|s| s.state = SessionState::Closed);
        if let (Some(client), Ok(rt)) = (client, tokio::runtime::Handle::try_current()) {
            rt.spawn(close_session(self.cell.options.clone(), client));
        }
    }
}
