//! What `/metrics` reports, on prometheus-client (OpenMetrics text): ingested readings, refused requests,
//! alarms and votes per member, each vote's integrity and the members its diagnosis left out, and the ingest
//! latency.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

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

/// Labels of one member of a series' vote.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MemberLabels {
    /// The series.
    pub series: String,
    /// The ensemble member.
    pub member: String,
}

/// A gauge of a real number.
type Real = Gauge<f64, AtomicU64>;

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
    integrity: Family<SeriesLabel, Gauge>,
    required: Family<SeriesLabel, Real>,
    available: Family<SeriesLabel, Real>,
    degraded: Family<SeriesLabel, Gauge>,
    left_out: Family<MemberLabels, Gauge>,
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
        let m = Metrics {
            registry: Registry::default(),
            ingested: Family::default(),
            skipped: Family::default(),
            rejected: Family::default(),
            alarms: Family::default(),
            votes: Family::default(),
            integrity: Family::default(),
            required: Family::default(),
            available: Family::default(),
            degraded: Family::default(),
            left_out: Family::default(),
            latency: Histogram::new(BUCKETS),
        };
        let r = &mut registry;
        r.register(
            "aeroguard_ingested",
            "Fused readings accepted by /ingest",
            m.ingested.clone(),
        );
        r.register(
            "aeroguard_skipped",
            "Readings /ingest skipped as already taken (not after the series' last time: a re-send)",
            m.skipped.clone(),
        );
        r.register(
            "aeroguard_rejected",
            "Requests refused, by reason",
            m.rejected.clone(),
        );
        r.register(
            "aeroguard_alarms",
            "Rows the ensemble raised an alarm on",
            m.alarms.clone(),
        );
        r.register(
            "aeroguard_votes",
            "Votes cast by each ensemble member",
            m.votes.clone(),
        );
        r.register(
            "aeroguard_ingest_seconds",
            "Time to validate, score and store one /ingest request",
            m.latency.clone(),
        );
        r.register(
            "aeroguard_vote_integrity",
            "1 when no single member of the series' vote can force or suppress its alarm, else 0",
            m.integrity.clone(),
        );
        r.register(
            "aeroguard_vote_required_weight",
            "Weight of yes votes the series' vote needs now",
            m.required.clone(),
        );
        r.register(
            "aeroguard_vote_available_weight",
            "Weight of the members the series' vote counts now",
            m.available.clone(),
        );
        r.register(
            "aeroguard_vote_degraded_rows",
            "Rows the series' vote has decided with a member failed or left out",
            m.degraded.clone(),
        );
        r.register(
            "aeroguard_member_left_out",
            "1 while a member's diagnosis leaves it out of the vote (frozen, non-finite, alarming alone), else 0",
            m.left_out.clone(),
        );
        Metrics { registry, ..m }
    }

    /// Sets the integrity gauges of `series` from its vote's [`Integrity`](aeroguard_detect::Integrity).
    ///
    /// ```
    /// use aeroguard_detect::Integrity;
    /// use aeroguard_sentinel::Metrics;
    /// let m = Metrics::new();
    /// m.integrity("pump-1", &Integrity::of(&["a", "b", "c"], &[1.0; 3], 2.0));
    /// let text = m.render();
    /// assert!(text.contains("aeroguard_vote_integrity{series=\"pump-1\"} 1"), "{text}");
    /// assert!(text.contains("aeroguard_member_left_out{series=\"pump-1\",member=\"b\"} 0"), "{text}");
    /// ```
    pub fn integrity(&self, series: &str, i: &aeroguard_detect::Integrity) {
        let label = SeriesLabel {
            series: series.into(),
        };
        self.integrity.get_or_create(&label).set(i64::from(i.holds()));
        self.required.get_or_create(&label).set(i.effective_m);
        self.available.get_or_create(&label).set(i.available);
        self.degraded
            .get_or_create(&label)
            .set(i64::try_from(i.degraded_rows).unwrap_or(i64::MAX));
        for (member, _) in &i.weights {
            let labels = MemberLabels {
                series: series.into(),
                member: member.clone(),
            };
            self.left_out
                .get_or_create(&labels)
                .set(i64::from(i.left_out.contains(member)));
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
