//! How the ZooKeeper tests reach the ensemble of `scripts/services start`: its hosts (`AEROGUARD_ZK`) and the
//! cluster credential (`AEROGUARD_ZK_AUTH`, else the services' credentials file), since the ensemble enforces
//! authentication.
#![allow(dead_code)]

use std::time::Duration;

use aeroguard_consensus::zookeeper::{ZkAuth, ZkDigest, ZkIdentity, ZkOptions};

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

/// The node names the tests' rosters list (their own credentials are [`own`]).
pub const ROSTER: [&str; 9] = ["a", "b", "c", "lead", "n1", "n2", "n3", "f0", "f1"];

/// A member's auth: the cluster credential, its own, and the roster of [`ROSTER`].
pub fn member(node: &str) -> ZkAuth {
    ROSTER
        .iter()
        .fold(ZkAuth::member(cluster()).with_node(own(node)), |auth, n| {
            auth.with_member(n, ZkIdentity::of(&own(n)))
        })
}

/// Options with `node`'s credentials and a 2 s session.
pub fn options(node: &str) -> ZkOptions {
    ZkOptions::new(hosts())
        .with_session_timeout(Duration::from_secs(2))
        .with_auth(member(node))
}
