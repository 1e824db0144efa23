//! Opening, rebuilding and closing ZooKeeper sessions: the connector with the credentials, the supervisor that
//! follows session states and builds a new session after an expiry, and the close of a detached session.

use std::sync::atomic::Ordering;
use std::time::Duration;

use zookeeper_client as zk;

use super::{BACKEND, ZkAuth, ZkOptions, ZkSession, zk_err};
use crate::{Error, Result, SessionState};

pub(super) fn connector(options: &ZkOptions) -> zk::Connector {
    let mut connector = zk::Client::connector();
    for credential in options.auth.iter().flat_map(ZkAuth::credentials) {
        connector = connector.with_auth("digest", &credential);
    }
    #[cfg(feature = "zookeeper-sasl")]
    if let Some(login) = options.auth.as_ref().and_then(|a| a.sasl.as_ref()) {
        connector = connector.with_sasl(login.options());
    }
    connector
}

/// How often a refused SASL login is tried again before the refusal is reported, and the pause between tries.
const SASL_RETRIES: u32 = 2;
const SASL_PAUSE: Duration = Duration::from_millis(250);

pub(super) async fn connect_client(options: &ZkOptions) -> Result<zk::Client> {
    let mut refused = 0;
    let client = loop {
        let connected = connector(options)
            .with_session_timeout(options.session.timeout)
            .with_connection_timeout(options.connection_timeout)
            .with_server_version(3, 8, 0)
            .with_detached()
            .connect(&options.hosts)
            .await;
        match connected {
            // A server has refused a valid DIGEST-MD5 login now and then while it logged in others at the same
            // instant ("failed to SASL authenticate: {}" in its log, no reason given); the same login went
            // through on the next try. A wrong password is refused every time, and reported after the tries.
            Err(zk::Error::AuthFailed) if has_sasl(options) && refused < SASL_RETRIES => {
                refused += 1;
                tracing::warn!(try_again = refused, "the SASL login was refused; trying again");
                tokio::time::sleep(SASL_PAUSE).await;
            }
            other => break other.map_err(|e| auth_err(options, e))?,
        }
    };
    // With `enforce.auth.enabled` a server closes the session of a client that sent no credentials on its
    // first request; one cheap read makes that a clear error here rather than a lost session later.
    match client.check_stat("/").await {
        Ok(_) => Ok(client),
        Err(e) => Err(auth_err(options, e)),
    }
}

fn has_sasl(options: &ZkOptions) -> bool {
    #[cfg(feature = "zookeeper-sasl")]
    if options.auth.as_ref().is_some_and(|a| a.sasl.is_some()) {
        return true;
    }
    let _ = options;
    false
}

/// A connection refused for want of credentials says so.
fn auth_err(options: &ZkOptions, e: zk::Error) -> Error {
    match e {
        zk::Error::SessionExpired | zk::Error::AuthFailed if options.auth.is_none() => Error::Unauthorized {
            backend: BACKEND,
            operation: "connect",
            reason: "the ensemble requires authentication and none was given (ZkOptions::with_auth)".into(),
        },
        // No server answered within the connection timeout: say so, with the timeout and the hosts.
        zk::Error::Timeout | zk::Error::NoHosts | zk::Error::ConnectionLoss => Error::Unreachable {
            backend: BACKEND,
            target: options.hosts.clone(),
            after: options.connection_timeout,
        },
        e => zk_err(e, "connect"),
    }
}

/// Follows the client's session states; after an expiry, builds a new session.
pub(super) async fn supervise(session: std::sync::Weak<ZkSession>, mut client: zk::Client) {
    loop {
        let mut states = client.state_watcher();
        let mut state = states.state();
        loop {
            let Some(c) = session.upgrade() else { return };
            let mapped = match state {
                zk::SessionState::SyncConnected | zk::SessionState::ConnectedReadOnly => {
                    SessionState::Connected
                }
                zk::SessionState::Disconnected => SessionState::Suspended,
                // A session whose SASL login fails on a reconnect (the server ended the session while the
                // client logged in again, or the login was revoked) is lost as an expired one is: the
                // coordinator builds a new one. Closed is for a coordinator closed on purpose.
                zk::SessionState::Expired | zk::SessionState::AuthFailed => SessionState::Expired,
                zk::SessionState::Closed => SessionState::Closed,
            };
            c.status.send_if_modified(|s| {
                let changed = s.state != mapped;
                s.state = mapped;
                changed
            });
            if matches!(mapped, SessionState::Expired | SessionState::Closed) {
                break;
            }
            drop(c);
            state = states.changed().await;
        }
        let Some(c) = session.upgrade() else { return };
        if c.closed.load(Ordering::SeqCst) {
            return;
        }
        c.client.write().take();
        let options = c.options.clone();
        drop(c);
        // Build a new session, backing off while the ensemble is unreachable.
        let mut backoff = Duration::from_millis(100);
        let since;
        (client, since) = loop {
            let sent = tokio::time::Instant::now();
            match connect_client(&options).await {
                Ok(new) => break (new, sent),
                Err(_) => {
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                    if session.upgrade().is_none_or(|c| c.closed.load(Ordering::SeqCst)) {
                        return;
                    }
                }
            }
        };
        let Some(c) = session.upgrade() else { return };
        *c.client.write() = Some(client.clone());
        let epoch = c.epoch() + 1;
        c.start_lease(&client, epoch, since);
        c.status.send_modify(|s| {
            s.state = SessionState::Connected;
            s.epoch = epoch;
        });
    }
}

/// Closes a detached session: resume it on a normal client and drop that one, which sends the close.
pub(super) async fn close_session(options: ZkOptions, client: zk::Client) {
    let session = client.into_session();
    let closer = connector(&options)
        .with_session(session)
        .with_session_timeout(options.session.timeout)
        .with_connection_timeout(options.connection_timeout)
        .with_server_version(3, 8, 0)
        .connect(&options.hosts)
        .await;
    drop(closer);
    // Let the close request go out before the runtime may stop.
    tokio::time::sleep(Duration::from_millis(50)).await;
}
