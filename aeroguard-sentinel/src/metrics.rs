//! What `/metrics` reports, on prometheus-client (OpenMetrics text): ingested readings, refused requests,
//! alarms and votes per member, and the ingest latency.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Upper bounds of the ingest latency histogram, in seconds.
const BUCKETS: [f64; 10] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 1.0,
];

/// Labels naming a series.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SeriesLabel {
    /// The series.
    pub series: String,
}

/// Labels naming why a request was refused.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    /// The reason (`malformed`, `invalid`, `fenced`, ...).
    pub reason: String,
}

/// Labels of one member's votes on a series.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct VoteLabels {
    /// The series.
    pub series: String,
    /// The ensemble member.
    pub member: String,
    /// `yes`, `no`, `abstained` or `failed`.
    pub vote: String,
}

/// Everything `/metrics` reports.
///
/// ```
/// use aeroguard_sentinel::Metrics;
/// let m = Metrics::new();
/// m.ingested("pump-1", 3);
/// m.rejected("fenced");
/// let text = m.render();
/// assert!(text.contains("aeroguard_ingested_total{series=\"pump-1\"} 3"), "{text}");
/// assert!(text.contains("aeroguard_rejected_total{reason=\"fenced\"} 1"), "{text}");
/// ```
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    ingested: Family<SeriesLabel, Counter>,
    skipped: Family<SeriesLabel, Counter>,
    rejected: Family<ReasonLabel, Counter>,
    alarms: Family<SeriesLabel, Counter>,
    votes: Family<VoteLabels, Counter>,
    latency: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Every metric registered, at zero.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let ingested = Family::<SeriesLabel, Counter>::default();
        let skipped = Family::<SeriesLabel, Counter>::default();
        let rejected = Family::<ReasonLabel, Counter>::default();
        let alarms = Family::<SeriesLabel, Counter>::default();
        let votes = Family::<VoteLabels, Counter>::default();
        let latency = Histogram::new(BUCKETS);
        registry.register(
            "aeroguard_ingested",
            "Fused readings accepted by /ingest",
            ingested.clone(),
        );
        registry.register(
            "aeroguard_skipped",
            "Readings /ingest skipped as already taken (not after the series' last time: a re-send)",
            skipped.clone(),
        );
        registry.register(
            "aeroguard_rejected",
            "Requests refused, by reason",
            rejected.clone(),
        );
        registry.register(
            "aeroguard_alarms",
            "Rows the ensemble raised an alarm on",
            alarms.clone(),
        );
        registry.register(
            "aeroguard_votes",
            "Votes cast by each ensemble member",
            votes.clone(),
        );
        registry.register(
            "aeroguard_ingest_seconds",
            "Time to validate, score and store one /ingest request",
            latency.clone(),
        );
        Metrics {
            registry,
            ingested,
            skipped,
            rejected,
            alarms,
            votes,
            latency,
        }
    }

    /// Counts `n` readings accepted for `series`.
    pub fn ingested(&self, series: &str, n: u64) {
        self.ingested
            .get_or_create(&SeriesLabel {
                series: series.into(),
            })
            .inc_by(n);
    }

    /// Counts `n` readings skipped as already taken for `series`.
    pub fn skipped(&self, series: &str, n: u64) {
        if n > 0 {
            self.skipped
                .get_or_create(&SeriesLabel {
                    series: series.into(),
                })
                .inc_by(n);
        }
    }

    /// Counts one refused request.
    pub fn rejected(&self, reason: &str) {
        self.rejected
            .get_or_create(&ReasonLabel {
                reason: reason.into(),
            })
            .inc();
    }

    /// Counts `n` alarms on `series`.
    pub fn alarms(&self, series: &str, n: u64) {
        self.alarms
            .get_or_create(&SeriesLabel {
                series: series.into(),
            })
            .inc_by(n);
    }

    /// Counts one vote of `member` on `series`.
    pub fn vote(&self, series: &str, member: &str, vote: &str) {
        self.votes_n(series, member, vote, 1);
    }

    /// Counts `n` votes of `member` on `series` (a request's votes are counted together, once per label set).
    pub fn votes_n(&self, series: &str, member: &str, vote: &str, n: u64) {
        let labels = VoteLabels {
            series: series.into(),
            member: member.into(),
            vote: vote.into(),
        };
        self.votes.get_or_create(&labels).inc_by(n);
    }

    /// Records one ingest request's handling time.
    pub fn observe_latency(&self, seconds: f64) {
        self.latency.observe(seconds);
    }

    /// The OpenMetrics text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::warn!(error = %e, "metrics could not be encoded");
        }
        out
    }
}
