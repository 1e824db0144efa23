//! The analysis service's HTTP input: the first byte picks the route and whether a key is sent, the rest up to
//! a newline is the query string, the remainder the body. Each input runs on a fresh service (nothing carries
//! over between inputs) with keys on, through the real router. Whatever comes in, the service answers with a
//! status and never panics.
#![no_main]

use std::sync::{Arc, LazyLock};

use aeroguard_consensus::history::MemoryHistory;
use aeroguard_sentinel::{ApiKeys, Role, Sentinel, SentinelOptions, key_line, router};
use axum::body::Body;
use axum::http::Request;
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt;

const KEY: &str = "agk_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
});
static KEYS: LazyLock<ApiKeys> =
    LazyLock::new(|| ApiKeys::parse(&key_line("n1", Role::Node, KEY)).expect("a keys line"));

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let (query, body) = match rest.iter().position(|&b| b == b'\n') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &[][..]),
    };
    let query: String = String::from_utf8_lossy(query)
        .chars()
        .filter(|c| c.is_ascii_graphic() && *c != '#')
        .collect();
    let (method, path) = match selector % 5 {
        0 | 1 => ("POST", "/ingest"),
        2 => ("GET", "/verdicts"),
        3 => ("GET", "/history"),
        _ => ("GET", "/metrics"),
    };
    let uri = if query.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{query}")
    };
    let Ok(mut request) = Request::builder()
        .method(method)
        .uri(&uri)
        .body(Body::from(body.to_vec()))
    else {
        return;
    };
    if selector & 0x80 == 0 {
        let value = format!("Bearer {KEY}").parse().expect("a header value");
        request.headers_mut().insert("authorization", value);
    }
    let service = Sentinel::new(
        Arc::new(MemoryHistory::new()),
        "memory",
        SentinelOptions::new(Some(KEYS.clone()), 50),
    );
    let response = RUNTIME
        .block_on(router(service).oneshot(request))
        .expect("the router is infallible");
    assert!(response.status().as_u16() >= 200, "{}", response.status());
});
