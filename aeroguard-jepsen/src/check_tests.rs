//! The checker fed histories with each fault.
#![allow(clippy::unwrap_used)]
use super::*;

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
    ]
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
    let mut h = clean();
    h.push(append("n3", 40, 41, 2, 9));
    assert_eq!(rules(&h), ["write without a grant"]);
    let mut h = clean();
    h.push(ev("n3", 20, 21, Op::Elected { token: 3 }));
    h.push(append("n3", 22, 23, 3, 9));
    h.push(ev("n3", 24, 24, Op::Trusted { token: 3 }));
    assert!(rules(&h).contains(&"write without trust"), "{:?}", rules(&h));
    let mut h = clean();
    h.push(append("n1", 40, 41, 1, 3));
    assert_eq!(rules(&h), ["stale write accepted"]);
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
