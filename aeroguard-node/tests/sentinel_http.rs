//! The sentinel analysis service over real HTTP on 127.0.0.1: ingest, verdicts with the vote record, history,
//! health, Prometheus metrics; malformed, invalid, oversized and stale (fenced) requests are refused with a
//! status and a reason, and the service keeps serving.

use std::sync::Arc;

use aeroguard_consensus::history::MemoryHistory;
use aeroguard_node::sim;
use aeroguard_sentinel::client::{Response, request};
use aeroguard_sentinel::{Sentinel, SentinelOptions, router, serve};

/// The service started insecure (the validation tests below; authentication is in sentinel_security.rs).
async fn start() -> String {
    start_with(SentinelOptions::new(None, 120)).await
}

/// The service started insecure with `options`.
async fn start_with(options: SentinelOptions) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let service = Sentinel::new(Arc::new(MemoryHistory::new()), "memory", options);
    tokio::spawn(async move { serve(listener, router(service), Default::default()).await });
    addr
}

async fn post(addr: &str, body: &str) -> Response {
    request(addr, "POST", "/ingest", Some(body.as_bytes()), &[])
        .await
        .unwrap()
}

fn readings(from: u64, to: u64, shift: f64) -> serde_json::Value {
    let rows: Vec<serde_json::Value> = (from..to)
        .map(|r| {
            let t = sim::measure(0, r, 7, &[], None);
            serde_json::json!({ "at": 1_700_000_000_000i64 + r as i64 * 1000, "values": [t[0] + shift, t[1], t[2]] })
        })
        .collect();
    serde_json::Value::Array(rows)
}

#[tokio::test]
async fn ingest_score_and_query() {
    let addr = start().await;
    let health = request(&addr, "GET", "/health", None, &[]).await.unwrap();
    assert_eq!(health.status, 200);
    assert!(health.body.contains("\"status\":\"ok\""), "{}", health.body);
    // Training rows, then normal rows, then a pressure fault.
    let r = post(
        &addr,
        &serde_json::json!({ "series": "pump-1", "token": 3, "readings": readings(0, 120, 0.0) }).to_string(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.contains("\"training\":false"),
        "the ensemble is trained after 120 rows: {}",
        r.body
    );
    let r = post(
        &addr,
        &serde_json::json!({ "series": "pump-1", "token": 3, "readings": readings(120, 140, 0.0) })
            .to_string(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let normal: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(normal["scored"], 20);
    let r = post(
        &addr,
        &serde_json::json!({ "series": "pump-1", "token": 3, "readings": readings(140, 170, 3.0) })
            .to_string(),
    )
    .await;
    let faulty: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert!(
        faulty["alarms"].as_u64().unwrap() > 10,
        "a 3 bar offset raises alarms: {}",
        r.body
    );
    assert!(
        normal["alarms"].as_u64().unwrap() <= 2,
        "normal rows stay quiet: {normal}"
    );

    let v = request(&addr, "GET", "/verdicts?series=pump-1&limit=5", None, &[])
        .await
        .unwrap();
    assert_eq!(v.status, 200);
    let verdicts: Vec<serde_json::Value> = serde_json::from_str(&v.body).unwrap();
    assert_eq!(verdicts.len(), 5);
    let members: Vec<&str> = verdicts[4]["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(members, ["rules", "kmeans", "isolation_forest"]);
    assert_eq!(verdicts[4]["alarm"], true);

    let from = 1_700_000_000_000i64 + 160_000;
    let h = request(
        &addr,
        "GET",
        &format!("/history?series=pump-1&from={from}&to={}", from + 4_000),
        None,
        &[],
    )
    .await
    .unwrap();
    assert_eq!(h.status, 200, "{}", h.body);
    let points: Vec<serde_json::Value> = serde_json::from_str(&h.body).unwrap();
    assert_eq!(points.len(), 5, "history range is inclusive");
    assert_eq!(points[0]["alarm"], true);

    let m = request(&addr, "GET", "/metrics", None, &[]).await.unwrap();
    assert_eq!(m.status, 200);
    assert!(
        m.body.contains("aeroguard_ingested_total{series=\"pump-1\"} 170"),
        "{}",
        m.body
    );
    assert!(
        m.body
            .contains("aeroguard_votes_total{series=\"pump-1\",member=\"kmeans\",vote=\"yes\"}")
    );
    assert!(m.body.contains("aeroguard_ingest_seconds_count 3"));
}

#[tokio::test]
async fn bad_requests_are_refused_with_a_reason() {
    let addr = start().await;
    let ok = serde_json::json!({ "series": "s", "token": 5, "readings": readings(0, 3, 0.0) }).to_string();
    assert_eq!(post(&addr, &ok).await.status, 200);
    let cases: [(&str, u16, &str); 9] = [
        ("{not json", 400, "body"),
        (r#"{"series": "s", "token": 5}"#, 400, "readings"),
        (
            r#"{"series": "s", "token": 5, "readings": [], "extra": 1}"#,
            400,
            "extra",
        ),
        (r#"{"series": "s", "token": 5, "readings": []}"#, 400, "empty"),
        (
            r#"{"series": "bad name!", "token": 5, "readings": [{"at": 1, "values": [1, 2, 3]}]}"#,
            400,
            "series",
        ),
        (
            r#"{"series": "s", "token": 5, "readings": [{"at": 1, "values": [1e999, 2, 3]}]}"#,
            400,
            "body",
        ),
        (
            r#"{"series": "s", "token": 5, "readings": [{"at": 1, "values": [1, 2]}]}"#,
            400,
            "3",
        ),
        (
            r#"{"series": "s", "token": 5, "readings": [{"at": 1, "values": [1, 2, 3]}, {"at": 2, "values": [1]}]}"#,
            400,
            "readings[1]",
        ),
        (
            r#"{"series": "s", "token": 4, "readings": [{"at": 9, "values": [1, 2, 3]}]}"#,
            409,
            "token 4",
        ),
    ];
    for (body, status, reason) in cases {
        let r = post(&addr, body).await;
        assert_eq!(r.status, status, "{body} -> {}", r.body);
        assert!(
            r.body.contains("\"error\"") && r.body.contains(reason),
            "{body} -> {}",
            r.body
        );
    }
    // Over the ingest limit (1 MiB): refused with a reason, counted; over the server's backstop (2 MiB):
    // refused from the declared length alone.
    for size in [3 << 19, 3 << 20] {
        let huge = format!(
            r#"{{"series": "s", "token": 5, "readings": [{}]}}"#,
            "x".repeat(size)
        );
        let r = post(&addr, &huge).await;
        assert_eq!(r.status, 413, "{}", r.body);
    }
    assert_eq!(
        request(&addr, "GET", "/verdicts?series=nope", None, &[])
            .await
            .unwrap()
            .status,
        404
    );
    assert_eq!(
        request(&addr, "GET", "/verdicts", None, &[])
            .await
            .unwrap()
            .status,
        400
    );
    assert_eq!(
        request(&addr, "GET", "/history?series=s&from=abc", None, &[])
            .await
            .unwrap()
            .status,
        400
    );
    assert_eq!(
        request(&addr, "GET", "/history?series=s&from=10&to=1", None, &[])
            .await
            .unwrap()
            .status,
        400
    );
    // Still serving, and the refusals are counted.
    assert_eq!(
        post(&addr, &ok.replace("\"token\":5", "\"token\":6"))
            .await
            .status,
        200
    );
    let m = request(&addr, "GET", "/metrics", None, &[]).await.unwrap().body;
    assert!(m.contains("aeroguard_rejected_total{reason=\"fenced\"} 1"), "{m}");
    assert!(
        m.contains("aeroguard_rejected_total{reason=\"too_large\"} 1"),
        "{m}"
    );
}

/// A single web metric served with the surprise detector: quiet on its wave and noise, a spike raises one
/// alarm with a vote record of one member; too few training rows for it are refused when the service starts.
#[tokio::test]
async fn a_single_metric_with_the_surprise_detector() {
    use aeroguard_sentinel::SeriesModel;
    let mut options = SentinelOptions::new(None, 120);
    options.model = SeriesModel::Surprise(aeroguard_detect::Surprise::default());
    let refused = options.check().unwrap_err();
    assert!(
        matches!(
            refused,
            aeroguard_sentinel::Error::TrainingRows {
                rows: 120,
                needed: 131
            }
        ),
        "{refused}"
    );
    // A service built with too few rows anyway trains once the model has what it needs, without refusals.
    let short = start_with(options.clone()).await;
    let one = |r: i64| serde_json::json!({ "at": r * 1000, "values": [40.0 + (r % 7) as f64] });
    let first: Vec<serde_json::Value> = (0..120).map(one).collect();
    let r = post(
        &short,
        &serde_json::json!({ "series": "s", "token": 1, "readings": first }).to_string(),
    )
    .await;
    assert!(
        r.status == 200 && r.body.contains("\"training\":true"),
        "{}",
        r.body
    );
    let rest: Vec<serde_json::Value> = (120..131).map(one).collect();
    let r = post(
        &short,
        &serde_json::json!({ "series": "s", "token": 1, "readings": rest }).to_string(),
    )
    .await;
    assert!(
        r.status == 200 && r.body.contains("\"training\":false"),
        "{}",
        r.body
    );
    options.train_rows = 200;
    options.check().unwrap();
    let addr = start_with(options).await;
    let latency = |r: u64| 40.0 + 5.0 * (r as f64 / 30.0).sin() + ((r * 7919) % 13) as f64 / 13.0;
    let body = |from: u64, to: u64, spike: Option<u64>| {
        let rows: Vec<serde_json::Value> = (from..to)
            .map(|r| {
                let v = latency(r) + if Some(r) == spike { 30.0 } else { 0.0 };
                serde_json::json!({ "at": 1_700_000_000_000i64 + r as i64 * 1000, "values": [v] })
            })
            .collect();
        serde_json::json!({ "series": "api-latency", "token": 1, "readings": rows }).to_string()
    };
    let r = post(&addr, &body(0, 200, None)).await;
    assert!(r.body.contains("\"training\":false"), "{}", r.body);
    let normal: serde_json::Value =
        serde_json::from_str(&post(&addr, &body(200, 400, None)).await.body).unwrap();
    assert_eq!(
        (normal["scored"].as_u64(), normal["alarms"].as_u64()),
        (Some(200), Some(0)),
        "{normal}"
    );
    let spiked: serde_json::Value =
        serde_json::from_str(&post(&addr, &body(400, 420, Some(410))).await.body).unwrap();
    assert_eq!(spiked["alarms"], 1, "{spiked}");
    let v = request(&addr, "GET", "/verdicts?series=api-latency&limit=10", None, &[])
        .await
        .unwrap();
    let verdicts: Vec<serde_json::Value> = serde_json::from_str(&v.body).unwrap();
    let alarmed: Vec<&serde_json::Value> = verdicts.iter().filter(|v| v["alarm"] == true).collect();
    assert_eq!(alarmed.len(), 1, "{}", v.body);
    assert_eq!(alarmed[0]["members"][0]["name"], "surprise", "{}", v.body);
}
