//! Where the service keeps its history when it runs on Redis.

use std::time::Duration;

use aeroguard_consensus::deployment::{redis_auth, sentinel_options, services_credential};
use aeroguard_consensus::redis::{RedisCoordinator, RedisCredentials, RedisHistory};
use aeroguard_core::NodeId;

/// The key prefix of the service's history, apart from the cluster's keys.
pub const PREFIX: &str = "aeroguard-svc";

/// The service's history on Redis through the deployment's Sentinels
/// ([`aeroguard_consensus::deployment`]): its own ACL user (`AEROGUARD_SERVICE_REDIS_AUTH`, when set and not
/// empty) and key prefix ([`PREFIX`]), apart from the cluster's.
pub async fn redis_history() -> aeroguard_consensus::Result<RedisHistory> {
    let mut options = redis_auth(sentinel_options(Duration::from_secs(4)))?.with_prefix(PREFIX);
    // The service's own user (empty when the services run without authentication).
    let own = services_credential("AEROGUARD_SERVICE_REDIS_AUTH")?;
    if !own.is_empty() {
        options = options.with_credentials(RedisCredentials::parse(&own)?);
    }
    let node = NodeId::new("sentinel-service").map_err(|_| aeroguard_consensus::Error::InvalidName {
        what: "node",
        name: "sentinel-service".into(),
        reason: "not a node id",
    })?;
    Ok(RedisCoordinator::connect(node, options).await?.history())
}
