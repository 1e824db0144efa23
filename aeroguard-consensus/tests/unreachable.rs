//! A server that is down is named in the error: the addresses tried, and how long they were given.
#![cfg(all(feature = "zookeeper", feature = "redis"))]

use std::time::Duration;

use aeroguard_consensus::Error;
use aeroguard_consensus::redis::{RedisCoordinator, RedisOptions};
use aeroguard_consensus::zookeeper::{ZkCoordinator, ZkOptions};

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[tokio::test]
async fn a_zookeeper_ensemble_that_is_down_is_named() {
    let hosts = format!("127.0.0.1:{}", closed_port());
    let mut options = ZkOptions::new(hosts.clone()).with_session_timeout(Duration::from_secs(2));
    options.connection_timeout = Duration::from_millis(500);
    let err = ZkCoordinator::connect("n1".parse().unwrap(), options)
        .await
        .unwrap_err();
    match &err {
        Error::Unreachable {
            backend: "zookeeper",
            target,
            ..
        } => assert_eq!(target, &hosts),
        other => panic!("expected Unreachable, got {other:?}"),
    }
    assert!(err.is_retryable());
    assert!(err.to_string().contains(&hosts), "{err}");
}

#[tokio::test]
async fn a_redis_server_that_is_down_is_named_without_its_password() {
    let port = closed_port();
    let options = RedisOptions::direct(format!("redis://app:secret@127.0.0.1:{port}"));
    let err = RedisCoordinator::connect("n1".parse().unwrap(), options)
        .await
        .unwrap_err();
    match &err {
        Error::Unreachable {
            backend: "redis",
            target,
            ..
        } => {
            assert_eq!(target, &format!("redis://127.0.0.1:{port}"));
        }
        other => panic!("expected Unreachable, got {other:?}"),
    }
    assert!(!err.to_string().contains("secret"), "{err}");
}
