//! The session a coordinator and its recipes share: the current client, its epoch and state, its local lease,
//! and the ACLs znodes are created with.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use aeroguard_core::NodeId;
use parking_lot::RwLock;
use tokio::sync::watch;
use zookeeper_client as zk;

use super::{AclKind, ZkOptions, acls, lease, zk_err};
use crate::election::LeaseClock;
use crate::{Error, Result, SessionState, SessionStatus};

/// The session a coordinator and its recipes share.
#[derive(Debug)]
pub(crate) struct ZkSession {
    pub options: ZkOptions,
    pub node: NodeId,
    pub(super) status: watch::Sender<SessionStatus>,
    pub(super) client: RwLock<Option<zk::Client>>,
    pub(super) closed: AtomicBool,
    /// The current session's local deadline (see `lease`).
    pub(super) lease: RwLock<Arc<LeaseClock>>,
    /// The ACLs znodes are created with.
    pub(super) acls: acls::AclSet,
}

pub(crate) type Session = Arc<ZkSession>;

impl ZkSession {
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

    pub fn status(&self) -> watch::Receiver<SessionStatus> {
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
    pub(super) fn start_lease(
        self: &Arc<Self>,
        client: &zk::Client,
        epoch: u64,
        since: tokio::time::Instant,
    ) {
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

    /// `mkdir -p` of a persistent path (recipe parents), creating only the components that do not exist:
    /// ZooKeeper checks a create against the parent's ACL before it looks for the node, so creating a parent
    /// that exists under a read-only one (`/` locked to the cluster) would be refused.
    pub async fn ensure_dir(&self, client: &zk::Client, path: &str) -> Result<()> {
        self.ensure_dir_as(client, path, AclKind::Parent).await
    }

    /// [`ensure_dir`](Self::ensure_dir) with the last component made with the ACL of `kind`. A last component
    /// that exists (made by someone else, or by an older client) must not let anyone do more there than this
    /// client's ACL for it would (`Forbidden`, naming it).
    pub async fn ensure_dir_as(&self, client: &zk::Client, path: &str, kind: AclKind) -> Result<()> {
        const OP: &str = "create directory";
        match client.get_acl(path).await {
            Ok((found, _)) => return self.acls.check_found(kind, path, &found),
            Err(zk::Error::NoNode) => {}
            Err(e) => return Err(zk_err(e, OP)),
        }
        let parent_opts = self.create_options(zk::CreateMode::Persistent, AclKind::Parent);
        // The deepest ancestor that exists, then each component below it.
        let ends: Vec<usize> = path
            .char_indices()
            .filter(|(i, c)| *c == '/' && *i > 0)
            .map(|(i, _)| i)
            .chain(std::iter::once(path.len()))
            .collect();
        let mut first_missing = 0;
        for (k, end) in ends.iter().enumerate().rev() {
            if k + 1 < ends.len()
                && client
                    .check_stat(&path[..*end])
                    .await
                    .map_err(|e| zk_err(e, OP))?
                    .is_some()
            {
                first_missing = k + 1;
                break;
            }
        }
        for end in &ends[first_missing..] {
            let last = *end == path.len();
            let opts = if last {
                self.create_options(zk::CreateMode::Persistent, kind)
            } else {
                parent_opts.clone()
            };
            match client.create(&path[..*end], b"", &opts).await {
                Ok(_) => {}
                // Made by someone else in between: checked as found.
                Err(zk::Error::NodeExists) if last => {
                    let (found, _) = client.get_acl(path).await.map_err(|e| zk_err(e, OP))?;
                    self.acls.check_found(kind, path, &found)?;
                }
                Err(zk::Error::NodeExists) => {}
                Err(e) => return Err(zk_err(e, OP)),
            }
        }
        Ok(())
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
