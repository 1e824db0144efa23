//! What a client connects with: the ZooKeeper logins and options from `Client`'s arguments, and a session
//! opened now or when the client starts.

use std::sync::Arc;

use aeroguard_consensus::Coordinator;
use aeroguard_consensus::redis::{RedisCoordinator, RedisOptions};
use aeroguard_consensus::zookeeper::{ZkAuth, ZkCoordinator, ZkDigest, ZkIdentity, ZkOptions, ZkSasl};

/// The ZooKeeper credentials of `Client`, as given.
pub(super) struct ZkLogins {
    pub(super) auth: Option<String>,
    pub(super) node_auth: Option<String>,
    pub(super) members: Option<std::collections::BTreeMap<String, String>>,
    pub(super) sasl: Option<String>,
    pub(super) node_sasl: Option<String>,
}

/// The ZooKeeper options of `Client`: the digest credentials, the roster and the SASL logins.
pub(super) fn zk_options(
    hosts: Option<String>,
    session: std::time::Duration,
    given: ZkLogins,
) -> crate::errors::Result<ZkOptions> {
    let hosts = hosts.unwrap_or_else(|| "127.0.0.1:2181".into());
    let options = ZkOptions::new(hosts).with_session_timeout(session);
    let sasl = given.sasl.as_deref().map(ZkSasl::parse).transpose()?;
    let node_sasl = given.node_sasl.as_deref().map(ZkSasl::parse).transpose()?;
    if node_sasl.is_some() && (sasl.is_some() || given.node_auth.is_some()) {
        return Err(crate::errors::value_error(
            "zk_node_sasl is this node's own login and identity: give it without zk_sasl and zk_node_auth",
        ));
    }
    let Some(credential) = given.auth else {
        if given.node_auth.is_some() || given.members.is_some() || node_sasl.is_some() {
            return Err(crate::errors::value_error(
                "zk_node_auth, zk_node_sasl and zk_members need zk_auth, the cluster's credential",
            ));
        }
        return Ok(match sasl {
            Some(login) => options.with_auth(ZkAuth::sasl_member(login)),
            None => options,
        });
    };
    let mut auth = ZkAuth::member(ZkDigest::parse(&credential)?);
    if let Some(own) = given.node_auth {
        auth = auth.with_node(ZkDigest::parse(&own)?);
    }
    for (member, identity) in given.members.unwrap_or_default() {
        let identity: ZkIdentity = identity.parse()?;
        auth = auth.with_member(&member, identity);
    }
    if let Some(login) = sasl {
        auth = auth.with_sasl(login);
    }
    if let Some(login) = node_sasl {
        auth = auth.with_own_sasl(login);
    }
    Ok(options.with_auth(auth))
}

/// A started client's session.
#[derive(Clone)]
pub(crate) struct Conn {
    pub(crate) inner: Arc<dyn Coordinator>,
    /// The concrete coordinator of a Redis client, for its history store.
    pub(crate) redis: Option<Arc<RedisCoordinator>>,
}

/// What a client made with `connect=False` connects with when it starts.
#[derive(Clone)]
pub(crate) enum Pending {
    ZooKeeper(aeroguard_core::NodeId, ZkOptions),
    Redis(aeroguard_core::NodeId, RedisOptions),
}

impl Pending {
    pub(crate) async fn connect(self) -> crate::errors::Result<Conn> {
        Ok(match self {
            Pending::ZooKeeper(id, options) => Conn {
                inner: ZkCoordinator::connect(id, options).await?,
                redis: None,
            },
            Pending::Redis(id, options) => {
                let c = RedisCoordinator::connect(id, options).await?;
                Conn {
                    inner: c.clone(),
                    redis: Some(c),
                }
            }
        })
    }
}
