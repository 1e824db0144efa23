//! How the ZooKeeper tests reach the ensemble of `scripts/services start`: its hosts (`AEROGUARD_ZK`) and the
//! cluster credential (`AEROGUARD_ZK_AUTH`, else the services' credentials file), since the ensemble enforces
//! authentication.
#![allow(dead_code)]

use std::time::Duration;

use aeroguard_consensus::zookeeper::{ZkAuth, ZkDigest, ZkIdentity, ZkOptions, ZkSasl};

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

/// Node `node`'s own credential (a digest derived from the cluster's password: the ensemble checks no digest,
/// so this names an identity without logging anyone in).
pub fn own(node: &str) -> ZkDigest {
    let secret = cluster_credential();
    let (_, password) = secret.split_once(':').unwrap();
    ZkDigest::new(node, &format!("{node}-{}", &password[..8.min(password.len())])).unwrap()
}

/// The shared SASL login that opens a session (the ensemble admits SASL logins only).
pub fn gate() -> ZkSasl {
    ZkSasl::parse(&services_credential("AEROGUARD_ZK_SASL")).unwrap()
}

/// Node `node`'s own SASL login, from the services' `AEROGUARD_MEMBERS`.
pub fn own_login(node: &str) -> ZkSasl {
    let logins = services_credential("AEROGUARD_MEMBERS");
    let login = aeroguard_consensus::deployment::login_in(&logins, node)
        .unwrap_or_else(|| panic!("the services have no login for {node}"));
    ZkSasl::parse(&login).unwrap()
}

/// The node names the tests' rosters list (their own logins are [`own_login`]).
pub const ROSTER: [&str; 9] = ["a", "b", "c", "lead", "n1", "n2", "n3", "f0", "f1"];

/// A member's auth. A node of [`ROSTER`]: the cluster credential, its own SASL login and the roster. Any other
/// node (the conformance suite's `producer`, `reader`, ...): the cluster credential, a digest identity of its
/// own ([`own`]) and the shared SASL login, with no roster.
pub fn member(node: &str) -> ZkAuth {
    if !ROSTER.contains(&node) {
        return ZkAuth::member(cluster()).with_node(own(node)).with_sasl(gate());
    }
    ROSTER.iter().fold(
        ZkAuth::member(cluster()).with_own_sasl(own_login(node)),
        |auth, n| auth.with_member(n, ZkIdentity::sasl(n).unwrap()),
    )
}

/// A member with a digest identity of its own ([`own`]) in place of a SASL login, and a roster of digest
/// identities (for the inbox's digest mode).
pub fn digest_member(node: &str) -> ZkAuth {
    ROSTER.iter().fold(
        ZkAuth::member(cluster()).with_node(own(node)).with_sasl(gate()),
        |auth, n| auth.with_member(n, ZkIdentity::of(&own(n))),
    )
}

/// A raw client that logs in with `login` and adds the digest `credentials` (`user:password`).
///
/// It is the tests' own tool (to look at and attack what the coordinators wrote), so a login refused once under
/// load is tried again, twice at most, and said on stderr; a login that stays refused fails the test.
pub async fn raw_as(login: &ZkSasl, credentials: &[&str]) -> zookeeper_client::Client {
    let (user, password) = services_login(login);
    let mut tries = 0;
    loop {
        let connector = zookeeper_client::Client::connector()
            .with_session_timeout(Duration::from_secs(4))
            .with_sasl(zookeeper_client::SaslOptions::digest_md5(
                user.clone(),
                password.clone(),
            ));
        let connected = credentials
            .iter()
            .fold(connector, |c, credential| {
                c.with_auth("digest", credential.as_bytes())
            })
            .connect(&hosts())
            .await;
        match connected {
            Err(zookeeper_client::Error::AuthFailed) if tries < 2 => {
                tries += 1;
                eprintln!("raw client: the SASL login of {user} was refused; trying again ({tries} of 2)");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            other => return other.unwrap(),
        }
    }
}

/// The user and password of a login the services made.
fn services_login(login: &ZkSasl) -> (String, String) {
    let all = format!(
        "{} {}",
        services_credential("AEROGUARD_ZK_SASL"),
        services_credential("AEROGUARD_MEMBERS")
    );
    let found = aeroguard_consensus::deployment::login_in(&all, login.user()).unwrap();
    let (user, password) = found.split_once(':').unwrap();
    (user.to_string(), password.to_string())
}

/// Options with `node`'s credentials and a 2 s session.
pub fn options(node: &str) -> ZkOptions {
    ZkOptions::new(hosts())
        .with_session_timeout(Duration::from_secs(2))
        .with_auth(member(node))
}
