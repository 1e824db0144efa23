//! Alarm management (ISA-18.2, EEMUA 191): a flood, a chattering alarm and a shelf, each figure checked.

use std::time::Duration;

use aeroguard_core::Timestamp;
use aeroguard_detect::alert::{AlarmLog, AlertEvent, AlertStatus, ManagementOptions, Outcome};

fn at(s: i64) -> Timestamp {
    Timestamp::from_millis(1_700_000_000_000 + s * 1000)
}

fn event(rule: &str, status: AlertStatus, s: i64) -> AlertEvent {
    AlertEvent {
        rule: rule.into(),
        series: "unit-1".into(),
        status,
        at: at(s),
        since: at(s),
        severity: Default::default(),
        labels: Default::default(),
        value: 1.0,
    }
}

#[test]
fn a_flood_begins_past_ten_in_ten_minutes_and_ends() {
    let mut log = AlarmLog::new(ManagementOptions {
        operators: 2,
        ..ManagementOptions::default()
    })
    .unwrap();
    for i in 0..12 {
        assert_eq!(
            log.record(&event(&format!("a{i}"), AlertStatus::Firing, i * 30)),
            Outcome::Annunciated
        );
        let k = log.kpis(at(i * 30));
        assert_eq!(k.in_flood, i >= 10, "after {} alarms", i + 1);
    }
    let k = log.kpis(at(331));
    assert_eq!(
        (k.annunciated, k.per_operator, k.floods, k.standing),
        (12, 6.0, 1, 12)
    );
    // Ten minutes after the last, the rate is back to nothing; the alarms still stand.
    let k = log.kpis(at(330 + 600));
    assert_eq!(
        (k.annunciated, k.in_flood, k.floods, k.standing),
        (0, false, 1, 12)
    );
    for i in 0..12 {
        assert_eq!(
            log.record(&event(&format!("a{i}"), AlertStatus::Resolved, 1000)),
            Outcome::Cleared
        );
    }
    assert_eq!(log.kpis(at(1000)).standing, 0);
    // Active more than a day: stale.
    log.record(&event("stuck-open", AlertStatus::Firing, 2000));
    assert!(log.kpis(at(2000 + 24 * 3600)).stale.is_empty());
    assert_eq!(
        log.kpis(at(2001 + 24 * 3600)).stale,
        vec![("stuck-open".to_string(), "unit-1".to_string())]
    );
}

#[test]
fn a_chattering_alarm_is_held_back_on_the_record() {
    let mut log = AlarmLog::new(ManagementOptions::default()).unwrap();
    let mut outcomes = Vec::new();
    for s in [0, 10, 20, 30, 40] {
        outcomes.push(log.record(&event("level-switch", AlertStatus::Firing, s)));
        log.record(&event("level-switch", AlertStatus::Resolved, s + 2));
    }
    use Outcome::{Annunciated as A, Suppressed as S};
    assert_eq!(outcomes, vec![A, A, S, S, S]);
    let k = log.kpis(at(45));
    assert_eq!((k.annunciated, k.suppressed, k.chattering.len()), (2, 3, 1));
    let records: Vec<_> = log.suppressed().collect();
    assert_eq!(records.len(), 3);
    assert_eq!((records[0].at, records[0].activations), (at(20), 3));
    // Quiet for a minute: no longer chattering, and its next activation reaches the operators.
    assert!(log.kpis(at(101)).chattering.is_empty());
    assert_eq!(log.record(&event("level-switch", AlertStatus::Firing, 200)), A);
    // Without suppression, chattering is counted but nothing is held back.
    let mut open = AlarmLog::new(ManagementOptions {
        suppress_chattering: false,
        ..Default::default()
    })
    .unwrap();
    for s in [0, 10, 20] {
        assert_eq!(open.record(&event("x", AlertStatus::Firing, s)), A);
    }
    assert_eq!(open.kpis(at(21)).chattering.len(), 1);
}

#[test]
fn a_shelf_holds_an_alarm_back_until_it_expires_on_the_record() {
    let mut log = AlarmLog::new(ManagementOptions::default()).unwrap();
    log.shelve(
        "hi-temp",
        "unit-1",
        at(3600),
        "operator-7",
        "sensor under maintenance",
        at(0),
    )
    .unwrap();
    assert_eq!(
        log.record(&event("hi-temp", AlertStatus::Firing, 100)),
        Outcome::Shelved
    );
    let k = log.kpis(at(200));
    assert_eq!((k.annunciated, k.shelved, k.standing), (0, 1, 1));
    log.record(&event("hi-temp", AlertStatus::Resolved, 300));
    // The shelf runs out at 3600 s: expired on the record, and the alarm reaches the operators again.
    assert_eq!(
        log.record(&event("hi-temp", AlertStatus::Firing, 3700)),
        Outcome::Annunciated
    );
    let audit: Vec<_> = log
        .audit()
        .map(|r| (r.action.as_str(), r.by.as_str(), r.at))
        .collect();
    assert_eq!(
        audit,
        vec![("shelved", "operator-7", at(0)), ("expired", "expiry", at(3700))]
    );
    assert_eq!(log.audit().next().unwrap().until, Some(at(3600)));
    // Unshelving by hand is on the record too; what is not shelved cannot be unshelved.
    log.shelve("hi-temp", "unit-1", at(9000), "operator-7", "again", at(4000))
        .unwrap();
    log.unshelve("hi-temp", "unit-1", "supervisor-2", "maintenance done", at(4100))
        .unwrap();
    assert_eq!(log.audit().last().unwrap().action, "unshelved");
    assert!(
        log.unshelve("hi-temp", "unit-1", "supervisor-2", "twice", at(4200))
            .is_err()
    );
    // Shelves that end before they begin, last past 30 days, or name nobody are refused.
    assert!(log.shelve("a", "b", at(10), "op", "why", at(20)).is_err());
    assert!(
        log.shelve("a", "b", at(31 * 24 * 3600), "op", "why", at(0))
            .is_err()
    );
    assert!(log.shelve("a", "b", at(60), " ", "why", at(0)).is_err());
    assert!(
        AlarmLog::new(ManagementOptions {
            rate_window: Duration::ZERO,
            ..Default::default()
        })
        .is_err()
    );
}
