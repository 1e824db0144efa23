//! Where the service keeps its history when it runs on Redis.

use std::time::Duration;

use aeroguard_consensus::deployment::{redis_auth, sentinel_options, services_credential};
use aeroguard_consensus::redis::{RedisCoordinator, RedisCredentials, RedisHistory, RedisOptions};
use aeroguard_core::NodeId;

/// The key prefix of the service's history, apart from the cluster's keys.
pub const PREFIX: &str = "aeroguard-svc";

/// The service's history on Redis through the deployment's Sentinels
/// ([`aeroguard_consensus::deployment`]): its own ACL user (`AEROGUARD_SERVICE_REDIS_AUTH`, when set and not
/// empty) and key prefix ([`PREFIX`]), apart from the cluster's.
pub async fn redis_history() -> aeroguard_consensus::Result<RedisHistory> {
    let options = own_user(redis_auth(sentinel_options(Duration::from_secs(4)))?.with_prefix(PREFIX))?;
    Ok(RedisCoordinator::connect(service_node()?, options)
        .await?
        .history())
}

/// The cluster's Redis as the service reads its grants: the service's own user, which may only read the
/// cluster's elections and failover epoch (it checks the epoch without raising it, as a member that asks an
/// election authority does; it never campaigns).
pub async fn redis_grants() -> aeroguard_consensus::Result<std::sync::Arc<RedisCoordinator>> {
    let options = own_user(redis_auth(sentinel_options(Duration::from_secs(4)))?)?;
    RedisCoordinator::connect(service_node()?, options.with_election_authority()).await
}

/// `options` logged in as the service's own user (`AEROGUARD_SERVICE_REDIS_AUTH`; empty when the services run
/// without authentication).
fn own_user(options: RedisOptions) -> aeroguard_consensus::Result<RedisOptions> {
    let own = services_credential("AEROGUARD_SERVICE_REDIS_AUTH")?;
    Ok(if own.is_empty() {
        options
    } else {
        options.with_credentials(RedisCredentials::parse(&own)?)
    })
}

fn service_node() -> aeroguard_consensus::Result<NodeId> {
    NodeId::new("sentinel-service").map_err(|_| aeroguard_consensus::Error::InvalidName {
        what: "node",
        name: "sentinel-service".into(),
        reason: "not a node id",
    })
}
