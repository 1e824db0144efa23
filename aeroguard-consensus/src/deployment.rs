//! Connects a program to a deployment described by its environment: which backend, where its servers are,
//! and which credentials to present. Variables are the ones `scripts/services env` prints
//! (`AEROGUARD_ZK_AUTH`, `AEROGUARD_REDIS_AUTH`, `AEROGUARD_SENTINEL_AUTH`, `AEROGUARD_REDIS_CA`,
//! `AEROGUARD_MEMBERS`); a variable that is unset is read from the `credentials` file of the services'
//! state folder (`AEROGUARD_SERVICES_DIR`). Server addresses default to the loopback ports of that script and
//! are overridden by `AEROGUARD_ZK` and `AEROGUARD_SENTINELS`.
//!
//! The node, the analysis service and the fault harness connect through here, so a deployment is configured
//! in one way for all of them.
use std::sync::Arc;
use std::time::Duration;

use crate::redis::{RedisCoordinator, RedisCredentials, RedisOptions, RedisTls};
use crate::zookeeper::{ZkAuth, ZkCoordinator, ZkDigest, ZkIdentity, ZkOptions};
use crate::{Coordinator, Error, Result};

/// The ensemble started by `scripts/services start`, used when `AEROGUARD_ZK` is unset.
pub const ZK_HOSTS: &str = "127.0.0.1:2181,127.0.0.1:2182,127.0.0.1:2183";
/// The Sentinels started by `scripts/services start`, used when `AEROGUARD_SENTINELS` is unset.
pub const SENTINELS: [&str; 3] = ["127.0.0.1:26379", "127.0.0.1:26380", "127.0.0.1:26381"];
/// The master name the Sentinels monitor.
pub const MASTER: &str = "aeroguard";

/// The ZooKeeper ensemble's `host:port` list: `AEROGUARD_ZK`, else [`ZK_HOSTS`].
pub fn zk_hosts() -> String {
    std::env::var("AEROGUARD_ZK")
        .ok()
        .filter(|h| !h.trim().is_empty())
        .unwrap_or_else(|| ZK_HOSTS.to_string())
}

/// The Sentinels' addresses: `AEROGUARD_SENTINELS` (comma-separated `host:port`), else [`SENTINELS`].
pub fn sentinels() -> Vec<String> {
    match std::env::var("AEROGUARD_SENTINELS") {
        Ok(list) if !list.trim().is_empty() => list.split(',').map(|a| a.trim().to_string()).collect(),
        _ => SENTINELS.iter().map(|a| a.to_string()).collect(),
    }
}

/// The state folder of `scripts/services` (`AEROGUARD_SERVICES_DIR`, default `/tmp/aeroguard-services`).
pub fn services_dir() -> std::path::PathBuf {
    std::env::var_os("AEROGUARD_SERVICES_DIR").map_or_else(|| "/tmp/aeroguard-services".into(), Into::into)
}

/// A credential of the test services whose state folder is `dir`: the line `name=...` of its
/// `credentials` file.
///
/// ```
/// let dir = std::env::temp_dir().join(format!("ag-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// std::fs::write(dir.join("credentials"), "AEROGUARD_DOC_CRED=u:p\nAEROGUARD_DOC_CRED2=v:q\n")?;
/// let got = aeroguard_consensus::deployment::services_credential_in(&dir, "AEROGUARD_DOC_CRED")?;
/// assert_eq!(got, "u:p");
/// assert_eq!(aeroguard_consensus::deployment::services_credential_in(&dir, "AEROGUARD_DOC_CRED2")?, "v:q");
/// assert!(aeroguard_consensus::deployment::services_credential_in(&dir, "AEROGUARD_NONE").is_err());
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn services_credential_in(dir: &std::path::Path, name: &str) -> Result<String> {
    let file = dir.join("credentials");
    let missing = |why: String| Error::Unauthorized {
        backend: if name.contains("_ZK_") {
            "zookeeper"
        } else {
            "redis"
        },
        operation: "read the test services' credentials",
        reason: format!(
            "{name} is not set and {why}: run `scripts/services start`, then `eval \"$(scripts/services env)\"`"
        ),
    };
    let text = std::fs::read_to_string(&file)
        .map_err(|e| missing(format!("{} is unreadable ({e})", file.display())))?;
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix('=')))
        .map(str::to_string)
        .ok_or_else(|| missing(format!("{} has no {name}", file.display())))
}

/// A credential of the test services: the environment variable `name` (as `scripts/services env` exports
/// it), else [`services_credential_in`] the folder of [`services_dir`].
pub fn services_credential(name: &str) -> Result<String> {
    match std::env::var(name) {
        Ok(v) => Ok(v),
        Err(_) => services_credential_in(&services_dir(), name),
    }
}

/// The cluster's ZooKeeper credentials for the test services (`AEROGUARD_ZK_AUTH`, `user:password`), with
/// the shared SASL login that opens a session (`AEROGUARD_ZK_SASL`: the ensemble admits SASL logins only);
/// `None` when they run without authentication (the credential is empty).
pub fn zk_auth() -> Result<Option<ZkAuth>> {
    let credential = services_credential("AEROGUARD_ZK_AUTH")?;
    if credential.is_empty() {
        return Ok(None);
    }
    let auth = ZkAuth::member(ZkDigest::parse(&credential)?);
    let sasl = services_credential("AEROGUARD_ZK_SASL").unwrap_or_default();
    if sasl.is_empty() {
        return Ok(Some(auth));
    }
    Ok(Some(auth.with_sasl(crate::zookeeper::ZkSasl::parse(&sasl)?)))
}

/// Node `node`'s own login in `logins` (the form of the test services' `AEROGUARD_MEMBERS`: space-separated
/// `node:password`).
///
/// ```
/// use aeroguard_consensus::deployment::login_in;
/// assert_eq!(login_in("n1:p1 n2:p2", "n2").as_deref(), Some("n2:p2"));
/// assert_eq!(login_in("n1:p1 n2:p2", "n"), None);
/// ```
pub fn login_in(logins: &str, node: &str) -> Option<String> {
    logins
        .split_whitespace()
        .find(|m| m.split_once(':').is_some_and(|(n, _)| n == node))
        .map(str::to_string)
}

/// Node `node`'s own login among the test services' `AEROGUARD_MEMBERS` ([`login_in`]), if it has one: its
/// ZooKeeper SASL login and its Redis ACL user, which alone write its candidacies and inbox slots.
pub fn member_login(node: &str) -> Option<String> {
    login_in(&member_logins(), node)
}

fn member_logins() -> String {
    // Services run plain, and state folders from before members had logins, have none.
    services_credential("AEROGUARD_MEMBERS").unwrap_or_default()
}

/// ZooKeeper credentials for node `node`: the cluster's ([`zk_auth`]); its own SASL login
/// ([`member_login`]), which owns its candidacies and inbox slots ([`ZkAuth::with_own_sasl`]); and the roster
/// of every member login, so candidates and round answers count from those identities only. A node without a
/// login of its own gets the cluster's credentials alone (no roster: it checks nothing against one).
pub fn zk_member_auth(node: &str) -> Result<Option<ZkAuth>> {
    let Some(mut auth) = zk_auth()? else {
        return Ok(None);
    };
    let logins = member_logins();
    if login_in(&logins, node).is_none() {
        return Ok(Some(auth));
    }
    for login in logins.split_whitespace() {
        let own = crate::zookeeper::ZkSasl::parse(login)?;
        if own.user() == node {
            auth = auth.with_own_sasl(own.clone());
        }
        auth = auth.with_member(own.user(), ZkIdentity::sasl(own.user())?);
    }
    Ok(Some(auth))
}

/// `options` with node `node`'s own Redis user ([`member_login`]) when it has one, else the library's
/// ([`redis_auth`]). A member's own user may not write elections, so it asks an election authority
/// ([`RedisOptions::with_election_authority`]; see [`election_authority`]).
pub fn redis_member_auth(node: &str, options: RedisOptions) -> Result<RedisOptions> {
    let options = redis_auth(options)?;
    Ok(match member_login(node) {
        Some(login) => options
            .with_credentials(RedisCredentials::parse(&login)?)
            .with_election_authority(),
        None => options,
    })
}

/// Starts an election authority for those of `nodes` that have their own logins ([`member_login`]), as the
/// services' authority user (`AEROGUARD_REDIS_AUTHORITY`), named `instance`; `None` when none of them has a
/// login (they write their elections with the library's user).
pub async fn election_authority(
    instance: &str,
    nodes: &[String],
    session: Duration,
) -> Result<Option<crate::redis::RedisElectionAuthority>> {
    let members: Vec<aeroguard_core::NodeId> = nodes
        .iter()
        .filter(|n| member_login(n).is_some())
        .filter_map(|n| n.parse().ok())
        .collect();
    if members.is_empty() {
        return Ok(None);
    }
    let mut options = redis_auth(sentinel_options(session))?;
    let login = services_credential("AEROGUARD_REDIS_AUTHORITY").unwrap_or_default();
    if !login.is_empty() {
        options = options.with_credentials(RedisCredentials::parse(&login)?);
    }
    let instance = instance.parse().map_err(|_| Error::InvalidName {
        what: "election authority",
        name: instance.to_string(),
        reason: "not a valid node id",
    })?;
    Ok(Some(
        crate::redis::RedisElectionAuthority::start(instance, options, members).await?,
    ))
}

/// `options` with the test services' Redis credentials: the library's ACL user (`AEROGUARD_REDIS_AUTH`)
/// for the servers, the Sentinels' client user (`AEROGUARD_SENTINEL_AUTH`) and TLS with their CA
/// (`AEROGUARD_REDIS_CA`, when they run TLS).
pub fn redis_auth(mut options: RedisOptions) -> Result<RedisOptions> {
    // Empty when the services run without authentication.
    let user = services_credential("AEROGUARD_REDIS_AUTH")?;
    if !user.is_empty() {
        options = options.with_credentials(RedisCredentials::parse(&user)?);
    }
    let client = services_credential("AEROGUARD_SENTINEL_AUTH")?;
    if !client.is_empty() {
        options = options.with_sentinel_credentials(RedisCredentials::parse(&client)?);
    }
    // TLS when the services run it (their CA is then among the credentials).
    Ok(match services_credential("AEROGUARD_REDIS_CA") {
        Ok(ca) if !ca.is_empty() => options.with_tls(RedisTls::from_ca_file(ca)?),
        _ => options,
    })
}

/// Options for Redis through the Sentinels of [`sentinels`], monitoring [`MASTER`], without credentials.
pub fn sentinel_options(session: Duration) -> RedisOptions {
    let sentinels = sentinels();
    let addrs: Vec<&str> = sentinels.iter().map(String::as_str).collect();
    RedisOptions::sentinel(&addrs, MASTER).with_session_timeout(session)
}

/// A backend with real servers (a `--backend` value): `zookeeper` (or `zk`) or `redis`.
///
/// ```
/// use aeroguard_consensus::deployment::Backend;
/// assert_eq!("redis".parse(), Ok(Backend::Redis));
/// assert_eq!("zk".parse(), Ok(Backend::ZooKeeper));
/// assert_eq!(Backend::ZooKeeper.to_string(), "zookeeper");
/// let refused = "etcd".parse::<Backend>().unwrap_err();
/// assert!(refused.to_string().contains("zookeeper, redis"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A ZooKeeper ensemble.
    ZooKeeper,
    /// Redis through its Sentinels.
    Redis,
}

/// A backend name that is not one of [`Backend`]'s.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown backend {0:?}: expected one of zookeeper, redis")]
pub struct UnknownBackend(pub String);

impl std::str::FromStr for Backend {
    type Err = UnknownBackend;

    fn from_str(s: &str) -> std::result::Result<Self, UnknownBackend> {
        match s {
            "zookeeper" | "zk" => Ok(Backend::ZooKeeper),
            "redis" => Ok(Backend::Redis),
            other => Err(UnknownBackend(other.chars().take(64).collect())),
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Backend {
    /// The backend's name.
    pub fn name(self) -> &'static str {
        match self {
            Backend::ZooKeeper => "zookeeper",
            Backend::Redis => "redis",
        }
    }

    /// Redis options for the test services' Sentinels, with their credentials ([`redis_auth`]).
    pub fn redis_options(session: Duration) -> Result<RedisOptions> {
        redis_auth(sentinel_options(session))
    }

    /// Connects `node` with session timeout `session` to the test services, with its own login when it has
    /// one ([`zk_member_auth`], [`redis_member_auth`]).
    pub async fn connect(self, node: &str, session: Duration) -> Result<Arc<dyn Coordinator>> {
        let id = aeroguard_core::NodeId::new(node).map_err(|_| Error::InvalidName {
            what: "node",
            name: node.to_string(),
            reason: "not a valid node id",
        })?;
        Ok(match self {
            Backend::ZooKeeper => {
                let mut options = ZkOptions::new(zk_hosts()).with_session_timeout(session);
                options.auth = zk_member_auth(node)?;
                ZkCoordinator::connect(id, options).await?
            }
            Backend::Redis => {
                let options = sentinel_options(session);
                RedisCoordinator::connect(id, redis_member_auth(node, options)?).await?
            }
        })
    }
}
