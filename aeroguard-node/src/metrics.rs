//! A node's metrics for Prometheus (OpenMetrics text): its outboxes' figures, read when scraped.

use aeroguard_consensus::outbox::OutboxStats;
use aeroguard_detect::alert::AlarmKpis;
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
    node_metrics(outboxes, None, None, None)
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
/// reached it and whether it works alone (`aeroguard_last_round_timestamp_seconds`, `aeroguard_degraded`);
/// while it leads, its alarm-management figures (ISA-18.2: `aeroguard_alarms_per_operator`,
/// `aeroguard_alarm_flood`, `aeroguard_alarms_chattering`, `_stale`, `_standing`, `_shelved`,
/// `aeroguard_alarm_floods_total`, `aeroguard_alarms_suppressed_total`).
///
/// ```
/// use aeroguard_consensus::ClockOffset;
/// use aeroguard_core::Timestamp;
/// use aeroguard_node::RoundsSeen;
/// use std::time::Duration;
/// let clock = ClockOffset { offset_ms: -1500, uncertainty: Duration::from_millis(2) };
/// let seen = RoundsSeen { last_round_at: Timestamp::from_millis(1_765_000_000_500), alone: true };
/// let text = aeroguard_node::node_metrics(&[], Some((clock, Duration::from_secs(2))), Some(seen), None);
/// assert!(text.contains("aeroguard_clock_offset_seconds -1.5"), "{text}");
/// assert!(text.contains("aeroguard_clock_offset_bound_seconds 2.0"), "{text}");
/// assert!(text.contains("aeroguard_last_round_timestamp_seconds 1765000000.5"), "{text}");
/// assert!(text.contains("aeroguard_degraded 1"), "{text}");
/// ```
pub fn node_metrics(
    outboxes: &[(&str, OutboxStats)],
    clock: Option<(aeroguard_consensus::ClockOffset, std::time::Duration)>,
    rounds: Option<RoundsSeen>,
    alarms: Option<&AlarmKpis>,
) -> String {
    let mut registry = Registry::default();
    if let Some(kpis) = alarms {
        register_alarms(&mut registry, kpis);
    }
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

/// The alarm-management figures (ISA-18.2, EEMUA 191) of the leader's alarm log: gauges of the moment and the
/// running totals of floods and suppressed activations.
fn register_alarms(registry: &mut Registry, k: &AlarmKpis) {
    let mut gauge = |name: &str, help: &str, value: f64| {
        let g = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
        g.set(value);
        registry.register(name, help, g);
    };
    gauge(
        "aeroguard_alarms_annunciated",
        "Alarms that reached the operators in the last 10 minutes",
        k.annunciated as f64,
    );
    gauge(
        "aeroguard_alarms_per_operator",
        "The same per operator position (ISA-18.2: 1 or 2 is manageable)",
        k.per_operator,
    );
    gauge(
        "aeroguard_alarm_flood",
        "1 while more than 10 alarms came in the last 10 minutes",
        f64::from(u8::from(k.in_flood)),
    );
    gauge(
        "aeroguard_alarms_chattering",
        "Alarms with 3 or more activations in the last 60 s",
        k.chattering.len() as f64,
    );
    gauge(
        "aeroguard_alarms_stale",
        "Alarms active for more than 24 hours",
        k.stale.len() as f64,
    );
    gauge(
        "aeroguard_alarms_standing",
        "Alarms active now",
        k.standing as f64,
    );
    gauge("aeroguard_alarms_shelved", "Alarms shelved now", k.shelved as f64);
    let floods = Counter::<u64>::default();
    floods.inc_by(k.floods);
    registry.register(
        "aeroguard_alarm_floods",
        "Alarm floods begun in this leader's term",
        floods,
    );
    let suppressed = Counter::<u64>::default();
    suppressed.inc_by(k.suppressed);
    registry.register(
        "aeroguard_alarms_suppressed",
        "Activations held back as chattering in this term",
        suppressed,
    );
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

#[cfg(test)]
mod tests {
    use aeroguard_detect::alert::AlarmKpis;

    #[test]
    fn the_leaders_alarm_figures_are_exported() {
        let kpis = AlarmKpis {
            annunciated: 12,
            per_operator: 6.0,
            in_flood: true,
            floods: 1,
            chattering: vec![("level".into(), "unit-1".into())],
            stale: Vec::new(),
            standing: 12,
            shelved: 2,
            suppressed: 3,
        };
        let text = super::node_metrics(&[], None, None, Some(&kpis));
        for line in [
            "aeroguard_alarms_per_operator 6.0",
            "aeroguard_alarm_flood 1.0",
            "aeroguard_alarms_chattering 1.0",
            "aeroguard_alarms_stale 0.0",
            "aeroguard_alarms_standing 12.0",
            "aeroguard_alarms_shelved 2.0",
            "aeroguard_alarm_floods_total 1",
            "aeroguard_alarms_suppressed_total 3",
        ] {
            assert!(text.contains(line), "{line} in {text}");
        }
        assert!(!super::node_metrics(&[], None, None, None).contains("aeroguard_alarm"));
    }
}
