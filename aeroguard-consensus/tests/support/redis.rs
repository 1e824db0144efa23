//! How the Redis tests reach the servers of `scripts/services start`: through its Sentinels
//! (`AEROGUARD_SENTINELS`), as the library's ACL user (`AEROGUARD_REDIS_AUTH`) and the Sentinels' client user
//! (`AEROGUARD_SENTINEL_AUTH`).
#![allow(dead_code)]

use std::time::Duration;

use aeroguard_consensus::redis::{RedisCredentials, RedisElectionAuthority, RedisOptions, RedisTls};

use super::{services_credential, services_credential_opt};

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

/// `options` logged in as node `node`'s own Redis user when it has one (it alone writes its inbox slots; the
/// library's user only reads them). That user may not write elections: it asks the election authority this
/// test process runs ([`ensure_authority`]).
pub fn as_member(node: &str, options: RedisOptions) -> RedisOptions {
    match super::member_credential(node) {
        Some(c) => {
            ensure_authority();
            options
                .with_credentials(RedisCredentials::parse(&c).unwrap())
                .with_election_authority()
        }
        None => options,
    }
}

/// Starts, once per test process, an election authority for every member login of the services, as their
/// authority user, on a thread and runtime of its own (each test's runtime ends with the test).
pub fn ensure_authority() {
    static STARTED: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    STARTED.get_or_init(|| {
        let members: Vec<aeroguard_core::NodeId> = services_credential("AEROGUARD_MEMBERS")
            .split_whitespace()
            .filter_map(|m| m.split_once(':').and_then(|(n, _)| n.parse().ok()))
            .collect();
        let options = self::options().with_credentials(credentials("AEROGUARD_REDIS_AUTHORITY"));
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let instance = format!("test-authority-{}", std::process::id()).parse().unwrap();
                match RedisElectionAuthority::start(instance, options, members).await {
                    Ok(authority) => {
                        tx.send(Ok(())).unwrap();
                        // Serves until the test process ends.
                        std::future::pending::<()>().await;
                        drop(authority);
                    }
                    Err(e) => tx.send(Err(e.to_string())).unwrap(),
                }
            });
        });
        rx.recv().unwrap().expect("the election authority starts");
    });
}

/// Sentinel options without any credentials (with TLS when the services run it).
pub fn anonymous() -> RedisOptions {
    let s = sentinels();
    let refs: Vec<&str> = s.iter().map(String::as_str).collect();
    let options = RedisOptions::sentinel(&refs, "aeroguard").with_session_timeout(Duration::from_secs(2));
    match ca() {
        Some(ca) => options.with_tls(RedisTls::from_ca_file(ca).unwrap()),
        None => options,
    }
}

/// The CA of the services' TLS certificates, when Redis runs with TLS.
pub fn ca() -> Option<String> {
    services_credential_opt("AEROGUARD_REDIS_CA").filter(|c| !c.is_empty())
}

/// A raw client for `host:port` as `user_password` (`user:password`), over TLS when the services use it.
pub fn raw_client(addr: &str, user_password: &str) -> redis::Client {
    let (user, password) = user_password.split_once(':').unwrap();
    match ca() {
        Some(ca) => redis::Client::build_with_tls(
            format!("rediss://{user}:{password}@{addr}"),
            redis::TlsCertificates {
                client_tls: None,
                root_cert: Some(std::fs::read(ca).unwrap()),
            },
        )
        .unwrap(),
        None => redis::Client::open(format!("redis://{user}:{password}@{addr}")).unwrap(),
    }
}

/// A connection to the current master as the services' user `name` (`AEROGUARD_REDIS_AUTH`,
/// `AEROGUARD_REDIS_ADMIN`, ...), found through the Sentinels.
pub async fn master_conn_as(name: &str) -> redis::aio::MultiplexedConnection {
    let master = raw_client(&master_addr().await, &services_credential(name));
    master.get_multiplexed_async_connection().await.unwrap()
}

/// The current master's `host:port`, as the Sentinels name it.
pub async fn master_addr() -> String {
    let sentinel_auth = services_credential("AEROGUARD_SENTINEL_AUTH");
    for s in sentinels() {
        let client = raw_client(&s, &sentinel_auth);
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
        return format!("{host}:{port}");
    }
    panic!("no Sentinel named the master: run `scripts/services start`");
}

/// A connection to the current master as the library's user.
pub async fn master_conn() -> redis::aio::MultiplexedConnection {
    master_conn_as("AEROGUARD_REDIS_AUTH").await
}
