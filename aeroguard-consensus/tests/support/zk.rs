//! How the ZooKeeper tests reach the ensemble of `scripts/services start`: its hosts (`AEROGUARD_ZK`) and the
//! cluster credential (`AEROGUARD_ZK_AUTH`, else the services' credentials file), since the ensemble enforces
//! authentication.
#![allow(dead_code)]

use std::time::Duration;

use aeroguard_consensus::zookeeper::{ZkAuth, ZkDigest, ZkOptions};

use super::services_credential;

pub fn hosts() -> String {
    std::env::var("AEROGUARD_ZK").unwrap_or_else(|_| "127.0.0.1:2181,127.0.0.1:2182,127.0.0.1:2183".into())
}

/// The cluster credential as `user:password`.
pub fn cluster_credential() -> String {
    services_credential("AEROGUARD_ZK_AUTH")
}

/// The cluster credential every member holds.
pub fn cluster() -> ZkDigest {
    ZkDigest::parse(&cluster_credential()).unwrap()
}

/// Node `node`'s own password (derived from the cluster's, for the tests).
pub fn own_password(node: &str) -> String {
    let secret = cluster_credential();
    let (_, password) = secret.split_once(':').unwrap();
    format!("{node}-{}", &password[..8.min(password.len())])
}

/// Node `node`'s own credential.
pub fn own(node: &str) -> ZkDigest {
    ZkDigest::new(node, &own_password(node)).unwrap()
}

/// A member's auth: the cluster credential and its own.
pub fn member(node: &str) -> ZkAuth {
    ZkAuth::member(cluster()).with_node(own(node))
}

/// Options with `node`'s credentials and a 2 s session.
pub fn options(node: &str) -> ZkOptions {
    ZkOptions::new(hosts())
        .with_session_timeout(Duration::from_secs(2))
        .with_auth(member(node))
}
