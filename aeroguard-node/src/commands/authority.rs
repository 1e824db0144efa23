//! `aeroguard-node election-authority`: serves the election writes of members whose own Redis logins may not
//! make them (SECURITY.md, "Least privilege for members"), until interrupted.

use aeroguard_consensus::deployment;
use aeroguard_consensus::redis::{RedisCredentials, RedisElectionAuthority};
use aeroguard_core::NodeId;

/// Runs an authority named `instance` for `members` (comma-separated node ids) under `prefix`, logged in as
/// `AEROGUARD_REDIS_AUTHORITY`, until Ctrl-C.
pub async fn serve(instance: &str, members: &str, prefix: &str) -> Result<(), String> {
    let instance: NodeId = instance
        .parse()
        .map_err(|e| format!("--instance {instance:?}: {e}"))?;
    let members = members
        .split(',')
        .map(|m| m.trim().parse().map_err(|e| format!("--members: {m:?}: {e}")))
        .collect::<Result<Vec<NodeId>, String>>()?;
    let mut options = deployment::redis_auth(deployment::sentinel_options(std::time::Duration::from_secs(2)))
        .map_err(|e| e.to_string())?
        .with_prefix(prefix);
    let login = deployment::services_credential("AEROGUARD_REDIS_AUTHORITY").unwrap_or_default();
    if !login.is_empty() {
        let credentials =
            RedisCredentials::parse(&login).map_err(|e| format!("AEROGUARD_REDIS_AUTHORITY: {e}"))?;
        options = options.with_credentials(credentials);
    }
    let count = members.len();
    let authority = RedisElectionAuthority::start(instance.clone(), options, members)
        .await
        .map_err(|e| format!("election authority {instance}: {e}"))?;
    println!(
        "election authority {instance}: serving {count} member(s) under prefix {prefix}; Ctrl-C stops it"
    );
    tokio::signal::ctrl_c()
        .await
        .map_err(|e| format!("waiting for Ctrl-C: {e}"))?;
    println!(
        "election authority {instance}: answered {} request(s), refused {}",
        authority.served(),
        authority.refused()
    );
    authority.close().await;
    Ok(())
}
