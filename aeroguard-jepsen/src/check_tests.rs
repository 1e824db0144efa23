//! The checker fed histories with each fault.
#![allow(clippy::unwrap_used)]
use super::*;
use crate::event::Stored;

fn ev(node: &str, start: i64, end: i64, op: Op) -> Event {
    Event {
        node: node.into(),
        start: start * 1_000,
        end: end * 1_000,
        op,
        error: None,
    }
}

fn append(node: &str, start: i64, end: i64, token: u64, seq: u64) -> Event {
    ev(
        node,
        start,
        end,
        Op::Append {
            token,
            seq,
            outcome: Outcome::Ok,
        },
    )
}

/// A clean history: two terms one after the other, writes under each, a queue item, a config write.
fn clean() -> Vec<Event> {
    vec![
        ev("n1", 0, 5, Op::Elected { token: 1 }),
        ev("n1", 6, 6, Op::Trusted { token: 1 }),
        append("n1", 7, 9, 1, 1),
        ev("n1", 10, 10, Op::Trusted { token: 1 }),
        ev("n2", 4, 30, Op::Elected { token: 2 }),
        ev("n2", 31, 31, Op::Trusted { token: 2 }),
        append("n2", 32, 33, 2, 2),
        ev(
            "n1",
            1,
            2,
            Op::Put {
                item: "a".into(),
                outcome: Outcome::Ok,
            },
        ),
        ev("n2", 3, 4, Op::Take { item: "a".into() }),
        ev(
            "n2",
            5,
            6,
            Op::Ack {
                item: "a".into(),
                outcome: Outcome::Ok,
            },
        ),
        ev(
            "n1",
            40,
            41,
            Op::ConfigSet {
                value: "x".into(),
                expect: 0,
                version: Some(1),
                outcome: Outcome::Ok,
            },
        ),
        ev(
            "final",
            50,
            51,
            Op::ConfigFinal {
                value: Some("x".into()),
                version: 1,
            },
        ),
        history_final(&[("n1", 1, 1), ("n2", 2, 2)]),
    ]
}

/// The history read back after the run: (node, token, seq) per point, in stored order.
fn history_final(points: &[(&str, u64, u64)]) -> Event {
    let points = points
        .iter()
        .map(|(node, token, seq)| Stored {
            node: (*node).into(),
            token: *token,
            seq: *seq,
        })
        .collect();
    ev("final", 52, 53, Op::HistoryFinal { points })
}

/// `clean()` with its history read replaced by `points`.
fn read_back(extra: Vec<Event>, points: &[(&str, u64, u64)]) -> Vec<Event> {
    let mut h: Vec<Event> = clean()
        .into_iter()
        .filter(|e| !matches!(e.op, Op::HistoryFinal { .. }))
        .collect();
    h.extend(extra);
    h.push(history_final(points));
    h
}

fn rules(events: &[Event]) -> Vec<&'static str> {
    check(events).violations.iter().map(|v| v.rule).collect()
}

#[test]
fn a_clean_history_passes() {
    let r = check(&clean());
    assert_eq!(r.violations, vec![]);
    assert_eq!((r.grants, r.appends, r.puts, r.config_writes), (2, 2, 1, 1));
    assert_eq!(r.stall_ms(1.0, 0, i64::MAX), 24.0);
    assert_eq!(r.stall_ms(1.0, 0, 10_000), 0.0, "no stall ended before 10 ms");
}

#[test]
fn overlapping_trust_is_found() {
    let mut h = clean();
    h.push(ev("n1", 35, 35, Op::Trusted { token: 1 }));
    assert_eq!(rules(&h), ["two leaders trusted"]);
}

#[test]
fn a_reused_token_and_a_backwards_token_are_found() {
    let mut h = clean();
    h.push(ev("n3", 60, 61, Op::Elected { token: 2 }));
    assert_eq!(rules(&h), ["token reused"]);
    let mut h = clean();
    h.push(ev("n3", 60, 61, Op::Elected { token: 0 }));
    assert!(rules(&h).contains(&"token order"), "{:?}", rules(&h));
}

#[test]
fn writes_need_a_grant_trust_and_order() {
    let h = read_back(
        vec![append("n3", 40, 41, 2, 9)],
        &[("n1", 1, 1), ("n2", 2, 2), ("n3", 2, 9)],
    );
    assert_eq!(rules(&h), ["write without a grant"]);
    let mut h = clean();
    h.push(ev("n3", 20, 21, Op::Elected { token: 3 }));
    h.push(append("n3", 22, 23, 3, 9));
    h.push(ev("n3", 24, 24, Op::Trusted { token: 3 }));
    assert!(rules(&h).contains(&"write without trust"), "{:?}", rules(&h));
    // Stored after the newer term's point, the read back shows it too.
    let h = read_back(
        vec![append("n1", 40, 41, 1, 3)],
        &[("n1", 1, 1), ("n2", 2, 2), ("n1", 1, 3)],
    );
    assert_eq!(rules(&h), ["stale write accepted", "history out of token order"]);
}

#[test]
fn lost_items_and_double_holds_are_found() {
    let mut h = clean();
    h.push(ev(
        "n1",
        1,
        2,
        Op::Put {
            item: "b".into(),
            outcome: Outcome::Ok,
        },
    ));
    assert_eq!(rules(&h), ["acknowledged item lost"]);
    // Unknown puts may be lost; unknown acks count as delivered.
    let mut h = clean();
    h.push(ev(
        "n1",
        1,
        2,
        Op::Put {
            item: "c".into(),
            outcome: Outcome::Info,
        },
    ));
    h.push(ev(
        "n1",
        1,
        2,
        Op::Put {
            item: "d".into(),
            outcome: Outcome::Ok,
        },
    ));
    h.push(ev("n1", 3, 4, Op::Take { item: "d".into() }));
    h.push(ev(
        "n1",
        5,
        9,
        Op::Ack {
            item: "d".into(),
            outcome: Outcome::Info,
        },
    ));
    assert_eq!(rules(&h), Vec::<&str>::new());
    let mut h = clean();
    h.push(ev("n1", 2, 3, Op::Take { item: "a".into() }));
    h.push(ev(
        "n1",
        5,
        9,
        Op::Ack {
            item: "a".into(),
            outcome: Outcome::Ok,
        },
    ));
    assert_eq!(rules(&h), ["item held twice"]);
}

#[test]
fn config_must_converge_to_the_last_acknowledged_write() {
    let mut h = clean();
    h.push(ev(
        "n2",
        60,
        61,
        Op::ConfigFinal {
            value: None,
            version: 0,
        },
    ));
    assert_eq!(rules(&h), ["config diverged", "config lost a write"]);
    let mut h: Vec<Event> = clean()
        .into_iter()
        .filter(|e| !matches!(e.op, Op::ConfigFinal { .. }))
        .collect();
    h.push(ev(
        "final",
        50,
        51,
        Op::ConfigFinal {
            value: Some("y".into()),
            version: 1,
        },
    ));
    assert_eq!(rules(&h), ["config lost a write"]);
    // A later write whose fate was unknown may be what stays.
    let mut h: Vec<Event> = clean()
        .into_iter()
        .filter(|e| !matches!(e.op, Op::ConfigFinal { .. }))
        .collect();
    h.push(ev(
        "n1",
        42,
        49,
        Op::ConfigSet {
            value: "z".into(),
            expect: 1,
            version: None,
            outcome: Outcome::Info,
        },
    ));
    h.push(ev(
        "final",
        50,
        51,
        Op::ConfigFinal {
            value: Some("z".into()),
            version: 2,
        },
    ));
    assert_eq!(rules(&h), Vec::<&str>::new());
}

#[test]
fn the_history_read_back_holds_every_acknowledged_append_once_and_in_token_order() {
    let r = check(&clean());
    assert_eq!((r.final_points, r.unlogged_points), (2, 0));
    // An acknowledged append missing from the history.
    assert_eq!(
        rules(&read_back(vec![], &[("n1", 1, 1)])),
        ["acknowledged append lost"]
    );
    // Stored twice, or out of token order.
    assert_eq!(
        rules(&read_back(vec![], &[("n1", 1, 1), ("n2", 2, 2), ("n1", 1, 1)])),
        ["point stored twice", "history out of token order"]
    );
    assert_eq!(
        rules(&read_back(vec![], &[("n2", 2, 2), ("n1", 1, 1)])),
        ["history out of token order"]
    );
    // A refused append that is stored anyway.
    let refused = ev(
        "n2",
        34,
        35,
        Op::Append {
            token: 2,
            seq: 3,
            outcome: Outcome::Fail,
        },
    );
    assert_eq!(
        rules(&read_back(
            vec![refused],
            &[("n1", 1, 1), ("n2", 2, 2), ("n2", 2, 3)]
        )),
        ["refused append stored"]
    );
    // No read at all, with acknowledged appends.
    let unread: Vec<Event> = clean()
        .into_iter()
        .filter(|e| !matches!(e.op, Op::HistoryFinal { .. }))
        .collect();
    assert_eq!(rules(&unread), ["history not read"]);
}

#[test]
fn unknown_outcomes_are_resolved_against_the_reads() {
    let unknown = |seq| {
        ev(
            "n2",
            34,
            35,
            Op::Append {
                token: 2,
                seq,
                outcome: Outcome::Info,
            },
        )
    };
    let h = read_back(
        vec![unknown(3), unknown(4)],
        &[("n1", 1, 1), ("n2", 2, 2), ("n2", 2, 4), ("n3", 2, 9)],
    );
    let r = check(&h);
    assert_eq!(r.violations, vec![]);
    assert_eq!(
        r.unknown_appends,
        (2, 1),
        "one of the two unknown appends is stored"
    );
    assert_eq!(r.unlogged_points, 1, "n3's point was never logged");
    let mut h = clean();
    for (item, outcome) in [("b", Outcome::Info), ("c", Outcome::Info)] {
        h.push(ev(
            "n1",
            60,
            61,
            Op::Put {
                item: item.into(),
                outcome,
            },
        ));
    }
    h.push(ev("n2", 62, 63, Op::Take { item: "c".into() }));
    assert_eq!(check(&h).unknown_puts, (2, 1));
}

#[test]
fn queue_duplicates_and_reorderings_are_counted() {
    let mut h = clean();
    let put = |item: &str, start, end| {
        ev(
            "n1",
            start,
            end,
            Op::Put {
                item: item.into(),
                outcome: Outcome::Ok,
            },
        )
    };
    let ack = |item: &str, at| {
        ev(
            "n2",
            at,
            at + 1,
            Op::Ack {
                item: item.into(),
                outcome: Outcome::Ok,
            },
        )
    };
    h.extend([put("b", 60, 61), put("c", 62, 63)]);
    h.extend([
        ev("n2", 64, 65, Op::Take { item: "c".into() }),
        ack("c", 66),
        ev("n2", 68, 69, Op::Take { item: "b".into() }),
        ack("b", 70),
        ev("n2", 72, 73, Op::Take { item: "b".into() }),
        ack("b", 74),
    ]);
    let r = check(&h);
    assert_eq!((r.queue_duplicates, r.queue_reordered), (1, 1), "{r:?}");
}
