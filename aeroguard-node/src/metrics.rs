//! A node's metrics for Prometheus (OpenMetrics text): its outboxes' figures, read when scraped.

use aeroguard_consensus::outbox::OutboxStats;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// Labels naming an outbox.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutboxLabel {
    /// `history` or `service`.
    outbox: String,
}

/// The figures of a node's outboxes as OpenMetrics text (`aeroguard_outbox_*{outbox="history"}`): entries and
/// bytes waiting, the byte limit, and entries pushed, forwarded, refused and dropped when full.
///
/// ```
/// use aeroguard_consensus::outbox::OutboxStats;
/// let stats = OutboxStats { queued: 4, dropped: 7, ..Default::default() };
/// let text = aeroguard_node::outbox_metrics(&[("history", stats)]);
/// assert!(text.contains("aeroguard_outbox_dropped_total{outbox=\"history\"} 7"), "{text}");
/// assert!(text.contains("aeroguard_outbox_queued{outbox=\"history\"} 4"), "{text}");
/// ```
pub fn outbox_metrics(outboxes: &[(&str, OutboxStats)]) -> String {
    node_metrics(outboxes, None, None)
}

/// When a leader's round last reached a node, and whether the node works alone (the degraded mode): the
/// dead man's switch of the rounds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RoundsSeen {
    /// When the last round reached it.
    pub last_round_at: aeroguard_core::Timestamp,
    /// Whether it measures and alarms alone.
    pub alone: bool,
}

/// A node's figures as OpenMetrics text: its outboxes' ([`outbox_metrics`]); when measured, its clock's
/// offset from the coordination servers' and the bound past which it does not lead
/// (`aeroguard_clock_offset_seconds`, `aeroguard_clock_offset_bound_seconds`); and when a leader's round last
/// reached it and whether it works alone (`aeroguard_last_round_timestamp_seconds`, `aeroguard_degraded`).
///
/// ```
/// use aeroguard_consensus::ClockOffset;
/// use aeroguard_core::Timestamp;
/// use aeroguard_node::RoundsSeen;
/// use std::time::Duration;
/// let clock = ClockOffset { offset_ms: -1500, uncertainty: Duration::from_millis(2) };
/// let seen = RoundsSeen { last_round_at: Timestamp::from_millis(1_765_000_000_500), alone: true };
/// let text = aeroguard_node::node_metrics(&[], Some((clock, Duration::from_secs(2))), Some(seen));
/// assert!(text.contains("aeroguard_clock_offset_seconds -1.5"), "{text}");
/// assert!(text.contains("aeroguard_clock_offset_bound_seconds 2.0"), "{text}");
/// assert!(text.contains("aeroguard_last_round_timestamp_seconds 1765000000.5"), "{text}");
/// assert!(text.contains("aeroguard_degraded 1"), "{text}");
/// ```
pub fn node_metrics(
    outboxes: &[(&str, OutboxStats)],
    clock: Option<(aeroguard_consensus::ClockOffset, std::time::Duration)>,
    rounds: Option<RoundsSeen>,
) -> String {
    let mut registry = Registry::default();
    if let Some((offset, bound)) = clock {
        register_clock(&mut registry, offset, bound);
    }
    if let Some(seen) = rounds {
        let at = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
        at.set(seen.last_round_at.as_millis() as f64 / 1000.0);
        registry.register(
            "aeroguard_last_round_timestamp_seconds",
            "When a leader's round last reached this node (Unix time): alert when it is older than a few periods",
            at,
        );
        let alone = Gauge::<i64>::default();
        alone.set(i64::from(seen.alone));
        registry.register(
            "aeroguard_degraded",
            "1 while this node measures, fuses and alarms alone, with no leader's rounds (coordination lost)",
            alone,
        );
    }
    register_outboxes(&mut registry, outboxes);
    let mut out = String::new();
    if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &registry) {
        tracing::warn!(error = %e, "metrics could not be encoded");
    }
    out
}

/// The clock's offset and its bound, in seconds.
fn register_clock(
    registry: &mut Registry,
    offset: aeroguard_consensus::ClockOffset,
    bound: std::time::Duration,
) {
    let mut seconds = |name: &str, help: &str, value: f64| {
        let g = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
        g.set(value);
        registry.register(name, help, g);
    };
    seconds(
        "aeroguard_clock_offset_seconds",
        "This node's clock minus the coordination servers' (positive: ahead), at the last probe",
        offset.offset_ms as f64 / 1000.0,
    );
    seconds(
        "aeroguard_clock_offset_bound_seconds",
        "The offset past which this node does not campaign, and steps down if it leads",
        bound.as_secs_f64(),
    );
}

/// Each outbox's gauges and counters, labelled by its name.
fn register_outboxes(registry: &mut Registry, outboxes: &[(&str, OutboxStats)]) {
    let gauge = |registry: &mut Registry, name: &str, help: &str, value: fn(&OutboxStats) -> u64| {
        let family = Family::<OutboxLabel, Gauge>::default();
        for (outbox, stats) in outboxes {
            let label = OutboxLabel {
                outbox: (*outbox).to_string(),
            };
            family
                .get_or_create(&label)
                .set(i64::try_from(value(stats)).unwrap_or(i64::MAX));
        }
        registry.register(name, help, family);
    };
    gauge(
        registry,
        "aeroguard_outbox_queued",
        "Entries waiting for delivery",
        |s| s.queued,
    );
    gauge(
        registry,
        "aeroguard_outbox_bytes",
        "Payload bytes waiting for delivery",
        |s| s.bytes,
    );
    gauge(
        registry,
        "aeroguard_outbox_max_bytes",
        "The outbox's byte limit",
        |s| s.max_bytes,
    );
    let counter = |registry: &mut Registry, name: &str, help: &str, value: fn(&OutboxStats) -> u64| {
        let family = Family::<OutboxLabel, Counter>::default();
        for (outbox, stats) in outboxes {
            let label = OutboxLabel {
                outbox: (*outbox).to_string(),
            };
            family.get_or_create(&label).inc_by(value(stats));
        }
        registry.register(name, help, family);
    };
    counter(
        registry,
        "aeroguard_outbox_pushed",
        "Entries written to the outbox",
        |s| s.pushed,
    );
    counter(registry, "aeroguard_outbox_forwarded", "Entries delivered", |s| {
        s.sent
    });
    counter(
        registry,
        "aeroguard_outbox_refused",
        "Entries the receiver refused for good (fenced, malformed)",
        |s| s.refused,
    );
    counter(
        registry,
        "aeroguard_outbox_dropped",
        "Entries dropped because the outbox was full (the oldest first, precious ones last)",
        |s| s.dropped,
    );
    counter(
        registry,
        "aeroguard_outbox_reopened",
        "Times the outbox file was opened again after a failed write (a full disk, a failing device)",
        |s| s.reopened,
    );
}

/// Serves a node's `/metrics` on `listener` until it fails: the figures `render` returns when scraped, to
/// callers holding a key in `keys` (a reader's or a node's; `Authorization: Bearer <key>`), with the limits of
/// [`serve`](aeroguard_sentinel::serve). Every other path is a 404.
pub async fn serve_metrics(
    listener: tokio::net::TcpListener,
    keys: aeroguard_sentinel::ApiKeys,
    render: std::sync::Arc<dyn Fn() -> String + Send + Sync>,
) -> std::io::Result<()> {
    use axum::http::{StatusCode, header};
    use axum::response::IntoResponse;
    let keys = std::sync::Arc::new(keys);
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move |headers: axum::http::HeaderMap| {
            let (keys, render) = (keys.clone(), render.clone());
            async move {
                let presented = headers
                    .get(header::AUTHORIZATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("Bearer "))
                    .map(str::trim);
                if presented.and_then(|k| keys.check(k)).is_none() {
                    return (
                        StatusCode::UNAUTHORIZED,
                        [(header::WWW_AUTHENTICATE, "Bearer")],
                        "a reader's key is required (Authorization: Bearer <key>)".to_string(),
                    )
                        .into_response();
                }
                (
                    [(
                        header::CONTENT_TYPE,
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    )],
                    render(),
                )
                    .into_response()
            }
        }),
    );
    aeroguard_sentinel::serve(listener, app, Default::default()).await
}
