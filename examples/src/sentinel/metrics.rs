//! Counters and a latency histogram, written in Prometheus' text exposition format.

use std::collections::BTreeMap;
use std::fmt::Write;

/// Upper bounds of the ingest latency histogram, in seconds.
const BUCKETS: [f64; 10] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 1.0,
];

/// Everything `/metrics` reports.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Readings accepted, by series.
    pub ingested: BTreeMap<String, u64>,
    /// Requests refused, by reason.
    pub rejected: BTreeMap<&'static str, u64>,
    /// Alarms raised, by series.
    pub alarms: BTreeMap<String, u64>,
    /// Votes, by (series, member, vote).
    pub votes: BTreeMap<(String, String, String), u64>,
    latency_counts: [u64; BUCKETS.len()],
    latency_sum: f64,
    latency_n: u64,
}

impl Metrics {
    /// Records one ingest request's handling time.
    pub fn observe_latency(&mut self, seconds: f64) {
        for (i, b) in BUCKETS.iter().enumerate() {
            if seconds <= *b {
                self.latency_counts[i] += 1;
            }
        }
        self.latency_sum += seconds;
        self.latency_n += 1;
    }

    /// The text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let esc = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n");
        let _ = writeln!(
            out,
            "# HELP aeroguard_ingested_total Fused readings accepted by /ingest."
        );
        let _ = writeln!(out, "# TYPE aeroguard_ingested_total counter");
        for (s, n) in &self.ingested {
            let _ = writeln!(out, "aeroguard_ingested_total{{series=\"{}\"}} {n}", esc(s));
        }
        let _ = writeln!(
            out,
            "# HELP aeroguard_rejected_total Requests refused, by reason."
        );
        let _ = writeln!(out, "# TYPE aeroguard_rejected_total counter");
        for (r, n) in &self.rejected {
            let _ = writeln!(out, "aeroguard_rejected_total{{reason=\"{r}\"}} {n}");
        }
        let _ = writeln!(
            out,
            "# HELP aeroguard_alarms_total Rows the ensemble raised an alarm on."
        );
        let _ = writeln!(out, "# TYPE aeroguard_alarms_total counter");
        for (s, n) in &self.alarms {
            let _ = writeln!(out, "aeroguard_alarms_total{{series=\"{}\"}} {n}", esc(s));
        }
        let _ = writeln!(
            out,
            "# HELP aeroguard_votes_total Votes cast by each ensemble member."
        );
        let _ = writeln!(out, "# TYPE aeroguard_votes_total counter");
        for ((s, m, v), n) in &self.votes {
            let _ = writeln!(
                out,
                "aeroguard_votes_total{{series=\"{}\",member=\"{}\",vote=\"{v}\"}} {n}",
                esc(s),
                esc(m)
            );
        }
        let _ = writeln!(
            out,
            "# HELP aeroguard_ingest_seconds Time to validate, score and store one /ingest request."
        );
        let _ = writeln!(out, "# TYPE aeroguard_ingest_seconds histogram");
        for (b, n) in BUCKETS.iter().zip(&self.latency_counts) {
            let _ = writeln!(out, "aeroguard_ingest_seconds_bucket{{le=\"{b}\"}} {n}");
        }
        let _ = writeln!(
            out,
            "aeroguard_ingest_seconds_bucket{{le=\"+Inf\"}} {}",
            self.latency_n
        );
        let _ = writeln!(out, "aeroguard_ingest_seconds_sum {}", self.latency_sum);
        let _ = writeln!(out, "aeroguard_ingest_seconds_count {}", self.latency_n);
        out
    }
}
