//! Redis ACL users on the servers and Sentinels of `scripts/services start` (no default user): no password, a
//! wrong password and a user without access to the library's prefix each get a typed error and write nothing;
//! the library's own user cannot run what its recipes do not need.
#![cfg(all(feature = "redis", feature = "live-services"))]

use std::time::{SystemTime, UNIX_EPOCH};

use aeroguard_consensus::redis::{RedisCoordinator, RedisCredentials, RedisOptions};
use aeroguard_consensus::{Coordinator, Error};

mod support;
use support::redis::{anonymous, credentials, master_addr, master_conn, master_conn_as, options, raw_client};

fn unique(base: &str) -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    format!("{base}-{}-{nanos}", std::process::id())
}

async fn refused(options: RedisOptions) -> Error {
    match RedisCoordinator::connect("intruder".parse().unwrap(), options).await {
        Ok(c) => {
            // Connecting may be lazy; the first write must then be refused.
            let key = unique("auth-probe");
            c.config()
                .set_raw(&key, b"1".to_vec(), aeroguard_consensus::Expect::Any)
                .await
                .unwrap_err()
        }
        Err(e) => e,
    }
}

/// Keys under the library's prefix whose name holds `marker` (read as the admin user).
async fn keys_with(marker: &str) -> Vec<String> {
    let mut admin = master_conn_as("AEROGUARD_REDIS_ADMIN").await;
    redis::cmd("KEYS")
        .arg(format!("aeroguard:*{marker}*"))
        .query_async(&mut admin)
        .await
        .unwrap()
}

#[tokio::test]
async fn no_password_and_a_wrong_password_are_unauthorized() {
    // Nothing at all: the Sentinels refuse to say where the master is.
    let err = refused(anonymous()).await;
    assert!(
        matches!(err, Error::Unauthorized { backend: "redis", .. }),
        "{err:?}"
    );
    // The Sentinels answer, the master refuses a client without credentials ...
    let sentinel_only = anonymous().with_sentinel_credentials(credentials("AEROGUARD_SENTINEL_AUTH"));
    let err = refused(sentinel_only.clone()).await;
    assert!(matches!(err, Error::Unauthorized { .. }), "{err:?}");
    assert!(err.to_string().contains("NOAUTH"), "{err}");
    // ... and the library's user with a wrong password.
    let user = credentials("AEROGUARD_REDIS_AUTH")
        .username()
        .unwrap()
        .to_string();
    let wrong = sentinel_only.with_credentials(RedisCredentials::new(&user, "wrong-password").unwrap());
    let err = refused(wrong).await;
    assert!(matches!(err, Error::Unauthorized { .. }), "{err:?}");
    assert!(
        !err.is_retryable(),
        "retrying the same credentials cannot help: {err:?}"
    );
    // A wrong Sentinel password.
    let wrong_sentinel =
        options().with_sentinel_credentials(RedisCredentials::new("client", "nope").unwrap());
    let err = refused(wrong_sentinel).await;
    assert!(matches!(err, Error::Unauthorized { .. }), "{err:?}");
}

#[tokio::test]
async fn a_user_without_the_prefix_is_forbidden_and_writes_nothing() {
    let marker = unique("outsider");
    let outsider = anonymous()
        .with_sentinel_credentials(credentials("AEROGUARD_SENTINEL_AUTH"))
        .with_credentials(credentials("AEROGUARD_REDIS_OUTSIDER"));
    match RedisCoordinator::connect("intruder".parse().unwrap(), outsider).await {
        Err(e) => assert!(matches!(e, Error::Forbidden { backend: "redis", .. }), "{e:?}"),
        Ok(c) => {
            let e = c
                .config()
                .set_raw(&marker, b"1".to_vec(), aeroguard_consensus::Expect::Any)
                .await;
            assert!(matches!(e, Err(Error::Forbidden { .. })), "{e:?}");
            let e = c.election(&marker).unwrap().campaign().await;
            assert!(matches!(e, Err(Error::Forbidden { .. })), "{e:?}");
        }
    }
    assert!(keys_with(&marker).await.is_empty());
}

#[tokio::test]
async fn the_library_user_may_do_its_recipes_and_nothing_else() {
    let marker = unique("member");
    let c = RedisCoordinator::connect("member".parse().unwrap(), options())
        .await
        .unwrap();
    c.config()
        .set_raw(&marker, b"1".to_vec(), aeroguard_consensus::Expect::Absent)
        .await
        .unwrap();
    assert_eq!(
        keys_with(&marker).await.len(),
        2,
        "the value and its change stream"
    );
    let mut conn = master_conn().await;
    for command in [
        vec!["FLUSHALL"],
        vec!["CONFIG", "SET", "min-replicas-to-write", "0"],
        vec!["KEYS", "*"],
    ] {
        let mut cmd = redis::cmd(command[0]);
        for a in &command[1..] {
            cmd.arg(*a);
        }
        let r: redis::RedisResult<redis::Value> = cmd.query_async(&mut conn).await;
        let e = r.expect_err("refused");
        assert_eq!(e.code(), Some("NOPERM"), "{command:?}: {e:?}");
    }
    // A key outside the prefix, even with an allowed command.
    let r: redis::RedisResult<()> = redis::cmd("SET")
        .arg("elsewhere")
        .arg("x")
        .query_async(&mut conn)
        .await;
    assert_eq!(r.unwrap_err().code(), Some("NOPERM"));
    assert_eq!(keys_with(&marker).await.len(), 2);
    c.close().await;
}

#[tokio::test]
async fn nobody_logs_in_as_default_yet_it_may_replay_what_the_recipes_logged() {
    let err = raw_client(&master_addr().await, "default:anything")
        .get_multiplexed_async_connection()
        .await
        .expect_err("default is off");
    assert_eq!(err.kind(), redis::ErrorKind::AuthenticationFailed, "{err:?}");
    // Redis replays its append-only file as `default` and re-checks each logged MULTI/EXEC (a script's writes)
    // against its rules: without them a restarted server dropped every script's writes.
    let mut admin = master_conn_as("AEROGUARD_REDIS_ADMIN").await;
    for command in [
        vec!["MULTI"],
        vec!["HSET", "aeroguard:cfg:probe", "v", "1"],
        vec!["XADD", "aeroguard:cfg:probe:changes", "*", "v", "1"],
        vec!["PEXPIRE", "aeroguard:el:probe", "1000"],
        vec!["EXEC"],
    ] {
        let mut dry = redis::cmd("ACL");
        dry.arg("DRYRUN").arg("default").arg(&command);
        let answer: String = dry.query_async(&mut admin).await.unwrap();
        assert_eq!(answer, "OK", "{command:?}");
    }
}

#[tokio::test]
async fn the_sentinel_client_user_can_only_ask_for_the_master() {
    let cred = support::services_credential("AEROGUARD_SENTINEL_AUTH");
    let client = support::redis::raw_client(&support::redis::sentinels()[0], &cred);
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    let (_, port): (String, u16) = redis::cmd("SENTINEL")
        .arg("get-master-addr-by-name")
        .arg("aeroguard")
        .query_async(&mut c)
        .await
        .unwrap();
    assert!(port >= 6379);
    for sub in [
        vec!["FAILOVER", "aeroguard"],
        vec!["REMOVE", "aeroguard"],
        vec!["SET", "aeroguard", "quorum", "1"],
    ] {
        let r: redis::RedisResult<redis::Value> = redis::cmd("SENTINEL").arg(&sub).query_async(&mut c).await;
        assert_eq!(r.expect_err("refused").code(), Some("NOPERM"), "SENTINEL {sub:?}");
    }
}

/// The test services speak TLS only: a client that does not, with the right credentials, reaches nothing and
/// writes nothing; with TLS but an untrusted CA, the same.
#[tokio::test]
async fn without_tls_or_with_an_untrusted_ca_nothing_is_reached() {
    let ca = support::redis::ca().expect("the test services run Redis with TLS (AEROGUARD_REDIS_CA)");
    let mut plain = options();
    plain.tls = None;
    let err = refused(plain.with_session_timeout(std::time::Duration::from_secs(2))).await;
    assert!(
        err.is_retryable() || matches!(err, Error::Backend { .. }),
        "{err:?}"
    );
    // A CA of its own (the services' server certificate is not a CA, and signed by another key).
    let server_cert = std::fs::read(std::path::Path::new(&ca).with_file_name("redis.crt")).unwrap();
    let untrusted = options().with_tls(aeroguard_consensus::redis::RedisTls::new(server_cert).unwrap());
    let err = refused(untrusted).await;
    assert!(
        !matches!(err, Error::Unauthorized { .. } | Error::Forbidden { .. }),
        "{err:?}"
    );
    let marker = unique("tls");
    assert!(keys_with(&marker).await.is_empty());
}
