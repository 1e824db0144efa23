//! What the reads after the run show: the config converged to the last acknowledged write; the history holds
//! every acknowledged append once, in token order, and no refused one; unknown outcomes resolved against those
//! reads; the queue's duplicates and reorderings counted.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::{Report, violation};
use crate::event::{Event, Op, Outcome};

/// Config converges to the last acknowledged write: every final read agrees, and holds that write or a later
/// one whose fate was unknown.
pub(super) fn check_config(events: &[Event], r: &mut Report) {
    let writes: Vec<(&str, Option<u64>, Outcome)> = events
        .iter()
        .filter_map(|e| match &e.op {
            Op::ConfigSet {
                value,
                version,
                outcome,
                ..
            } => Some((value.as_str(), *version, *outcome)),
            _ => None,
        })
        .collect();
    let last_ok = writes
        .iter()
        .filter(|w| w.2 == Outcome::Ok)
        .filter_map(|w| w.1.map(|v| (v, w.0)))
        .max();
    r.config_writes = writes.iter().filter(|w| w.2 == Outcome::Ok).count();
    let finals: Vec<(Option<&str>, u64)> = events
        .iter()
        .filter_map(|e| match &e.op {
            Op::ConfigFinal { value, version } => Some((value.as_deref(), *version)),
            _ => None,
        })
        .collect();
    let Some(&first) = finals.first() else {
        if last_ok.is_some() {
            violation(
                r,
                "config not read",
                i64::MAX,
                "no final read of the config".into(),
            );
        }
        return;
    };
    if finals.iter().any(|f| *f != first) {
        violation(
            r,
            "config diverged",
            i64::MAX,
            format!("final reads disagree: {finals:?}"),
        );
    }
    let Some((v, value)) = last_ok else { return };
    let mut distinct = finals.clone();
    distinct.dedup();
    for (got, version) in distinct {
        let known = got.is_some_and(|g| writes.iter().any(|w| w.0 == g && w.2 != Outcome::Fail));
        if version < v || (version == v && got != Some(value)) || (version > v && !known) {
            violation(
                r,
                "config lost a write",
                i64::MAX,
                format!(
                    "the last acknowledged write was {value:?} at version {v}; a final read is {got:?} at version {version}"
                ),
            );
            return;
        }
    }
}

/// Every acknowledged append is in the history read back after the run, once, under its token; no refused
/// one is; the stored points' tokens never go down; appends whose outcome was unknown are resolved (counted
/// as stored or not).
pub(super) fn check_history(events: &[Event], r: &mut Report) {
    let appends: HashMap<(&str, u64), (u64, Outcome, i64)> = events
        .iter()
        .filter_map(|e| match e.op {
            Op::Append { token, seq, outcome } => Some(((e.node.as_str(), seq), (token, outcome, e.start))),
            _ => None,
        })
        .collect();
    let Some(stored) = events.iter().find_map(|e| match &e.op {
        Op::HistoryFinal { points } => Some(points),
        _ => None,
    }) else {
        if appends.values().any(|a| a.1 == Outcome::Ok) {
            violation(
                r,
                "history not read",
                i64::MAX,
                "no final read of the history".into(),
            );
        }
        return;
    };
    r.final_points = stored.len();
    let mut seen: BTreeSet<(&str, u64)> = BTreeSet::new();
    let mut highest: Option<(u64, &str, u64)> = None;
    for p in stored {
        let key = (p.node.as_str(), p.seq);
        if !seen.insert(key) {
            violation(
                r,
                "point stored twice",
                i64::MAX,
                format!("{}'s point {} is stored twice", p.node, p.seq),
            );
        }
        if let Some((h, hn, hs)) = highest
            && p.token < h
        {
            violation(
                r,
                "history out of token order",
                i64::MAX,
                format!(
                    "{}'s point {} under token {} is stored after {hn}'s point {hs} under token {h}",
                    p.node, p.seq, p.token
                ),
            );
        }
        if highest.is_none_or(|h| p.token > h.0) {
            highest = Some((p.token, &p.node, p.seq));
        }
        match appends.get(&key) {
            None => r.unlogged_points += 1,
            Some((token, _, at)) if *token != p.token => violation(
                r,
                "stored under another token",
                *at,
                format!(
                    "{}'s point {} was appended under token {token}, stored under {}",
                    p.node, p.seq, p.token
                ),
            ),
            Some((token, Outcome::Fail, at)) => violation(
                r,
                "refused append stored",
                *at,
                format!(
                    "{}'s point {} under token {token} was refused, yet it is stored",
                    p.node, p.seq
                ),
            ),
            Some(_) => {}
        }
    }
    let mut lost: Vec<(i64, &str, u64, u64)> = Vec::new();
    for (&(node, seq), &(token, outcome, at)) in &appends {
        match outcome {
            Outcome::Ok if !seen.contains(&(node, seq)) => lost.push((at, node, seq, token)),
            Outcome::Info => {
                r.unknown_appends.0 += 1;
                r.unknown_appends.1 += usize::from(seen.contains(&(node, seq)));
            }
            _ => {}
        }
    }
    lost.sort_unstable();
    if let Some(&(at, ..)) = lost.first() {
        let shown: Vec<String> = lost
            .iter()
            .take(10)
            .map(|l| format!("{}'s {} (token {})", l.1, l.2, l.3))
            .collect();
        violation(
            r,
            "acknowledged append lost",
            at,
            format!(
                "{} acknowledged appends are not in the history read after the run: {}",
                lost.len(),
                shown.join(", ")
            ),
        );
    }
}

/// The queue's figures beyond its guarantees: unknown puts resolved by what was delivered, items delivered
/// more than once, and items taken before one their producer put earlier.
pub(super) fn count_queue(events: &[Event], r: &mut Report) {
    let mut acked: HashMap<&str, usize> = HashMap::new();
    let mut first_take: HashMap<&str, i64> = HashMap::new();
    for e in events {
        match &e.op {
            Op::Ack {
                item,
                outcome: Outcome::Ok,
            } => *acked.entry(item).or_default() += 1,
            Op::Take { item } => {
                let t = first_take.entry(item).or_insert(e.end);
                *t = (*t).min(e.end);
            }
            _ => {}
        }
    }
    r.queue_duplicates = acked.values().filter(|n| **n > 1).count();
    let mut by_producer: BTreeMap<&str, Vec<(i64, i64, &str)>> = BTreeMap::new();
    for e in events {
        if let Op::Put { item, outcome } = &e.op {
            match outcome {
                Outcome::Ok => by_producer
                    .entry(&e.node)
                    .or_default()
                    .push((e.start, e.end, item)),
                Outcome::Info => {
                    r.unknown_puts.0 += 1;
                    r.unknown_puts.1 += usize::from(first_take.contains_key(item.as_str()));
                }
                Outcome::Fail => {}
            }
        }
    }
    for puts in by_producer.values_mut() {
        puts.sort_unstable();
        // One put finished before the next began: the later one must not come out first.
        r.queue_reordered += puts
            .windows(2)
            .filter(|w| w[0].1 < w[1].0)
            .filter(|w| match (first_take.get(w[0].2), first_take.get(w[1].2)) {
                (Some(a), Some(b)) => b < a,
                _ => false,
            })
            .count();
    }
}
