//! History throughput on the Redis Cluster of `scripts/services start`, with the series on one master or
//! spread over all three, beside the raw `ZADD` of the same shape on the same masters.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use aeroguard_consensus::FencingToken;
use aeroguard_consensus::history::{HistoryStore, Point, Writer};
use aeroguard_consensus::redis::{RedisClusterHistory, RedisOptions};
use aeroguard_core::Timestamp;
use redis::cluster_async::ClusterConnection;

use aeroguard_consensus::deployment::{redis_auth, services_credential};

/// Batches in flight: eight per master, the one-master figure's eight times three.
pub const IN_FLIGHT: usize = 24;
/// Points per append (members per raw `ZADD`).
pub const BATCH: usize = 500;

/// The cluster's seed nodes (`AEROGUARD_REDIS_CLUSTER`).
pub fn nodes() -> Vec<String> {
    services_credential("AEROGUARD_REDIS_CLUSTER")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003".into())
        .split(',')
        .map(str::to_string)
        .collect()
}

/// The cluster's options with the services' library user and TLS.
pub fn options() -> RedisOptions {
    let nodes = nodes();
    let refs: Vec<&str> = nodes.iter().map(String::as_str).collect();
    redis_auth(RedisOptions::cluster(&refs)).unwrap_or_else(|e| panic!("{e}"))
}

/// Redis Cluster's hash slot of a hash tag: CRC16 (XMODEM) modulo 16384.
pub fn slot(tag: &str) -> u16 {
    let mut crc = 0u16;
    for &b in tag.as_bytes() {
        crc ^= u16::from(b) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc % 16384
}

/// A raw cluster connection as the library's user.
pub async fn raw() -> ClusterConnection {
    let o = options();
    let user = services_credential("AEROGUARD_REDIS_AUTH").unwrap_or_default();
    let (name, password) = user.split_once(':').unwrap_or(("", ""));
    let scheme = if o.tls.is_some() { "rediss" } else { "redis" };
    let urls: Vec<String> = nodes()
        .iter()
        .map(|n| format!("{scheme}://{name}:{password}@{n}"))
        .collect();
    let mut builder = redis::cluster::ClusterClientBuilder::new(urls);
    if let Ok(ca) = services_credential("AEROGUARD_REDIS_CA")
        && !ca.is_empty()
    {
        builder = builder.certs(redis::TlsCertificates {
            client_tls: None,
            root_cert: Some(std::fs::read(ca).expect("the services' CA")),
        });
    }
    builder
        .build()
        .expect("cluster client")
        .get_async_connection()
        .await
        .expect("the Redis Cluster reachable: run `scripts/services start`")
}

/// Which master serves each slot range (`CLUSTER SLOTS`): `first slot -> (last slot, master address)`.
pub async fn slot_map(c: &mut ClusterConnection) -> BTreeMap<u16, (u16, String)> {
    // Each entry: first slot, last slot, the master [host, port, id, ...], then its replicas.
    let ranges: Vec<Vec<redis::Value>> = redis::cmd("CLUSTER")
        .arg("SLOTS")
        .query_async(c)
        .await
        .expect("CLUSTER SLOTS");
    ranges
        .into_iter()
        .map(|r| {
            let first: u16 = redis::from_redis_value_ref(&r[0]).expect("a slot");
            let last: u16 = redis::from_redis_value_ref(&r[1]).expect("a slot");
            let master: Vec<redis::Value> = redis::from_redis_value_ref(&r[2]).expect("a master");
            let host: String = redis::from_redis_value_ref(&master[0]).expect("its host");
            let port: u16 = redis::from_redis_value_ref(&master[1]).expect("its port");
            (first, (last, format!("{host}:{port}")))
        })
        .collect()
}

fn master_of(map: &BTreeMap<u16, (u16, String)>, slot: u16) -> &str {
    let (_, (_, addr)) = map.range(..=slot).next_back().expect("every slot is served");
    addr
}

/// `count` series names of run `run`, all on one master (`spread` false) or evenly over every master.
pub async fn series(run: &str, count: usize, spread: bool) -> Vec<String> {
    let map = slot_map(&mut raw().await).await;
    let masters: Vec<String> = {
        let mut m: Vec<String> = map.values().map(|(_, a)| a.clone()).collect();
        m.sort();
        m.dedup();
        m
    };
    let mut per: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let want = if spread {
        count.div_ceil(masters.len())
    } else {
        count
    };
    for i in 0.. {
        let name = format!("cb-{run}-{spread}-{i}");
        let m = master_of(&map, slot(&name));
        if spread || m == masters[0] {
            let v = per.entry(m).or_default();
            if v.len() < want {
                v.push(name);
            }
        }
        if per.values().map(Vec::len).sum::<usize>() >= count {
            break;
        }
    }
    per.into_values().flatten().collect()
}

async fn drive<F, Fut>(batches: usize, call: F) -> f64
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let start = Instant::now();
    let mut in_flight = tokio::task::JoinSet::new();
    for b in 0..batches {
        if in_flight.len() >= IN_FLIGHT {
            in_flight.join_next().await.expect("a task").expect("joined");
        }
        in_flight.spawn(call(b));
    }
    while let Some(r) = in_flight.join_next().await {
        r.expect("joined");
    }
    (batches * BATCH) as f64 / start.elapsed().as_secs_f64()
}

/// Raw `ZADD` of `points` members, 500 per command, round-robin over the series' keys: points per second.
pub async fn zadd_limit(series: &[String], points: usize) -> f64 {
    let c = raw().await;
    let keys: Arc<Vec<String>> = Arc::new(
        series
            .iter()
            .map(|s| format!("aeroguard:limits:{{{s}}}"))
            .collect(),
    );
    let rate = drive(points / BATCH, |b| {
        let (mut c, keys) = (c.clone(), keys.clone());
        async move {
            let mut cmd = redis::cmd("ZADD");
            cmd.arg(&keys[b % keys.len()]);
            for i in b * BATCH..(b + 1) * BATCH {
                cmd.arg(i).arg(format!("{{\"at\":{i},\"value\":{}.5}}", i % 1000));
            }
            cmd.query_async::<()>(&mut c).await.expect("ZADD");
        }
    })
    .await;
    let mut c = c;
    for k in keys.iter() {
        let _: () = redis::cmd("DEL").arg(k).query_async(&mut c).await.expect("DEL");
    }
    rate
}

/// Fenced history appends of `points` points, 500 per append, round-robin over the series: points per second.
pub async fn history_throughput(series: &[String], points: usize) -> f64 {
    let store = Arc::new(
        RedisClusterHistory::connect(options())
            .await
            .unwrap_or_else(|e| panic!("the Redis Cluster unreachable ({e}): run `scripts/services start`")),
    );
    let series = Arc::new(series.to_vec());
    let base = Timestamp::now().as_millis();
    drive(points / BATCH, |b| {
        let (store, series) = (store.clone(), series.clone());
        async move {
            let batch: Vec<Point> = (b * BATCH..(b + 1) * BATCH)
                .map(|i| Point::new(Timestamp::from_millis(base + i as i64), (i % 1000) as f64))
                .collect();
            store
                .append(
                    &series[b % series.len()],
                    &Writer::new(FencingToken(1), "bench"),
                    &batch,
                )
                .await
                .expect("append");
        }
    })
    .await
}

/// CPU time (user + system, in clock ticks of 10 ms) a process has used, from `/proc/<pid>/stat`.
fn cpu_ticks(pid: &str) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(") ").map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let field = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    field(11) + field(12)
}

/// The cluster's server processes, by the pid files of `scripts/services`.
fn server_pids() -> Vec<String> {
    let dir = std::env::var("AEROGUARD_SERVICES_DIR").unwrap_or_else(|_| "/tmp/aeroguard-services".into());
    (1..=6)
        .filter_map(|n| std::fs::read_to_string(format!("{dir}/rc{n}/pid")).ok())
        .map(|p| p.trim().to_string())
        .collect()
}

/// What a run cost: points per second, and CPU microseconds per point in the servers (masters and replicas
/// together) and in this client.
#[derive(Debug, Clone, Copy)]
pub struct Cost {
    /// Points per second.
    pub rate: f64,
    /// Server CPU per point (µs), all six nodes.
    pub server_us: f64,
    /// Client CPU per point (µs).
    pub client_us: f64,
}

/// Runs `run` (which moves `points` points) and measures its CPU cost.
pub async fn costed<F: std::future::Future<Output = f64>>(points: usize, run: F) -> Cost {
    let pids = server_pids();
    let servers = || pids.iter().map(|p| cpu_ticks(p)).sum::<u64>();
    let (s0, c0) = (servers(), cpu_ticks("self"));
    let rate = run.await;
    let (s1, c1) = (servers(), cpu_ticks("self"));
    let per_point = |ticks: u64| ticks as f64 * 10_000.0 / points as f64;
    Cost {
        rate,
        server_us: per_point(s1 - s0),
        client_us: per_point(c1 - c0),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn slots_match_redis() {
        // CLUSTER KEYSLOT of these keys, as Redis 7 answers.
        assert_eq!(super::slot("foo"), 12182);
        assert_eq!(super::slot("bar"), 5061);
        assert_eq!(super::slot("123456789"), 12739);
    }
}
