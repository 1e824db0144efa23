//! Sentinel answers, refusals for now, and a caller left unpolled.
use std::future::Future;
use std::task::Poll;

use super::*;
use crate::redis::open::Sighting;

fn direct(url: String) -> crate::redis::RedisOptions {
    let mut o = crate::redis::RedisOptions::direct(url);
    o.operation_timeout = Duration::from_millis(200);
    o
}

/// The newest epoch wins, and a master Sentinel holds down is no answer.
#[test]
fn sightings_parse_from_sentinel_master() {
    let reply = |flags: &str, epoch: &str| {
        [
            ("name", "m"),
            ("ip", "127.0.0.1"),
            ("port", "6380"),
            ("flags", flags),
            ("config-epoch", epoch),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect::<std::collections::HashMap<_, _>>()
    };
    assert_eq!(
        Sighting::parse(&reply("master", "7")),
        Some(Sighting {
            ip: "127.0.0.1".into(),
            port: 6380,
            epoch: 7
        })
    );
    assert_eq!(Sighting::parse(&reply("master,s_down", "7")), None);
    assert_eq!(Sighting::parse(&reply("master,s_down,o_down", "7")), None);
    assert_eq!(Sighting::parse(&reply("master", "x")), None);
}

/// `OOM` and `BUSY` replies are refusals for now: a retryable `Overloaded`, not a failure that ends a node
/// (they used to be `Backend` errors, which no caller retries).
#[test]
fn oom_and_busy_are_refusals_for_now() {
    let err = |reply: &[u8]| {
        redis::parse_redis_value(reply)
            .and_then(redis::Value::extract_error)
            .expect_err("a server error")
    };
    let oom = err(b"-OOM command not allowed when used memory > 'maxmemory'.\r\n");
    assert!(transient(&oom));
    assert!(transient(&err(b"-BUSY Redis is busy running a script.\r\n")));
    assert!(!transient(&err(b"-ERR unknown command\r\n")));
    let pool = Pool::new(&direct("redis://127.0.0.1:1".into())).expect("a valid target");
    let mapped = pool.fail(oom, "queue put");
    assert!(
        matches!(
            mapped,
            Error::Overloaded {
                operation: "queue put",
                ..
            }
        ),
        "{mapped:?}"
    );
    assert!(mapped.is_retryable());
}

/// A caller that starts a reconnect and is then left unpolled does not hold up the next caller: the
/// reconnect runs in its own task and both get its outcome. The server here accepts connections and
/// never answers (a listener that is never accepted from), so opening ends by its time limit.
#[tokio::test]
async fn an_unpolled_caller_does_not_hold_up_the_next() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let url = format!("redis://{}", silent.local_addr().expect("its address"));
    let pool = Pool::new(&direct(url)).expect("a valid target");
    let mut first = Box::pin(pool.conn("first"));
    std::future::poll_fn(|cx| {
        assert!(first.as_mut().poll(cx).is_pending(), "nothing answers yet");
        Poll::Ready(())
    })
    .await;
    let second = tokio::time::timeout(Duration::from_secs(10), pool.conn("second")).await;
    match second {
        Ok(Err(Error::ConnectionLoss { operation, .. })) => assert_eq!(operation, "second"),
        other => panic!("the second caller should fail on its own, got {other:?}"),
    }
    drop(first);
}
