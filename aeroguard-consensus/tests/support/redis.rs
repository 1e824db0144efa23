//! How the Redis tests reach the servers of `scripts/services start`: through its Sentinels
//! (`AEROGUARD_SENTINELS`), as the library's ACL user (`AEROGUARD_REDIS_AUTH`) and the Sentinels' client user
//! (`AEROGUARD_SENTINEL_AUTH`).
#![allow(dead_code)]

use std::time::Duration;

use aeroguard_consensus::redis::{RedisCredentials, RedisOptions};

use super::services_credential;

pub fn sentinels() -> Vec<String> {
    std::env::var("AEROGUARD_SENTINELS")
        .unwrap_or_else(|_| "127.0.0.1:26379,127.0.0.1:26380,127.0.0.1:26381".into())
        .split(',')
        .map(str::to_string)
        .collect()
}

/// A credential of the services as `RedisCredentials`.
pub fn credentials(name: &str) -> RedisCredentials {
    RedisCredentials::parse(&services_credential(name)).unwrap()
}

/// Sentinel options with the library's credentials and a 2 s session.
pub fn options() -> RedisOptions {
    anonymous()
        .with_credentials(credentials("AEROGUARD_REDIS_AUTH"))
        .with_sentinel_credentials(credentials("AEROGUARD_SENTINEL_AUTH"))
}

/// Sentinel options without any credentials.
pub fn anonymous() -> RedisOptions {
    let s = sentinels();
    let refs: Vec<&str> = s.iter().map(String::as_str).collect();
    RedisOptions::sentinel(&refs, "aeroguard").with_session_timeout(Duration::from_secs(2))
}

/// A connection to the current master as the services' user `name` (`AEROGUARD_REDIS_AUTH`,
/// `AEROGUARD_REDIS_ADMIN`, ...), found through the Sentinels.
pub async fn master_conn_as(name: &str) -> redis::aio::MultiplexedConnection {
    let sentinel_auth = services_credential("AEROGUARD_SENTINEL_AUTH");
    let (user, password) = sentinel_auth.split_once(':').unwrap();
    for s in sentinels() {
        let url = format!("redis://{user}:{password}@{s}");
        let Ok(client) = redis::Client::open(url) else {
            continue;
        };
        let Ok(mut c) = client.get_multiplexed_async_connection().await else {
            continue;
        };
        let Ok((host, port)) = redis::cmd("SENTINEL")
            .arg("get-master-addr-by-name")
            .arg("aeroguard")
            .query_async::<(String, u16)>(&mut c)
            .await
        else {
            continue;
        };
        let auth = services_credential(name);
        let (user, password) = auth.split_once(':').unwrap();
        let master = redis::Client::open(format!("redis://{user}:{password}@{host}:{port}")).unwrap();
        return master.get_multiplexed_async_connection().await.unwrap();
    }
    panic!("no Sentinel named the master: run `scripts/services start`");
}

/// A connection to the current master as the library's user.
pub async fn master_conn() -> redis::aio::MultiplexedConnection {
    master_conn_as("AEROGUARD_REDIS_AUTH").await
}
