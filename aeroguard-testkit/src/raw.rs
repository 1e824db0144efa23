//! Raw connections to the test services' Redis servers and Sentinels, for tests that check the servers
//! themselves.

use std::time::Duration;

/// The Sentinels of `scripts/services start`.
pub const SENTINELS: [&str; 3] = ["127.0.0.1:26379", "127.0.0.1:26380", "127.0.0.1:26381"];

/// A connection to `addr` as the services' user `credential` (`AEROGUARD_SENTINEL_AUTH`, ...), over TLS when
/// the services run it.
pub fn raw(addr: &str, credential: &str) -> redis::Connection {
    use aeroguard_consensus::deployment::services_credential;
    let auth = services_credential(credential).expect("the services' credentials");
    let (user, password) = auth.split_once(':').unwrap();
    let client = match services_credential("AEROGUARD_REDIS_CA") {
        Ok(ca) if !ca.is_empty() => redis::Client::build_with_tls(
            format!("rediss://{user}:{password}@{addr}"),
            redis::TlsCertificates {
                client_tls: None,
                root_cert: Some(std::fs::read(ca).unwrap()),
            },
        ),
        _ => redis::Client::open(format!("redis://{user}:{password}@{addr}")),
    };
    client
        .unwrap()
        .get_connection_with_timeout(Duration::from_secs(10))
        .expect("reachable")
}

/// The master's port as Sentinel reports it.
pub fn master_port() -> u16 {
    let mut c = raw(SENTINELS[0], "AEROGUARD_SENTINEL_AUTH");
    let (_, port): (String, u16) = redis::cmd("SENTINEL")
        .arg("get-master-addr-by-name")
        .arg("aeroguard")
        .query(&mut c)
        .expect("Sentinel names the master");
    port
}
