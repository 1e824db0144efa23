//! Alerts and metrics against the real Alertmanager and Prometheus of `scripts/services start` (both behind
//! basic auth): an alert shows in Alertmanager's API while it fires and leaves it when resolved; the cluster's
//! leader sends its own; Prometheus scrapes the analysis service and the cluster's nodes with its bearer key,
//! and every panel query of the shipped Grafana dashboard returns data.
#![cfg(feature = "live-services")]

use std::sync::Arc;
use std::time::Duration;

use aeroguard_consensus::Coordinator;
use aeroguard_consensus::deployment::services_credential;
use aeroguard_consensus::history::{HistoryStore, MemoryHistory};
use aeroguard_consensus::memory::MemoryCluster;
use aeroguard_core::Timestamp;
use aeroguard_detect::alert::{AlertEvent, AlertStatus, Alertmanager, Notifier, NotifyError, Severity};
use aeroguard_node::{self as cluster, ClusterOptions, Emit, NodeEvent, Plan, Where, run_node, unique_run};
use aeroguard_sentinel::client::request;
use aeroguard_sentinel::{ApiKeys, Role, Sentinel, SentinelOptions, key_line, new_key, router, serve};
use base64::Engine as _;

const ALERTMANAGER: &str = "127.0.0.1:9093";
const PROMETHEUS: &str = "127.0.0.1:9090";

fn basic(credential: &str) -> String {
    let c = services_credential(credential).unwrap();
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(c))
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The alerts Alertmanager holds for `series` (active or not), as JSON.
async fn alerts_of(series: &str) -> Vec<serde_json::Value> {
    let auth = basic("AEROGUARD_ALERTMANAGER_AUTH");
    let path = format!(
        "/api/v2/alerts?filter={}",
        encode(&format!("series=\"{series}\""))
    );
    let r = request(ALERTMANAGER, "GET", &path, None, &[("authorization", &auth)])
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    serde_json::from_str(&r.body).unwrap()
}

fn event(series: &str, status: AlertStatus) -> AlertEvent {
    let now = Timestamp::now();
    AlertEvent {
        rule: "pump-cavitation".into(),
        series: series.into(),
        status,
        at: now,
        since: Timestamp::from_millis(now.as_millis() - 60_000),
        severity: Severity::Critical,
        labels: [("site".to_string(), "test".to_string())].into(),
        value: 8.1,
    }
}

fn alertmanager() -> Alertmanager {
    let auth = services_credential("AEROGUARD_ALERTMANAGER_AUTH").unwrap();
    let (user, password) = auth.split_once(':').unwrap();
    Alertmanager::new(&format!("http://{ALERTMANAGER}"))
        .unwrap()
        .with_basic_auth(user, password)
}

#[tokio::test]
async fn an_alert_shows_in_alertmanager_while_it_fires_and_leaves_when_resolved() {
    let series = unique_run("am-direct");
    let am = alertmanager();
    am.notify(&[event(&series, AlertStatus::Firing)]).await.unwrap();
    let held = alerts_of(&series).await;
    assert_eq!(held.len(), 1, "{held:?}");
    assert_eq!(held[0]["status"]["state"], "active");
    assert_eq!(held[0]["labels"]["alertname"], "pump-cavitation");
    assert_eq!(held[0]["labels"]["severity"], "critical");
    assert_eq!(held[0]["labels"]["site"], "test");
    am.notify(&[event(&series, AlertStatus::Resolved)]).await.unwrap();
    let held = alerts_of(&series).await;
    assert!(held.is_empty(), "resolved alerts are not listed: {held:?}");
    // A wrong password is refused (and worth retrying once fixed); a receiver that is down is unreachable.
    let wrong = Alertmanager::new(&format!("http://{ALERTMANAGER}"))
        .unwrap()
        .with_basic_auth("aeroguard", "wrong");
    let e = wrong
        .notify(&[event(&series, AlertStatus::Firing)])
        .await
        .unwrap_err();
    assert!(matches!(e, NotifyError::Status { status: 401, .. }), "{e}");
    assert!(!e.is_permanent());
    assert!(
        alerts_of(&series).await.is_empty(),
        "the refused alert changed nothing"
    );
    let down = Alertmanager::new("http://127.0.0.1:1").unwrap();
    let e = down
        .notify(&[event(&series, AlertStatus::Firing)])
        .await
        .unwrap_err();
    assert!(matches!(e, NotifyError::Unreachable { .. }), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clusters_alert_fires_and_resolves_in_alertmanager() {
    assert!(
        std::env::var("AEROGUARD_ALERTMANAGER_AUTH").is_ok(),
        "the nodes read AEROGUARD_ALERTMANAGER_AUTH: run eval \"$(scripts/services env)\" first"
    );
    let mut options = ClusterOptions::new(Where::Memory, &unique_run("am-cluster"));
    options.plan.outputs.alertmanager = Some(format!("http://{ALERTMANAGER}"));
    let series = options.plan.series();
    let watching = async {
        // While the run goes, poll Alertmanager: the upset's alert must show as active.
        let mut seen_active = false;
        for _ in 0..200 {
            let held = alerts_of(&series).await;
            if held
                .iter()
                .any(|a| a["labels"]["alertname"] == "process-anomaly" && a["status"]["state"] == "active")
            {
                seen_active = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        seen_active
    };
    let (summary, seen_active) = tokio::join!(cluster::run_cluster(options, |_| {}), watching);
    let summary = summary.unwrap();
    assert!(summary.problems().is_empty(), "{:?}", summary.problems());
    assert!(
        seen_active,
        "the process-anomaly alert showed in Alertmanager while it fired"
    );
    // Resolved by the end of the run (round 38 of 40): it leaves Alertmanager's list.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let held = alerts_of(&series).await;
        if held.iter().all(|a| a["labels"]["alertname"] != "process-anomaly") {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "still held: {held:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A fault lasting three times the alert's TTL at Alertmanager (5 s here; an hour by default), through a
/// leader crash: the alert stays active in Alertmanager the whole time (the leader sends it again every
/// second, the new leader at its first round, within the TTL of the last send since the crash takes a 2 s
/// session to be noticed), with one start time, and fires once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fault_longer_than_the_alerts_ttl_stays_active_in_alertmanager_through_a_failover() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let mut options = ClusterOptions::new(Where::Memory, &unique_run("am-long"));
    options.plan.outputs.alertmanager = Some(format!("http://{ALERTMANAGER}"));
    options.plan.alert_ttl_ms = 5_000;
    options.plan.alert_resend_ms = 1_000;
    options.plan.rounds = 130;
    options.plan.plant.upset = Some(aeroguard_node::sim::Upset { from: 20, to: 120 });
    options.plan.plant.outage = None;
    options.kill_leader_at = Some(60);
    options.new_period_at = None;
    options.bad_rules_at = None;
    // The policy's actions go to the services' HTTPS receiver, which refuses stale tokens and repeats.
    let actions = format!("/actions/{}", options.plan.run);
    options.plan.outputs.action_webhook = Some(format!("https://localhost:8443{actions}"));
    let series = options.plan.series();
    let resolved = AtomicBool::new(false);
    let watching = async {
        // From the first time the low-flow alert shows active until the run resolves it: every poll finds it
        // active, and always with the same start.
        let (mut polls, mut missing, mut starts) = (0, Vec::new(), std::collections::BTreeSet::new());
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while !resolved.load(Ordering::SeqCst) && tokio::time::Instant::now() < deadline {
            let held = alerts_of(&series).await;
            let low = held
                .iter()
                .find(|a| a["labels"]["alertname"] == "low-flow" && a["status"]["state"] == "active");
            match low {
                Some(a) => {
                    polls += 1;
                    starts.insert(a["startsAt"].as_str().unwrap_or_default().to_string());
                }
                None if polls > 0 && !resolved.load(Ordering::SeqCst) => missing.push(polls),
                None => {}
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        (polls, missing, starts)
    };
    let run = cluster::run_cluster(options, |p| {
        if let aeroguard_node::Progress::Event(NodeEvent::Alert { rule, status, .. }) = p
            && rule == "low-flow"
            && status == "resolved"
        {
            resolved.store(true, Ordering::SeqCst);
        }
    });
    let (summary, (polls, missing, starts)) = tokio::join!(run, watching);
    let summary = summary.unwrap();
    assert!(summary.problems().is_empty(), "{:?}", summary.problems());
    assert_eq!(summary.terms.len(), 2, "one failover: {:?}", summary.terms);
    let fired: Vec<&(String, String, u64)> = summary
        .alerts
        .iter()
        .filter(|a| a.0 == "low-flow" && a.1 == "firing")
        .collect();
    assert_eq!(fired.len(), 1, "fired once: {:?}", summary.alerts);
    assert!(
        polls >= 120,
        "active in Alertmanager for {polls} polls of 100 ms: the fault outlasts the TTL"
    );
    assert!(
        missing.is_empty(),
        "dropped from Alertmanager after {missing:?} polls while it still fired"
    );
    assert_eq!(starts.len(), 1, "one alert, one start: {starts:?}");
    // The upset's action reached the receiver once, through the failover, with its leader's token and key.
    let calls = webhook_calls(&actions);
    let accepted: Vec<&serde_json::Value> = calls.iter().filter(|c| c["outcome"] == "accepted").collect();
    assert_eq!(accepted.len(), 1, "{calls:?}");
    assert!(calls.iter().all(|c| c["outcome"] != "stale"), "{calls:?}");
    let body: serde_json::Value = serde_json::from_str(accepted[0]["body"].as_str().unwrap()).unwrap();
    let upset = summary
        .actions
        .iter()
        .find(|a| a.rule == "process-upset")
        .unwrap();
    assert_eq!(body["key"], upset.key.as_str());
    assert_eq!(accepted[0]["headers"]["idempotency-key"], upset.key.as_str());
    assert_eq!(
        accepted[0]["headers"]["x-aeroguard-fencing-token"],
        upset.by.1.to_string().as_str()
    );
    assert!(summary.actions_logged.contains(&upset.key), "{summary}");
}

/// The calls the services' HTTPS receiver logged on `path`.
fn webhook_calls(path: &str) -> Vec<serde_json::Value> {
    let log = std::env::var("AEROGUARD_WEBHOOK_LOG").expect("the services' environment");
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["path"] == path)
        .collect()
}

/// Asks Prometheus `query`; the result vector.
async fn prometheus(query: &str) -> Vec<serde_json::Value> {
    let auth = basic("AEROGUARD_PROMETHEUS_AUTH");
    let path = format!("/api/v1/query?query={}", encode(query));
    let r = request(PROMETHEUS, "GET", &path, None, &[("authorization", &auth)])
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{query}: {}", r.body);
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    v["data"]["result"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_the_service_and_the_nodes_and_every_dashboard_panel_has_data() {
    let run = unique_run("prom");
    let dir = std::env::temp_dir().join(format!("aeroguard-{run}"));
    std::fs::create_dir_all(&dir).unwrap();
    // Keys: each node's, and Prometheus's reader key (the one the services gave it).
    let scrape_key = services_credential("AEROGUARD_SCRAPE_KEY").unwrap();
    assert!(!scrape_key.is_empty(), "the services run with authentication");
    let nodes = 3;
    let node_keys: Vec<String> = (0..nodes).map(|_| new_key()).collect();
    let mut keys_file = key_line("prometheus", Role::Reader, &scrape_key) + "\n";
    let mut node_file = String::new();
    for (i, k) in node_keys.iter().enumerate() {
        keys_file += &(key_line(&Plan::node_name(i), Role::Node, k) + "\n");
        node_file += &format!("{} {k}\n", Plan::node_name(i));
    }
    std::fs::write(dir.join("keys"), &keys_file).unwrap();
    std::fs::write(dir.join("node-keys"), &node_file).unwrap();
    // The service.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let service = listener.local_addr().unwrap().to_string();
    let keys = ApiKeys::load(&dir.join("keys")).unwrap();
    let sentinel = Sentinel::new(
        Arc::new(MemoryHistory::new()),
        "memory",
        SentinelOptions::new(Some(keys), 50),
    );
    tokio::spawn(async move { serve(listener, router(sentinel), Default::default()).await });
    // The nodes, posting to it and serving their metrics to the same keys.
    let mut plan = ClusterOptions::new(Where::Memory, &run).plan;
    plan.nodes = nodes;
    plan.rounds = 100_000;
    plan.period_ms = 50;
    plan.deadline_ms = 200;
    plan.plant.faults = Vec::new();
    plan.plant.upset = None;
    plan.plant.outage = None;
    plan.outputs.post = Some(service.clone());
    plan.outputs.api_keys = Some(dir.join("node-keys"));
    plan.outputs.metrics_keys = Some(dir.join("keys"));
    plan.outputs.outbox_dir = Some(dir.join("outbox"));
    let memory = MemoryCluster::new();
    let history: Arc<dyn HistoryStore> = Arc::new(MemoryHistory::new());
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<NodeEvent>();
    let mut tasks = Vec::new();
    for i in 0..nodes {
        let coord: Arc<dyn Coordinator> = memory.connect(Plan::node_name(i).parse().unwrap()).unwrap();
        let tx = tx.clone();
        let emit: Emit = Arc::new(move |e| {
            tx.send(e).ok();
        });
        tasks.push(tokio::spawn(run_node(
            coord,
            history.clone(),
            plan.clone(),
            i,
            emit,
        )));
    }
    let mut targets = vec![service.clone()];
    while targets.len() < nodes + 1 {
        if let Some(NodeEvent::Metrics { addr, .. }) = rx.recv().await {
            targets.push(addr);
        }
    }
    // The node endpoint refuses a caller without a key.
    let r = request(&targets[1], "GET", "/metrics", None, &[]).await.unwrap();
    assert_eq!(r.status, 401, "{}", r.body);
    // One refused request, so the refusals panel has something to show.
    let bearer = format!("Bearer {}", node_keys[0]);
    let r = request(
        &service,
        "POST",
        "/ingest",
        Some(b"{not json"),
        &[("authorization", &bearer)],
    )
    .await
    .unwrap();
    assert_eq!(r.status, 400);
    // Tell Prometheus where to scrape (file_sd, read every second).
    let targets_dir = std::path::PathBuf::from(services_credential("AEROGUARD_PROMETHEUS_TARGETS").unwrap());
    let targets_file = targets_dir.join(format!("{run}.json"));
    let sd = serde_json::json!([{ "targets": targets, "labels": { "run": run } }]);
    std::fs::write(&targets_file, sd.to_string()).unwrap();
    // Every panel's query of the dashboard returns data, and every target is up.
    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../dashboards/aeroguard.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let queries: Vec<String> = dashboard["panels"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["targets"].as_array().unwrap().iter())
        .map(|t| t["expr"].as_str().unwrap().to_string())
        .collect();
    assert!(queries.len() >= 8, "{queries:?}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    let mut missing: Vec<String> = queries.clone();
    let up_query = format!("up{{job=\"aeroguard\",run=\"{run}\"}} == 1");
    while !missing.is_empty() || prometheus(&up_query).await.len() < nodes + 1 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no data for {missing:?}; up: {:?}",
            prometheus(&format!("up{{run=\"{run}\"}}")).await
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
        let mut still = Vec::new();
        for q in missing {
            if prometheus(&q).await.is_empty() {
                still.push(q);
            }
        }
        missing = still;
    }
    // The nodes' outbox figures came from the nodes themselves.
    let node_series = prometheus(&format!(
        "aeroguard_outbox_queued{{run=\"{run}\",outbox=\"history\"}}"
    ))
    .await;
    assert_eq!(node_series.len(), nodes, "{node_series:?}");
    std::fs::remove_file(&targets_file).unwrap();
    for t in tasks {
        t.abort();
    }
    let _ = std::fs::remove_dir_all(&dir);
}
