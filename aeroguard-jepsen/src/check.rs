//! The checker: reads a run's history and finds what a fenced system must never do.
//!
//! Every check reports only what is certain from the history: intervals are the ones the workers observed
//! (an operation happened somewhere between its start and its end), and a clock bound `EPSILON` covers the
//! time between a worker reading the clock and the event it logs. All processes of a run share the host's
//! clock, so there is no drift between them; `EPSILON` is 1 ms.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use super::event::{Event, Op, Outcome};

mod final_reads;

/// The clock bound, in microseconds.
pub const EPSILON: i64 = 1_000;

/// One broken guarantee, with the events that show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Which guarantee.
    pub rule: &'static str,
    /// When (microseconds; for telling which fault it followed).
    pub at: i64,
    /// What the history shows.
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.rule, self.detail)
    }
}

/// What a history holds, and what is wrong with it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Operations (nemesis actions not counted).
    pub operations: usize,
    /// Grants seen (distinct tokens).
    pub grants: usize,
    /// Accepted history appends.
    pub appends: usize,
    /// Acknowledged queue puts.
    pub puts: usize,
    /// Acknowledged config writes.
    pub config_writes: usize,
    /// Faults injected.
    pub faults: usize,
    /// Points in the history read back after the run.
    pub final_points: usize,
    /// Appends whose outcome was unknown, and how many of them the final read found stored.
    pub unknown_appends: (usize, usize),
    /// Puts whose outcome was unknown, and how many of them were delivered (the final drain included).
    pub unknown_puts: (usize, usize),
    /// Items delivered (acknowledged) more than once: at-least-once delivery allows it; counted.
    pub queue_duplicates: usize,
    /// Items one producer put after another that were first taken before it: counted.
    pub queue_reordered: usize,
    /// Stored points whose append no worker logged (a worker killed while appending).
    pub unlogged_points: usize,
    /// The broken guarantees (the target is none).
    pub violations: Vec<Violation>,
    /// Gaps between consecutive accepted appends as (end of the later one, gap), in microseconds: the write
    /// stall.
    pub stalls: Vec<(i64, i64)>,
}

impl Report {
    /// The `q`-quantile of the write stalls that ended in `[from, to)`, in milliseconds (0 without any).
    pub fn stall_ms(&self, q: f64, from: i64, to: i64) -> f64 {
        let mut s: Vec<i64> = self
            .stalls
            .iter()
            .filter(|g| g.0 >= from && g.0 < to)
            .map(|g| g.1)
            .collect();
        if s.is_empty() {
            return 0.0;
        }
        s.sort_unstable();
        let i = ((s.len() - 1) as f64 * q).round() as usize;
        s[i.min(s.len() - 1)] as f64 / 1_000.0
    }
}

/// Checks a history (the events of every worker of one run, in any order).
pub fn check(events: &[Event]) -> Report {
    let mut r = Report {
        operations: events
            .iter()
            .filter(|e| !matches!(e.op, Op::Nemesis { .. }))
            .count(),
        faults: events
            .iter()
            .filter(|e| matches!(e.op, Op::Nemesis { .. }))
            .count(),
        ..Report::default()
    };
    check_grants(events, &mut r);
    check_trust(events, &mut r);
    check_appends(events, &mut r);
    check_queue(events, &mut r);
    final_reads::check_config(events, &mut r);
    final_reads::check_history(events, &mut r);
    final_reads::count_queue(events, &mut r);
    r
}

/// Whether two observed spans certainly overlap: each ends more than the clock bound (twice: both ends were
/// read from the clock) after the other begins. A span may be a single instant.
fn overlaps(a: (i64, i64), b: (i64, i64)) -> bool {
    a.1 - b.0 >= 2 * EPSILON && b.1 - a.0 >= 2 * EPSILON
}

fn violation(r: &mut Report, rule: &'static str, at: i64, detail: String) {
    r.violations.push(Violation { rule, at, detail });
}

/// Tokens are unique per grant (one holder each) and increase: a grant that completed before another began has
/// the lower token.
fn check_grants(events: &[Event], r: &mut Report) {
    let mut holders: BTreeMap<u64, BTreeSet<&str>> = BTreeMap::new();
    // The earliest completion and latest start of each token's grant.
    let mut spans: BTreeMap<u64, (i64, i64)> = BTreeMap::new();
    for e in events {
        if let Op::Elected { token } = e.op {
            holders.entry(token).or_default().insert(&e.node);
            let s = spans.entry(token).or_insert((e.end, e.start));
            s.0 = s.0.min(e.end);
            s.1 = s.1.max(e.start);
        }
    }
    r.grants = holders.len();
    for (token, nodes) in &holders {
        if nodes.len() > 1 {
            let at = spans.get(token).map_or(0, |s| s.0);
            violation(
                r,
                "token reused",
                at,
                format!("token {token} was granted to {nodes:?}"),
            );
        }
    }
    for (&a, &(a_done, _)) in &spans {
        for (&b, &(_, b_began)) in &spans {
            if a > b && a_done + EPSILON < b_began {
                violation(
                    r,
                    "token order",
                    b_began,
                    format!(
                        "token {a} was granted at {a_done} us, before token {b} was asked for at {b_began} us"
                    ),
                );
            }
        }
    }
}

/// No two leaders are trusted at overlapping times: the span from a term's first to its last `Trusted` never
/// overlaps another term's.
fn check_trust(events: &[Event], r: &mut Report) {
    let mut terms: BTreeMap<u64, (i64, i64, &str)> = BTreeMap::new();
    for e in events {
        if let Op::Trusted { token } = e.op {
            let t = terms.entry(token).or_insert((e.start, e.start, &e.node));
            t.0 = t.0.min(e.start);
            t.1 = t.1.max(e.start);
        }
    }
    let terms: Vec<_> = terms.into_iter().collect();
    for (i, (a, (a0, a1, an))) in terms.iter().enumerate() {
        for (b, (b0, b1, bn)) in &terms[i + 1..] {
            if overlaps((*a0, *a1), (*b0, *b1)) {
                let overlap = a1.min(b1) - a0.max(b0);
                violation(
                    r,
                    "two leaders trusted",
                    *a0.max(b0),
                    format!(
                        "token {a} ({an}) trusted {a0}..{a1} and token {b} ({bn}) trusted {b0}..{b1} us ({} ms together)",
                        overlap.max(0) / 1_000
                    ),
                );
            }
        }
    }
}

/// Every accepted write carries the token of a grant its writer held and had found trusted before it wrote,
/// and the store never accepted a write under a token older than one it had already accepted.
fn check_appends(events: &[Event], r: &mut Report) {
    let granted: BTreeSet<(u64, &str)> = events
        .iter()
        .filter_map(|e| match e.op {
            Op::Elected { token } => Some((token, e.node.as_str())),
            _ => None,
        })
        .collect();
    let mut first_trusted: HashMap<(u64, &str), i64> = HashMap::new();
    for e in events {
        if let Op::Trusted { token } = e.op {
            let t = first_trusted.entry((token, &e.node)).or_insert(e.start);
            *t = (*t).min(e.start);
        }
    }
    let mut accepted: Vec<(i64, i64, u64, &str, u64)> = events
        .iter()
        .filter_map(|e| match e.op {
            Op::Append {
                token,
                seq,
                outcome: Outcome::Ok,
            } => Some((e.start, e.end, token, e.node.as_str(), seq)),
            _ => None,
        })
        .collect();
    accepted.sort_unstable();
    r.appends = accepted.len();
    for &(start, _, token, node, seq) in &accepted {
        if !granted.contains(&(token, node)) {
            violation(
                r,
                "write without a grant",
                start,
                format!("{node} wrote point {seq} under token {token}, never granted to it"),
            );
        } else if first_trusted
            .get(&(token, node))
            .is_none_or(|&t| t > start + EPSILON)
        {
            violation(
                r,
                "write without trust",
                start,
                format!("{node} wrote point {seq} under token {token} before finding its term trusted"),
            );
        }
    }
    // Against the newest accepted write that ended before each one started.
    let mut by_end: Vec<(i64, u64, &str, u64)> = accepted.iter().map(|a| (a.1, a.2, a.3, a.4)).collect();
    by_end.sort_unstable();
    let mut highest: Option<(u64, &str, u64)> = None;
    let mut j = 0;
    for &(start, _, token, node, seq) in &accepted {
        while j < by_end.len() && by_end[j].0 + EPSILON < start {
            if highest.is_none_or(|h| by_end[j].1 > h.0) {
                highest = Some((by_end[j].1, by_end[j].2, by_end[j].3));
            }
            j += 1;
        }
        if let Some((h, hn, hs)) = highest
            && token < h
        {
            violation(
                r,
                "stale write accepted",
                start,
                format!(
                    "{node}'s point {seq} under token {token} was accepted after {hn}'s point {hs} under token {h}"
                ),
            );
        }
    }
    let mut ends: Vec<i64> = accepted.iter().map(|a| a.1).collect();
    ends.sort_unstable();
    r.stalls = ends.windows(2).map(|w| (w[1], w[1] - w[0])).collect();
}

/// No acknowledged put is lost (each is acked by some consumer, the final drain included, or its ack's fate is
/// unknown); no item is held by two consumers at once (a hold runs from a take to its successful ack).
fn check_queue(events: &[Event], r: &mut Report) {
    let put: BTreeSet<&str> = events
        .iter()
        .filter_map(|e| match &e.op {
            Op::Put {
                item,
                outcome: Outcome::Ok,
            } => Some(item.as_str()),
            _ => None,
        })
        .collect();
    r.puts = put.len();
    let delivered: BTreeSet<&str> = events
        .iter()
        .filter_map(|e| match &e.op {
            Op::Ack { item, outcome } if *outcome != Outcome::Fail => Some(item.as_str()),
            _ => None,
        })
        .collect();
    let lost: Vec<&&str> = put.difference(&delivered).collect();
    if !lost.is_empty() {
        violation(
            r,
            "acknowledged item lost",
            i64::MAX,
            format!(
                "{} acknowledged puts were never delivered: {:?}",
                lost.len(),
                lost.iter().take(10).collect::<Vec<_>>()
            ),
        );
    }
    // Holds: per node and item, each successful ack closes the latest take before it.
    let mut order: Vec<&Event> = events
        .iter()
        .filter(|e| matches!(e.op, Op::Take { .. } | Op::Ack { .. }))
        .collect();
    order.sort_by_key(|e| (e.end, e.start));
    let mut open: HashMap<(&str, &str), i64> = HashMap::new();
    let mut holds: BTreeMap<&str, Vec<(i64, i64, &str)>> = BTreeMap::new();
    for e in order {
        match &e.op {
            Op::Take { item } => {
                open.insert((&e.node, item), e.end);
            }
            Op::Ack { item, outcome } => {
                if let Some(from) = open.remove(&(e.node.as_str(), item.as_str()))
                    && *outcome == Outcome::Ok
                {
                    holds.entry(item).or_default().push((from, e.end, &e.node));
                }
            }
            _ => {}
        }
    }
    for (item, hs) in &holds {
        for (i, a) in hs.iter().enumerate() {
            for b in &hs[i + 1..] {
                if a.2 != b.2 && overlaps((a.0, a.1), (b.0, b.1)) {
                    violation(
                        r,
                        "item held twice",
                        a.0.max(b.0),
                        format!(
                            "{item} was held by {} ({}..{}) and {} ({}..{})",
                            a.2, a.0, a.1, b.2, b.0, b.1
                        ),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "check_tests.rs"]
mod tests;
