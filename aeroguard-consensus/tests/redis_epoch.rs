//! A failover epoch that went back (Sentinels redeployed with fresh configs count from 0 again): every client
//! refuses the master until an administrator re-bases the epoch, and tokens granted after the re-base are above
//! every token granted before. Each run has a key prefix of its own, so the other tests' clients are untouched.
#![cfg(all(feature = "redis", feature = "live-services"))]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aeroguard_consensus::Coordinator;
use aeroguard_consensus::redis::{RedisCoordinator, RedisOptions, rebase_epoch};

mod support;
use support::redis::{credentials, master_conn_as, options};

fn prefix() -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    format!("aeroguard:epoch-{}-{nanos}", std::process::id())
}

/// A campaign on election `e` under `options`, within `within`: the token, or why not.
async fn token_within(options: RedisOptions, within: Duration) -> Result<u64, String> {
    let attempt = async {
        let c = RedisCoordinator::connect("epoch-test".parse().unwrap(), options)
            .await
            .map_err(|e| e.to_string())?;
        let leadership = c
            .election("e")
            .map_err(|e| e.to_string())?
            .campaign()
            .await
            .map_err(|e| e.to_string())?;
        let token = leadership.token().0;
        leadership.resign().await.map_err(|e| e.to_string())?;
        c.close().await;
        Ok(token)
    };
    tokio::time::timeout(within, attempt)
        .await
        .unwrap_or_else(|_| Err(format!("no grant within {within:?}")))
}

#[tokio::test]
async fn sentinels_behind_the_master_are_refused_until_an_administrator_re_bases() {
    let prefix = prefix();
    let member = options().with_prefix(prefix.clone());
    let admin = options()
        .with_prefix(prefix.clone())
        .with_credentials(credentials("AEROGUARD_REDIS_ADMIN"));
    let before = token_within(member.clone(), Duration::from_secs(20))
        .await
        .unwrap();
    let sentinels = before >> 32;

    // Nothing to re-base while the Sentinels and the master agree.
    let plan = rebase_epoch(&admin, false).await.unwrap();
    assert!(!plan.needed, "{plan:?}");
    assert_eq!(
        (plan.sentinel_epoch, plan.epoch, plan.base),
        (sentinels, sentinels, 0)
    );

    // The master has seen five failovers more than these Sentinels count (they were redeployed).
    let epoch_key = format!("{prefix}:failover:{{master}}:epoch");
    let mut conn = master_conn_as("AEROGUARD_REDIS_ADMIN").await;
    redis::cmd("SET")
        .arg(&epoch_key)
        .arg(sentinels + 5)
        .query_async::<()>(&mut conn)
        .await
        .unwrap();
    let refused = token_within(member.clone(), Duration::from_secs(6)).await;
    assert!(
        refused.is_err(),
        "granted {refused:?} through Sentinels behind the master"
    );

    // A dry run says what it would do and writes nothing.
    let plan = rebase_epoch(&admin, false).await.unwrap();
    assert!(plan.needed && plan.replicas.is_none(), "{plan:?}");
    assert_eq!((plan.epoch, plan.base), (sentinels + 6, 6));
    let stored: u64 = redis::cmd("GET")
        .arg(&epoch_key)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(stored, sentinels + 5, "a dry run wrote");

    // The administrator re-bases; a replica has it.
    let done = rebase_epoch(&admin, true).await.unwrap();
    assert!(done.needed, "{done:?}");
    assert_eq!(
        (done.epoch, done.base, done.sentinel_epoch),
        (sentinels + 6, 6, sentinels)
    );
    assert!(done.replicas.unwrap_or(0) >= 1, "{done:?}");

    // Clients connect again, after the quiet period, and tokens keep rising.
    let after = token_within(member.clone(), Duration::from_secs(30))
        .await
        .unwrap();
    assert!(after > before, "token {after} after the re-base, {before} before");
    assert_eq!(after >> 32, sentinels + 6);
    assert!(!rebase_epoch(&admin, false).await.unwrap().needed);
}
