//! `aeroguard-node rebase-epoch`: after the Sentinels were redeployed with fresh configs (their failover epochs
//! start from 0 again), re-bases the epoch fencing tokens carry so clients connect again and tokens keep rising.

use aeroguard_consensus::deployment;
use aeroguard_consensus::redis::{RedisCredentials, rebase_epoch};

/// Shows what a re-base would do, or does it with `apply`, as the Redis administrator (`AEROGUARD_REDIS_ADMIN`).
pub async fn rebase(prefix: &str, apply: bool) -> Result<(), String> {
    let mut options = deployment::redis_auth(deployment::sentinel_options(std::time::Duration::from_secs(2)))
        .map_err(|e| e.to_string())?
        .with_prefix(prefix);
    let admin = deployment::services_credential("AEROGUARD_REDIS_ADMIN").unwrap_or_default();
    if !admin.is_empty() {
        let credentials =
            RedisCredentials::parse(&admin).map_err(|e| format!("AEROGUARD_REDIS_ADMIN: {e}"))?;
        options = options.with_credentials(credentials);
    }
    let found = rebase_epoch(&options, apply)
        .await
        .map_err(|e| format!("re-base of the failover epoch (prefix {prefix}): {e}"))?;
    if !found.needed {
        println!(
            "nothing to do: the Sentinels report failover epoch {} (with the base {}: {}), not below the epoch \
             {} the master has seen; clients connect",
            found.sentinel_epoch,
            found.base,
            found.sentinel_epoch + found.base,
            found.epoch
        );
        return Ok(());
    }
    if !apply {
        println!(
            "the Sentinels report failover epoch {}, below the epoch the master has seen: every client refuses \
             the master. A re-base would make tokens carry epoch {} (base {}) after a quiet period. Check that \
             the Sentinels answering are the deployment's own (a stale or forged one also answers low), then \
             run again with --apply",
            found.sentinel_epoch, found.epoch, found.base
        );
        return Ok(());
    }
    let replicas = found.replicas.unwrap_or(0);
    println!(
        "re-based: tokens now carry epoch {} (base {} over the Sentinels' {}); {replicas} replica(s) have it{}",
        found.epoch,
        found.base,
        found.sentinel_epoch,
        if replicas == 0 {
            " (none: a failover now could lose it; run again once a replica is up)"
        } else {
            ""
        }
    );
    Ok(())
}
