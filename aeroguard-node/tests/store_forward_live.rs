//! Store-and-forward against the Redis of `scripts/services start`: the link to the master cut for a while
//! (through a proxy this test owns) while appends keep coming, and a forwarder killed with SIGKILL halfway
//! through an outbox. Either way every point reaches the history exactly once, in order.
#![cfg(feature = "live-services")]

use std::io::BufRead;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aeroguard_consensus::FencingToken;
use aeroguard_consensus::deployment::redis_auth;
use aeroguard_consensus::history::{HistoryStore, Point, Writer};
use aeroguard_consensus::outbox::{Append, Outbox, OutboxLimits, Outcome};
use aeroguard_consensus::redis::{RedisCoordinator, RedisOptions};
use aeroguard_core::Timestamp;
use aeroguard_node::{redis_history, unique_run};
use aeroguard_testkit::netcut::LinkProxy;

use aeroguard_testkit::raw as support;
use support::master_port;

fn append(series: &str, i: u64) -> Append {
    Append {
        series: series.into(),
        writer: Writer::new(FencingToken(1), "n1"),
        points: vec![Point::new(
            Timestamp::from_millis(1_700_000_000_000 + i as i64),
            i as f64,
        )],
    }
}

/// The values stored in `series`, oldest first, read through the Sentinels.
async fn stored(series: &str) -> Vec<u64> {
    let reader = redis_history("sf-reader").await.unwrap();
    reader
        .range(
            series,
            Timestamp::from_millis(0),
            Timestamp::from_millis(i64::MAX / 2),
        )
        .await
        .unwrap()
        .iter()
        .map(|p| p.value as u64)
        .collect()
}

fn outbox_path(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("aeroguard-sf-live-{}", unique_run(name)));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("n1-history.redb")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_unreachable_for_a_while_loses_and_doubles_nothing() {
    let link = LinkProxy::start(&format!("127.0.0.1:{}", master_port()))
        .await
        .unwrap();
    let options = RedisOptions::direct(format!("redis://{}", link.addr()))
        .with_session_timeout(Duration::from_secs(10));
    let coord = RedisCoordinator::connect("sf-writer".parse().unwrap(), redis_auth(options).unwrap())
        .await
        .unwrap();
    let history = coord.history();
    let series = unique_run("sf-outage");
    let path = outbox_path("outage");
    let outbox: Outbox<Append> = Outbox::open(&path, OutboxLimits::default()).unwrap();
    let retries = AtomicU64::new(0);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let n = 300u64;
    let forwarding = async {
        let deliver = |a: &Append| {
            let a = a.clone();
            let (history, retries) = (&history, &retries);
            async move {
                let outcome = Append::outcome(history.append(&a.series, &a.writer, &a.points).await);
                if matches!(outcome, Outcome::Retry(_)) {
                    retries.fetch_add(1, Ordering::Relaxed);
                }
                outcome
            }
        };
        let stop = async {
            let _ = stop_rx.await;
        };
        outbox
            .run(
                deliver,
                Duration::from_millis(50),
                Duration::from_millis(400),
                stop,
            )
            .await
            .unwrap();
    };
    let producing = async {
        for i in 0..n {
            if i == 80 {
                link.cut();
            }
            if i == 200 {
                link.restore();
            }
            outbox.push(&append(&series, i)).unwrap();
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while outbox.stats().queued > 0 {
            assert!(tokio::time::Instant::now() < deadline, "{:?}", outbox.stats());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let _ = stop_tx.send(());
    };
    tokio::join!(forwarding, producing);
    let stats = outbox.stats();
    assert_eq!((stats.sent, stats.refused, stats.dropped), (n, 0, 0), "{stats:?}");
    assert!(
        retries.load(Ordering::Relaxed) > 0,
        "the cut link made the history unreachable for a while"
    );
    assert_eq!(
        stored(&series).await,
        (0..n).collect::<Vec<_>>(),
        "every point once, in order"
    );
    drop(outbox);
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forwarder_killed_halfway_loses_and_doubles_nothing() {
    let series = unique_run("sf-kill");
    let path = outbox_path("kill");
    let n = 3_000u64;
    {
        let outbox: Outbox<Append> = Outbox::open(&path, OutboxLimits::default()).unwrap();
        let all: Vec<Append> = (0..n).map(|i| append(&series, i)).collect();
        outbox.push_all(&all).unwrap();
    }
    let drain = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_aeroguard-node"))
            .args(["drain", "--outbox"])
            .arg(&path)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    // The first drain is killed (SIGKILL) as soon as it has forwarded two batches: each batch's removals are
    // synced before it is reported, so what was reported is not sent again.
    let mut first = drain();
    let mut lines = std::io::BufReader::new(first.stdout.take().unwrap()).lines();
    for _ in 0..2 {
        let line = lines.next().unwrap().unwrap();
        assert!(
            matches!(
                aeroguard_node::CommandEvent::parse(&line),
                Some(aeroguard_node::CommandEvent::Forwarded { .. })
            ),
            "{line}"
        );
    }
    first.kill().unwrap();
    first.wait().unwrap();
    let halfway = stored(&series).await.len() as u64;
    assert!(
        halfway > 0 && halfway < n,
        "killed during forwarding: {halfway} of {n} stored"
    );
    // A second drain forwards the rest.
    let second = drain().wait_with_output().unwrap();
    let out = String::from_utf8_lossy(&second.stdout);
    assert!(second.status.success(), "{out}");
    let last = out.lines().last().unwrap();
    let Some(aeroguard_node::CommandEvent::Drained { sent, .. }) = aeroguard_node::CommandEvent::parse(last)
    else {
        panic!("the drain's last line is not `drained`: {last}");
    };
    assert!(
        sent <= n - halfway + 64,
        "the second drain sent only what was left (and a batch at most again): {last}"
    );
    assert_eq!(
        stored(&series).await,
        (0..n).collect::<Vec<_>>(),
        "every point once, in order"
    );
    let outbox: Outbox<Append> = Outbox::open(&path, OutboxLimits::default()).unwrap();
    assert_eq!(outbox.stats().queued, 0);
    drop(outbox);
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}
