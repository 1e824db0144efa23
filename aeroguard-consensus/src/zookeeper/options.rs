//! How a coordinator reaches the ensemble: hosts, root, session, credentials.

use std::time::Duration;

use super::ZkAuth;
use super::acls;
use crate::{Error, Result, SessionOptions};

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

    pub(super) fn validate(&self) -> Result<()> {
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

    pub(super) fn acls(&self) -> acls::AclSet {
        match &self.auth {
            Some(a) => acls::AclSet::for_auth(a),
            None => acls::AclSet::open(),
        }
    }

    pub(super) fn is_observer(&self) -> bool {
        self.auth.as_ref().is_some_and(ZkAuth::is_observer)
    }
}
