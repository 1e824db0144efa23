//! The alert lifecycle on timestamps, hot reloads, limits and rule files.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use aeroguard_core::Timestamp;

use super::*;

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_millis(seconds * 1000)
}

fn statuses(events: &[AlertEvent]) -> Vec<(&str, AlertStatus)> {
    events.iter().map(|e| (e.rule.as_str(), e.status)).collect()
}

#[test]
fn for_and_keep_firing_for_are_measured_in_time_not_rows() {
    let rule = AlertRule::new("hot", Condition::Above(90.0))
        .unwrap()
        .with_for(Duration::from_secs(120))
        .with_keep_firing_for(Duration::from_secs(30));
    // The same two minutes at one sample a second and at one every 40 s.
    for step in [1, 40] {
        let mut a = Alerts::new(vec![rule.clone()]).unwrap();
        let mut fired_at = None;
        let mut t = 0;
        while t <= 200 {
            for e in a.observe("p", at(t), Sample::value(95.0)).unwrap() {
                if e.status == AlertStatus::Firing {
                    fired_at = Some(t);
                    assert_eq!(e.since, at(0));
                }
            }
            t += step;
        }
        assert_eq!(fired_at, Some(120), "step {step} s");
        // Cool for 20 s: still firing (keep_firing_for 30 s), then resolved at 30 s past the last hot sample.
        let last_hot = t - step;
        assert!(
            a.observe("p", at(last_hot + 20), Sample::value(80.0))
                .unwrap()
                .is_empty()
        );
        let e = a.observe("p", at(last_hot + 30), Sample::value(80.0)).unwrap();
        assert_eq!(statuses(&e), [("hot", AlertStatus::Resolved)]);
        assert!(a.firing().is_empty());
    }
}

#[test]
fn a_pending_alert_that_stops_is_dropped_quietly_and_a_blip_refires_while_kept() {
    let rule = AlertRule::new("low", Condition::Below(5.0))
        .unwrap()
        .with_for(Duration::from_secs(10));
    let mut a = Alerts::new(vec![rule]).unwrap();
    assert_eq!(
        a.observe("s", at(0), Sample::value(1.0)).unwrap()[0].status,
        AlertStatus::Pending
    );
    assert!(
        a.observe("s", at(5), Sample::value(9.0)).unwrap().is_empty(),
        "no notification for a pending one"
    );
    // It starts over: pending again, and 10 s from the new start.
    assert_eq!(
        a.observe("s", at(6), Sample::value(1.0)).unwrap()[0].status,
        AlertStatus::Pending
    );
    assert!(a.observe("s", at(15), Sample::value(1.0)).unwrap().is_empty());
    assert_eq!(
        a.observe("s", at(16), Sample::value(1.0)).unwrap()[0].status,
        AlertStatus::Firing
    );
    // Series are independent; one rule per series is one alert.
    assert_eq!(
        a.observe("other", at(16), Sample::value(1.0)).unwrap()[0].status,
        AlertStatus::Pending
    );
    assert_eq!(a.firing(), [("low", "s")]);
}

#[test]
fn verdicts_severity_and_labels_travel_with_the_event() {
    let rule = AlertRule::new("anomaly", Condition::Anomaly)
        .unwrap()
        .with_severity(Severity::Critical)
        .with_label("team", "ops");
    let mut a = Alerts::new(vec![rule]).unwrap();
    let e = a.observe("p", at(0), Sample::verdict(f64::NAN, true)).unwrap();
    assert_eq!(
        (e[0].status, e[0].severity),
        (AlertStatus::Firing, Severity::Critical)
    );
    assert_eq!(e[0].labels["team"], "ops");
    let e = a.observe("p", at(1), Sample::verdict(3.0, false)).unwrap();
    assert_eq!(e[0].status, AlertStatus::Resolved);
}

#[test]
fn bad_input_is_a_typed_error_and_changes_nothing() {
    let mut a = Alerts::new(vec![AlertRule::new("hot", Condition::Above(1.0)).unwrap()])
        .unwrap()
        .with_max_series(2);
    assert!(matches!(
        a.observe("p", at(0), Sample::value(f64::NAN)),
        Err(Error::NonFinite { .. })
    ));
    a.observe("p", at(10), Sample::value(5.0)).unwrap();
    assert!(matches!(
        a.observe("p", at(9), Sample::value(0.0)),
        Err(Error::InvalidParameter { name: "at", .. })
    ));
    assert_eq!(a.firing(), [("hot", "p")], "a refused sample changes nothing");
    a.observe("q", at(0), Sample::value(0.0)).unwrap();
    assert!(matches!(
        a.observe("r", at(0), Sample::value(0.0)),
        Err(Error::InvalidParameter { name: "series", .. })
    ));
    for bad in [String::new(), "s".repeat(257)] {
        assert!(matches!(
            a.observe(&bad, at(20), Sample::value(0.0)),
            Err(Error::InvalidParameter { name: "series", .. })
        ));
    }
    assert!(AlertRule::new("bad name", Condition::Anomaly).is_err());
    assert!(AlertRule::new("x", Condition::Above(f64::INFINITY)).is_err());
    let twice = vec![
        AlertRule::new("x", Condition::Anomaly).unwrap(),
        AlertRule::new("x", Condition::Above(1.0)).unwrap(),
    ];
    assert!(Alerts::new(twice).is_err());
    let long = AlertRule::new("x", Condition::Anomaly)
        .unwrap()
        .with_for(Duration::from_secs(400 * 86_400));
    assert!(Alerts::new(vec![long]).is_err());
}

#[test]
fn a_hot_reload_keeps_what_stays_and_resolves_what_goes() {
    let hot = AlertRule::new("hot", Condition::Above(1.0)).unwrap();
    let anomaly = AlertRule::new("anomaly", Condition::Anomaly).unwrap();
    let mut a = Alerts::new(vec![hot.clone(), anomaly]).unwrap();
    a.observe("p", at(0), Sample::verdict(5.0, true)).unwrap();
    assert_eq!(a.firing(), [("anomaly", "p"), ("hot", "p")]);
    let gone = a.replace_rules(vec![hot], at(1)).unwrap();
    assert_eq!(statuses(&gone), [("anomaly", AlertStatus::Resolved)]);
    assert_eq!(
        a.firing(),
        [("hot", "p")],
        "the kept rule's alert keeps firing, without a second notification"
    );
    assert!(
        a.observe("p", at(2), Sample::verdict(5.0, true))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn rule_files_parse_and_bad_ones_name_the_line() {
    let text = r#"
[[rule]]
name = "pump-hot"
above = 90.0
for = "2m"
keep_firing_for = "30s"
severity = "critical"
labels = { team = "ops" }

[[rule]]
name = "pump-anomaly"
anomaly = true
"#;
    let rules = parse_rules(text).unwrap();
    assert_eq!(rules.len(), 2);
    assert_eq!(
        (
            rules[0].condition,
            rules[0].for_,
            rules[0].keep_firing_for,
            rules[0].severity
        ),
        (
            Condition::Above(90.0),
            Duration::from_secs(120),
            Duration::from_secs(30),
            Severity::Critical
        )
    );
    assert_eq!(
        (rules[1].condition, rules[1].severity),
        (Condition::Anomaly, Severity::Warning)
    );
    let line = |text: &str| match parse_rules(text) {
        Err(Error::RuleFile { line, reason }) => (line, reason),
        other => panic!("{other:?}"),
    };
    // A syntax error, an unknown field, two conditions, a bad duration, a bad severity, a duplicate name.
    assert_eq!(line("[[rule]]\nname = \"a\"\nabove = \n").0, 3);
    assert!(
        line("[[rule]]\nname = \"a\"\nabove = 1.0\nfour = \"2m\"\n")
            .1
            .contains("four")
    );
    let (l, why) =
        line("[[rule]]\nname = \"a\"\nabove = 1.0\n\n[[rule]]\nname = \"b\"\nabove = 1.0\nbelow = 0.0\n");
    assert_eq!(l, 5, "{why}");
    assert!(why.contains("exactly one condition"), "{why}");
    assert!(
        line("[[rule]]\nname = \"a\"\nabove = 1.0\nfor = \"2 min\"\n")
            .1
            .contains("duration")
    );
    assert!(
        line("[[rule]]\nname = \"a\"\nanomaly = true\nseverity = \"fatal\"\n")
            .1
            .contains("fatal")
    );
    let (l, why) = line("[[rule]]\nname = \"a\"\nanomaly = true\n[[rule]]\nname = \"a\"\nabove = 2.0\n");
    assert_eq!(l, 4, "{why}");
    assert!(parse_rules(&"#".repeat(2 << 20)).is_err(), "size limit");
    assert!(parse_rules("").unwrap().is_empty());
}

#[test]
fn a_successor_restoring_the_state_neither_drops_nor_repeats_an_alert() {
    let rule = AlertRule::new("hot", Condition::Above(90.0))
        .unwrap()
        .with_for(Duration::from_secs(10));
    let pending = AlertRule::new("warm", Condition::Above(80.0))
        .unwrap()
        .with_for(Duration::from_secs(600));
    let mut first = Alerts::new(vec![rule.clone(), pending.clone()]).unwrap();
    first.observe("p", at(0), Sample::value(95.0)).unwrap();
    let fired = first.observe("p", at(10), Sample::value(95.0)).unwrap();
    assert_eq!(statuses(&fired), [("hot", AlertStatus::Firing)]);
    // The leader dies; its last state went to the store (as JSON) and the successor takes it over.
    let saved: AlertState = serde_json::from_str(&serde_json::to_string(&first.state()).unwrap()).unwrap();
    assert_eq!(saved, first.state());
    let mut next = Alerts::new(vec![rule.clone(), pending]).unwrap();
    next.restore(saved.clone()).unwrap();
    assert_eq!(next.state(), saved);
    // Still hot: no second "firing"; "warm" stays pending from its first time, not from now.
    assert!(next.observe("p", at(20), Sample::value(95.0)).unwrap().is_empty());
    let state = next.state();
    assert_eq!(
        state.alerts.iter().find(|a| a.rule == "warm").unwrap().since,
        at(0)
    );
    // It cools: the successor resolves what its predecessor fired, with the original start.
    let resolved = next.observe("p", at(30), Sample::value(50.0)).unwrap();
    assert_eq!(statuses(&resolved), [("hot", AlertStatus::Resolved)]);
    assert_eq!(resolved[0].since, at(0));
    // Without the state, the successor would have notified a new firing alert: the doubling restore prevents.
    let mut amnesiac = Alerts::new(vec![rule.clone()]).unwrap();
    amnesiac.observe("p", at(20), Sample::value(95.0)).unwrap();
    assert_eq!(
        statuses(&amnesiac.observe("p", at(30), Sample::value(95.0)).unwrap()),
        [("hot", AlertStatus::Firing)]
    );
    // Time order holds across the hand-over, and alerts of rules no longer in force are left out.
    assert!(next.observe("p", at(25), Sample::value(95.0)).is_err());
    let mut other = Alerts::new(vec![AlertRule::new("cold", Condition::Below(0.0)).unwrap()]).unwrap();
    other.restore(saved).unwrap();
    assert!(other.state().alerts.is_empty());
    // A hostile state is refused whole.
    let mut huge = AlertState::default();
    for i in 0..20 {
        huge.last.insert(format!("s{i}"), at(0));
    }
    let mut small = Alerts::new(vec![rule.clone()]).unwrap().with_max_series(10);
    assert!(small.restore(huge).is_err());
    let mut long = AlertState::default();
    long.last.insert("x".repeat(300), at(0));
    assert!(small.restore(long).is_err());
}

#[test]
fn firing_alerts_are_sent_again_with_their_start_and_value_even_after_a_restore() {
    let rules = vec![
        AlertRule::new("hot", Condition::Above(90.0)).unwrap(),
        AlertRule::new("slow", Condition::Above(50.0))
            .unwrap()
            .with_for(Duration::from_secs(600)),
    ];
    let mut a = Alerts::new(rules.clone()).unwrap();
    a.observe("p", at(10), Sample::value(95.0)).unwrap();
    a.observe("p", at(20), Sample::value(93.0)).unwrap();
    // Still firing at 30 s (the condition held at 20 s); "slow" is only pending: not sent.
    let again = a.refresh(at(30));
    assert_eq!(statuses(&again), [("hot", AlertStatus::Firing)]);
    assert_eq!(
        (again[0].at, again[0].since, again[0].value),
        (at(30), at(10), 93.0)
    );
    // A successor sends the same, value included, from the state alone.
    let state = a.state();
    assert_eq!(
        state.alerts.iter().find(|t| t.rule == "hot").unwrap().value,
        Some(93.0)
    );
    let json = serde_json::to_string(&state).unwrap();
    let mut b = Alerts::new(rules).unwrap();
    b.restore(serde_json::from_str(&json).unwrap()).unwrap();
    assert_eq!(b.refresh(at(30)), again);
    // Resolved: nothing more to send.
    a.observe("p", at(40), Sample::value(10.0)).unwrap();
    assert!(a.refresh(at(50)).is_empty());
}
