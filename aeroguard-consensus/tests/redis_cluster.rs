//! The fenced history on the Redis Cluster of `scripts/services start` (three masters with a replica each,
//! 127.0.0.1:7001-7006, TLS and ACL users like the Sentinel-managed servers; `AEROGUARD_REDIS_CLUSTER` lists
//! the nodes): the history checks of the one-master tests, each series in one slot and the series over every
//! master, credentials and ACLs, and a master failover inside the cluster.
#![cfg(all(feature = "redis-cluster", feature = "live-services"))]

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aeroguard_consensus::history::{HistoryStore, Point, Writer};
use aeroguard_consensus::redis::{
    Durability, RedisClusterHistory, RedisCoordinator, RedisCredentials, RedisOptions, RedisTls,
};
use aeroguard_consensus::{Error, FencingToken};
use aeroguard_core::Timestamp;

mod support;
use support::history::{self as checks, p};
use support::redis::{ca, credentials, raw_client};
use support::{services_credential, services_credential_opt};

/// The failover test takes this for writing: the others hold it for reading, so no node dies under them.
static FAILOVER: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

fn run_id() -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    format!("{}-{nanos}", std::process::id())
}

fn nodes() -> Vec<String> {
    services_credential_opt("AEROGUARD_REDIS_CLUSTER")
        .unwrap_or_else(|| {
            (7001..=7006)
                .map(|p| format!("127.0.0.1:{p}"))
                .collect::<Vec<_>>()
                .join(",")
        })
        .split(',')
        .map(str::to_string)
        .collect()
}

/// Cluster options as `user` (a services credential), with TLS when the services run it.
fn options_as(user: &str) -> RedisOptions {
    let nodes = nodes();
    let refs: Vec<&str> = nodes.iter().map(String::as_str).collect();
    let mut options = RedisOptions::cluster(&refs).with_credentials(credentials(user));
    options.operation_timeout = Duration::from_secs(2);
    match ca() {
        Some(ca) => options.with_tls(RedisTls::from_ca_file(ca).unwrap()),
        None => options,
    }
}

async fn store(durability: Durability) -> RedisClusterHistory {
    RedisClusterHistory::connect(options_as("AEROGUARD_REDIS_AUTH").with_durability(durability))
        .await
        .unwrap_or_else(|e| {
            panic!(
                "Redis Cluster {:?} unreachable ({e}): run `scripts/services start`",
                nodes()
            )
        })
}

/// An admin command on the first node that answers.
async fn admin(args: &[&str]) -> redis::Value {
    let auth = services_credential("AEROGUARD_REDIS_ADMIN");
    for node in nodes() {
        let Ok(mut c) = raw_client(&node, &auth).get_multiplexed_async_connection().await else {
            continue;
        };
        let mut cmd = redis::cmd(args[0]);
        for a in &args[1..] {
            cmd.arg(*a);
        }
        if let Ok(v) = cmd.query_async(&mut c).await {
            return v;
        }
    }
    panic!("no cluster node answered {args:?}");
}

async fn slot_of(key: &str) -> u16 {
    let v = admin(&["CLUSTER", "KEYSLOT", key]).await;
    redis::from_redis_value::<u16>(v).unwrap()
}

/// The master serving each slot range, as `(first, last) -> address`, from `CLUSTER NODES` (failed nodes left
/// out).
async fn masters() -> BTreeMap<(u16, u16), String> {
    let text: String = redis::from_redis_value(admin(&["CLUSTER", "NODES"]).await).unwrap();
    let mut map = BTreeMap::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 9 || !f[2].contains("master") || f[2].contains("fail") {
            continue;
        }
        let addr = f[1].split('@').next().unwrap().to_string();
        for range in &f[8..] {
            if range.starts_with('[') {
                continue; // a slot in migration
            }
            let (a, b) = range.split_once('-').unwrap_or((range, range));
            map.insert((a.parse().unwrap(), b.parse().unwrap()), addr.clone());
        }
    }
    map
}

async fn master_of(slot: u16) -> Option<String> {
    masters()
        .await
        .into_iter()
        .find(|((a, b), _)| (*a..=*b).contains(&slot))
        .map(|(_, addr)| addr)
}

fn services(args: &[&str]) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/services");
    let status = std::process::Command::new("bash")
        .arg(script)
        .args(args)
        .status()
        .expect("run scripts/services");
    assert!(status.success(), "scripts/services {args:?} failed");
}

#[tokio::test]
async fn the_history_checks_pass_on_the_cluster() {
    let _shared = FAILOVER.read().await;
    let store = store(Durability::Master).await;
    let run = run_id();
    checks::append_range_fence_and_compaction(&store, &format!("c-pump-{run}")).await;
    checks::compaction_in_bounded_steps(&store, &format!("c-steps-{run}")).await;
    checks::latest_reads_the_newest(&store, &format!("c-latest-{run}")).await;
}

/// Each series' points, fence and buckets share one slot (so its scripts are atomic there), and 30 series
/// spread over all three masters.
#[tokio::test]
async fn each_series_lives_in_one_slot_and_the_series_spread_over_every_master() {
    let _shared = FAILOVER.read().await;
    let store = store(Durability::Master).await;
    let run = run_id();
    let writer = Writer::new(FencingToken(3), "spreader");
    let mut served_by = BTreeSet::new();
    for i in 0..30 {
        let series = format!("spread-{run}-{i}");
        store
            .append(&series, &writer, &[p(1_000, i as f64), p(2_000, 1.0)])
            .await
            .unwrap();
        let base = format!("aeroguard:hist:{{{series}}}");
        let slot = slot_of(&format!("{base}:points")).await;
        for suffix in [":fence", ":buckets"] {
            assert_eq!(
                slot_of(&format!("{base}{suffix}")).await,
                slot,
                "{series}{suffix}"
            );
        }
        served_by.insert(master_of(slot).await.expect("a master serves the slot"));
        let back = store
            .range(&series, Timestamp::from_millis(0), Timestamp::from_millis(5_000))
            .await
            .unwrap();
        assert_eq!(back.iter().map(|p| p.value).collect::<Vec<_>>(), [i as f64, 1.0]);
        assert_eq!(store.fence(&series).await.unwrap(), Some(FencingToken(3)));
    }
    assert_eq!(
        served_by.len(),
        3,
        "30 series should reach all three masters: {served_by:?}"
    );
}

#[tokio::test]
async fn credentials_and_acls_hold_on_the_cluster() {
    let _shared = FAILOVER.read().await;
    let user = services_credential("AEROGUARD_REDIS_AUTH");
    let (name, _) = user.split_once(':').unwrap();
    let wrong = options_as("AEROGUARD_REDIS_AUTH")
        .with_credentials(RedisCredentials::new(name, "not-the-password").unwrap());
    match RedisClusterHistory::connect(wrong).await {
        Err(Error::Unauthorized { .. }) => {}
        other => panic!("a wrong password must be Unauthorized, got {other:?}"),
    }
    // The outsider may run the same commands on keys other:* only: the history's keys are refused.
    let outsider = RedisClusterHistory::connect(options_as("AEROGUARD_REDIS_OUTSIDER"))
        .await
        .unwrap();
    let series = format!("acl-{}", run_id());
    match outsider
        .append(&series, &Writer::new(FencingToken(1), "x"), &[p(1, 1.0)])
        .await
    {
        Err(Error::Forbidden { .. }) => {}
        other => panic!("keys outside the user's pattern must be Forbidden, got {other:?}"),
    }
    let store = store(Durability::Master).await;
    assert_eq!(
        store.fence(&series).await.unwrap(),
        None,
        "the refused append wrote nothing"
    );
    // The coordination recipes need one master; the cluster history needs a cluster.
    match RedisCoordinator::connect("n1".parse().unwrap(), options_as("AEROGUARD_REDIS_AUTH")).await {
        Err(Error::InvalidParameter { name: "target", .. }) => {}
        other => panic!(
            "a coordinator on a cluster must be refused, got {:?}",
            other.map(|_| ())
        ),
    }
    match RedisClusterHistory::connect(RedisOptions::sentinel(&["127.0.0.1:26379"], "aeroguard")).await {
        Err(Error::InvalidParameter { name: "target", .. }) => {}
        other => panic!("a Sentinel target must be refused, got {other:?}"),
    }
}

/// Appends until one is taken, up to `limit`; the errors seen meanwhile.
async fn append_until_taken(
    store: &RedisClusterHistory,
    series: &str,
    writer: &Writer,
    points: &[Point],
    limit: Duration,
) -> Vec<String> {
    let start = Instant::now();
    let mut seen = Vec::new();
    loop {
        match store.append(series, writer, points).await {
            Ok(()) => return seen,
            Err(e @ (Error::ConnectionLoss { .. } | Error::NotReplicated { .. })) => {
                seen.push(format!("{e}"))
            }
            Err(e) => panic!("only retryable errors while failing over, got {e}"),
        }
        assert!(
            start.elapsed() < limit,
            "no append taken within {limit:?}: {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The master of a series' slot is killed (SIGKILL). Its replica is promoted, the client follows the new slot
/// map, the acknowledged points (acknowledged by a replica too: `Durability::Replicas`) and the fence are all
/// there, a stale token is still refused, and once the old master is back (as the new master's replica) the
/// writer appends again.
#[tokio::test]
async fn a_master_failover_loses_no_acknowledged_point_and_keeps_the_fence() {
    let _alone = FAILOVER.write().await;
    let store = store(Durability::Replicas {
        count: 1,
        timeout: Duration::from_secs(1),
    })
    .await;
    let series = format!("failover-{}", run_id());
    let writer = Writer::new(FencingToken(7), "leader");
    let acked: Vec<Point> = (0..200).map(|i| p(i, i as f64)).collect();
    for chunk in acked.chunks(20) {
        store.append(&series, &writer, chunk).await.unwrap();
    }
    let slot = slot_of(&format!("aeroguard:hist:{{{series}}}:points")).await;
    let old = master_of(slot).await.unwrap();
    let node = format!(
        "rc{}",
        old.rsplit(':').next().unwrap().parse::<u16>().unwrap() - 7000
    );
    services(&["kill", &node]);
    let killed = Instant::now();
    let new = loop {
        match master_of(slot).await {
            Some(addr) if addr != old => break addr,
            _ => {}
        }
        assert!(
            killed.elapsed() < Duration::from_secs(20),
            "no replica promoted for slot {slot}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    eprintln!(
        "slot {slot}: {old} killed, {new} promoted after {:?}",
        killed.elapsed()
    );

    let back = store
        .range(&series, Timestamp::from_millis(0), Timestamp::from_millis(1_000))
        .await
        .unwrap();
    assert_eq!(
        back, acked,
        "every acknowledged point survived the failover, in order"
    );
    assert_eq!(store.fence(&series).await.unwrap(), Some(FencingToken(7)));
    match store
        .append(&series, &Writer::new(FencingToken(6), "stale"), &[p(500, -1.0)])
        .await
    {
        Err(Error::Fenced {
            token: 6, highest: 7, ..
        }) => {}
        other => panic!("a stale token must stay fenced after the failover, got {other:?}"),
    }

    // The promoted replica has no replica of its own until the old master returns: replicated writes wait.
    services(&["restart", &node]);
    let seen = append_until_taken(
        &store,
        &series,
        &writer,
        &[p(300, 300.0)],
        Duration::from_secs(30),
    )
    .await;
    eprintln!("errors while the old master came back: {seen:?}");
    let all = store
        .range(&series, Timestamp::from_millis(0), Timestamp::from_millis(1_000))
        .await
        .unwrap();
    assert_eq!(all.len(), 201);
    assert!(!all.iter().any(|p| p.value < 0.0), "the stale write left nothing");
    assert_eq!(
        master_of(slot).await.as_deref(),
        Some(new.as_str()),
        "the promoted replica stays master"
    );
}
