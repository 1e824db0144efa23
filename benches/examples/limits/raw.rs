//! The servers' raw limits: the same work as the project does, in raw commands, on the same servers.

use std::time::{Duration, Instant};

use aeroguard_consensus::deployment::{SENTINELS, ZK_HOSTS, services_credential};
use aeroguard_testkit::bench::percentile;
use zookeeper_client as zk;

/// Commands one queue item needs on Redis: `XADD`, `XACK`, `XDEL` (`XREADGROUP` is shared by a batch).
pub const REDIS_COMMANDS_PER_ITEM: f64 = 3.0;
/// Writes one queue item needs on ZooKeeper: create the item, create the claim, delete both (one `multi`).
pub const ZK_WRITES_PER_ITEM: f64 = 4.0;
/// Points per history append (and members per raw `ZADD`).
pub const BATCH: usize = 500;

pub async fn redis_master() -> redis::aio::MultiplexedConnection {
    let client = |addr: &str, credential: &str| {
        let auth = services_credential(credential).expect("the services' credentials");
        let (user, password) = auth.split_once(':').unwrap_or(("", ""));
        match services_credential("AEROGUARD_REDIS_CA") {
            Ok(ca) if !ca.is_empty() => redis::Client::build_with_tls(
                format!("rediss://{user}:{password}@{addr}"),
                redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(std::fs::read(ca).expect("the services' CA")),
                },
            ),
            _ => redis::Client::open(format!("redis://{user}:{password}@{addr}")),
        }
        .expect("a Redis URL")
    };
    let mut sentinel = client(SENTINELS[0], "AEROGUARD_SENTINEL_AUTH")
        .get_multiplexed_async_connection()
        .await
        .expect("Sentinel reachable: run `scripts/services start`");
    let (host, port): (String, u16) = redis::cmd("SENTINEL")
        .arg("get-master-addr-by-name")
        .arg("aeroguard")
        .query_async(&mut sentinel)
        .await
        .expect("Sentinel names the master");
    client(&format!("{host}:{port}"), "AEROGUARD_REDIS_AUTH")
        .get_multiplexed_async_connection()
        .await
        .expect("the master reachable")
}

/// `n` small entries `XADD`ed to `key`, 500 per pipeline, one pipeline at a time (as the queue puts).
pub async fn xadd_pipelined(c: &mut redis::aio::MultiplexedConnection, key: &str, n: u32) {
    for chunk in (0..n).collect::<Vec<_>>().chunks(BATCH) {
        let mut pipe = redis::pipe();
        for i in chunk {
            pipe.cmd("XADD")
                .arg(key)
                .arg("*")
                .arg("d")
                .arg(&i.to_be_bytes()[..])
                .ignore();
        }
        pipe.query_async::<()>(c).await.expect("XADD");
    }
}

/// Pipelined `XADD` of `n` small entries, 500 per pipeline, one pipeline at a time (as the queue puts).
pub async fn xadd_limit(c: &mut redis::aio::MultiplexedConnection, key: &str, n: u32) -> f64 {
    let start = Instant::now();
    xadd_pipelined(c, key, n).await;
    let rate = f64::from(n) / start.elapsed().as_secs_f64();
    let _: () = redis::cmd("DEL").arg(key).query_async(c).await.expect("DEL");
    rate
}

/// The queue's own commands, raw: pipelined `XADD` of `n` entries as [`xadd_limit`], then `XREADGROUP` of 256 at
/// a time, each batch's `XACK` and `XDEL` in one pipeline (no claims checked, no scripts, no reclaiming), items
/// per second. `XREADGROUP` sends the replicas one `XCLAIM` per entry it delivers, so an item costs the
/// replication stream two entries where a bare `XADD` costs one.
pub async fn stream_pattern_limit(c: &mut redis::aio::MultiplexedConnection, key: &str, n: u32) -> f64 {
    let _: () = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(key)
        .arg("g")
        .arg("0")
        .arg("MKSTREAM")
        .query_async(c)
        .await
        .expect("XGROUP CREATE");
    let start = Instant::now();
    xadd_pipelined(c, key, n).await;
    let mut done = 0;
    while done < n {
        let reply: redis::streams::StreamReadReply = redis::cmd("XREADGROUP")
            .arg("GROUP")
            .arg("g")
            .arg("c")
            .arg("COUNT")
            .arg(256)
            .arg("STREAMS")
            .arg(key)
            .arg(">")
            .query_async(c)
            .await
            .expect("XREADGROUP");
        let ids: Vec<String> = reply.keys.into_iter().flat_map(|k| k.ids).map(|e| e.id).collect();
        if ids.is_empty() {
            break;
        }
        done += ids.len() as u32;
        let mut pipe = redis::pipe();
        pipe.cmd("XACK").arg(key).arg("g").arg(&ids).ignore();
        pipe.cmd("XDEL").arg(key).arg(&ids).ignore();
        pipe.query_async::<()>(c).await.expect("XACK, XDEL");
    }
    let rate = f64::from(done) / start.elapsed().as_secs_f64();
    let _: () = redis::cmd("DEL").arg(key).query_async(c).await.expect("DEL");
    rate
}

/// `ZADD` of `points` members, 500 per command, eight commands in flight (as the history appends).
pub async fn zadd_limit(c: &redis::aio::MultiplexedConnection, key: &str, points: usize) -> f64 {
    let start = Instant::now();
    let mut in_flight = tokio::task::JoinSet::new();
    for b in 0..points.div_ceil(BATCH) {
        if in_flight.len() >= 8 {
            in_flight.join_next().await.expect("a task").expect("joined");
        }
        let (mut c, key) = (c.clone(), key.to_string());
        in_flight.spawn(async move {
            let mut cmd = redis::cmd("ZADD");
            cmd.arg(&key);
            for i in b * BATCH..((b + 1) * BATCH).min(points) {
                cmd.arg(i).arg(format!("{{\"at\":{i},\"value\":{}.5}}", i % 1000));
            }
            cmd.query_async::<()>(&mut c).await.expect("ZADD");
        });
    }
    while let Some(r) = in_flight.join_next().await {
        r.expect("joined");
    }
    let rate = points as f64 / start.elapsed().as_secs_f64();
    let _: () = redis::cmd("DEL")
        .arg(key)
        .query_async(&mut c.clone())
        .await
        .expect("DEL");
    rate
}

/// A raw client as the cluster: its digest credential, and the SASL login that opens a session (the test
/// ensemble admits SASL logins only).
pub async fn zk_client() -> zk::Client {
    let mut connector = zk::Client::connector();
    let auth = services_credential("AEROGUARD_ZK_AUTH").unwrap_or_default();
    if !auth.is_empty() {
        connector = connector.with_auth("digest", auth.as_bytes());
    }
    let login = services_credential("AEROGUARD_ZK_SASL").unwrap_or_default();
    if let Some((user, password)) = login.split_once(':') {
        connector = connector.with_sasl(zk::SaslOptions::digest_md5(
            user.to_string(),
            password.to_string(),
        ));
    }
    connector
        .with_session_timeout(Duration::from_secs(10))
        .with_server_version(3, 8, 0)
        .connect(ZK_HOSTS)
        .await
        .expect("ZooKeeper reachable: run `scripts/services start`")
}

/// Pipelined creates of `n` small persistent sequential znodes (1,000 requests in flight), then one write
/// round-trip at a time (create + delete, `trials` times): (creates per s, round-trip p50, p99).
pub async fn zk_limits(
    client: &zk::Client,
    parent: &str,
    n: u32,
    trials: usize,
) -> (f64, Duration, Duration) {
    let opts = zk::CreateMode::Persistent.with_acls(zk::Acls::creator_all());
    client
        .create(parent, b"", &opts)
        .await
        .expect("create the parent");
    let seq = zk::CreateMode::PersistentSequential.with_acls(zk::Acls::creator_all());
    let prefix = format!("{parent}/i-");
    let start = Instant::now();
    let mut created = Vec::with_capacity(n as usize);
    for chunk in (0..n).collect::<Vec<_>>().chunks(1000) {
        let pending: Vec<_> = chunk
            .iter()
            .map(|i| client.create(&prefix, &i.to_be_bytes(), &seq))
            .collect();
        for p in pending {
            created.push(p.await.expect("create").1);
        }
    }
    let rate = f64::from(n) / start.elapsed().as_secs_f64();
    let mut rtt = Vec::with_capacity(trials);
    let one = format!("{parent}/one");
    for _ in 0..trials {
        let t = Instant::now();
        client.create(&one, b"", &opts).await.expect("create");
        rtt.push(t.elapsed());
        client.delete(&one, None).await.expect("delete");
    }
    rtt.sort();
    for chunk in created.chunks(1000) {
        let pending: Vec<_> = chunk
            .iter()
            .map(|s| client.delete(&format!("{prefix}{s}"), None))
            .collect();
        for p in pending {
            p.await.expect("delete");
        }
    }
    client.delete(parent, None).await.expect("delete the parent");
    (rate, percentile(&rtt, 0.5), percentile(&rtt, 0.99))
}
