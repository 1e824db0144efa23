#![allow(clippy::unwrap_used)]

use std::time::Duration;

use aeroguard_core::Timestamp;

use super::*;
use crate::{MemberRecord, Vote};

fn at(s: i64) -> Timestamp {
    Timestamp::from_millis(1_700_000_000_000 + s * 1000)
}

fn verdict(alarm: bool) -> Verdict {
    let member = |name: &str, score: f64| MemberRecord {
        name: name.into(),
        score: Some(score),
        threshold: 0.5,
        weight: 1.0,
        vote: if score > 0.5 { Vote::Yes } else { Vote::No },
        fault: None,
        drivers: vec![],
    };
    let s = if alarm { 0.9 } else { 0.1 };
    Verdict {
        alarm,
        passed: alarm,
        yes: if alarm { 2.0 } else { 0.0 },
        required: 2.0,
        available: 3.0,
        degraded: false,
        members: vec![member("iforest", s), member("ae", s), member("lstm", 0.2)],
    }
}

const POLICY: &str = r#"
[[action]]
name = "upset"
vote = true
recommend = "Inspect {subject}: {votes}"
notify = true
webhook = true
quiet = "5s"
severity = "critical"

[[action]]
name = "drift"
health = "drifting"
recommend = "Recalibrate {sensor}: out of tolerance in about {time_to_tolerance}"

[[action]]
name = "near-limit"
time_to_limit_below = "10m"
recommend = "{subject} reaches its limit in {time_to_limit}"
"#;

fn upset(s: i64, alarm: bool) -> Facts {
    Facts::new("pump-1", at(s)).with_verdict(verdict(alarm))
}

#[test]
fn a_vote_acts_once_per_episode_and_the_record_carries_the_votes() {
    let mut a = Actions::new(parse_policy(POLICY).unwrap());
    assert!(a.observe(&upset(0, false)).unwrap().is_empty());
    let acted = a.observe(&upset(1, true)).unwrap();
    assert_eq!(acted.len(), 1);
    let r = &acted[0];
    assert_eq!((r.rule.as_str(), r.notify, r.webhook), ("upset", true, true));
    assert_eq!(
        r.recommendation,
        "Inspect pump-1: alarm, 2 of 3 for (2 needed): iforest yes 0.9 > 0.5, ae yes 0.9 > 0.5, lstm no 0.2 <= 0.5"
    );
    assert_eq!(r.votes.as_ref().unwrap().members.len(), 3);
    // The alarm flickers off for less than the quiet time: the same episode.
    assert!(a.observe(&upset(3, false)).unwrap().is_empty());
    assert!(a.observe(&upset(5, true)).unwrap().is_empty());
    // Away past the quiet time: the episode ends; the next alarm is a new one, with a new key.
    assert!(a.observe(&upset(11, false)).unwrap().is_empty());
    assert!(a.state().episodes.is_empty());
    let again = a.observe(&upset(12, true)).unwrap();
    assert_eq!(again.len(), 1);
    assert_ne!(again[0].key, r.key);
}

#[test]
fn health_acts_per_sensor_with_its_time_to_tolerance() {
    let mut a = Actions::new(parse_policy(POLICY).unwrap());
    let facts = Facts::new("pump-1", at(0))
        .with_sensor("n1", SensorState::Healthy, None)
        .with_sensor("n2", SensorState::Drifting, Some(Duration::from_secs(90)))
        .with_sensor("n3", SensorState::Excluded, None);
    let acted = a.observe(&facts).unwrap();
    let shown: Vec<(Option<&str>, &str)> = acted
        .iter()
        .map(|r| (r.sensor.as_deref(), r.recommendation.as_str()))
        .collect();
    assert_eq!(
        shown,
        [
            (Some("n2"), "Recalibrate n2: out of tolerance in about 90 s"),
            (Some("n3"), "Recalibrate n3: out of tolerance in about ?"),
        ]
    );
    assert_ne!(acted[0].key, acted[1].key);
}

#[test]
fn time_to_limit_and_remaining_life_compare_below() {
    let mut a = Actions::new(parse_policy(POLICY).unwrap());
    let near = |s, mins: u64| Facts::new("pump-1", at(s)).with_time_to_limit(Duration::from_secs(mins * 60));
    assert!(
        a.observe(&near(0, 10)).unwrap().is_empty(),
        "10 min is not below 10 min"
    );
    let acted = a.observe(&near(1, 4)).unwrap();
    assert_eq!(acted[0].recommendation, "pump-1 reaches its limit in 4 min");
    assert_eq!(acted[0].time_to_limit_ms, Some(240_000));
    let life = parse_policy("[[action]]\nname = \"life\"\nremaining_life_below = 30.0\nrecommend = \"x\"\n")
        .unwrap();
    let mut a = Actions::new(life);
    let unit = |l| Facts::new("engine-3", at(0)).with_remaining_life(l);
    assert!(a.observe(&unit(30.0)).unwrap().is_empty());
    assert_eq!(a.observe(&unit(29.0)).unwrap().len(), 1);
    let err = a.observe(&unit(f64::NAN)).unwrap_err();
    assert!(err.to_string().contains("remaining_life"), "{err}");
}

#[test]
fn a_successor_restoring_the_episodes_does_not_act_again() {
    let policy = parse_policy(POLICY).unwrap();
    let mut first = Actions::new(policy.clone());
    let acted = first.observe(&upset(0, true)).unwrap();
    let state: ActionState = serde_json::from_str(&serde_json::to_string(&first.state()).unwrap()).unwrap();
    let mut next = Actions::new(policy.clone());
    next.restore(state).unwrap();
    assert!(next.observe(&upset(1, true)).unwrap().is_empty());
    // Without the state, it would act, under the key of its own episode start.
    let mut forgetful = Actions::new(policy);
    assert_ne!(forgetful.observe(&upset(1, true)).unwrap()[0].key, acted[0].key);
    // The key is the same whoever computes it for the same episode.
    let mut twin = Actions::new(parse_policy(POLICY).unwrap());
    assert_eq!(twin.observe(&upset(0, true)).unwrap()[0].key, acted[0].key);
}

#[test]
fn a_new_policy_ends_the_episodes_of_rules_it_drops() {
    let mut a = Actions::new(parse_policy(POLICY).unwrap());
    a.observe(&upset(0, true)).unwrap();
    let kept = parse_policy(&POLICY.replace("name = \"drift\"", "name = \"drift2\"")).unwrap();
    a.replace_policy(kept);
    assert_eq!(a.state().episodes.len(), 1, "upset kept");
    a.replace_policy(parse_policy("[[action]]\nname = \"other\"\nvote = true\nrecommend = \"x\"\n").unwrap());
    assert!(a.state().episodes.is_empty());
    assert_eq!(a.observe(&upset(1, true)).unwrap()[0].rule, "other");
}

#[test]
fn subjects_keep_their_own_episodes() {
    let mut a = Actions::new(parse_policy(POLICY).unwrap());
    a.observe(&upset(0, true)).unwrap();
    let other = Facts::new("pump-2", at(20)).with_verdict(verdict(false));
    a.observe(&other).unwrap();
    assert_eq!(
        a.state().episodes.len(),
        1,
        "pump-2's quiet round does not end pump-1's episode"
    );
}

#[test]
fn bad_policies_are_refused_with_their_line() {
    let cases = [
        (
            "[[action]]\nname = \"a\"\nvote = true\nrecomend = \"x\"\n",
            4,
            "unknown field",
        ),
        (
            "[[action]]\nname = \"a\"\nrecommend = \"x\"\n",
            1,
            "at least one condition",
        ),
        (
            "[[action]]\nname = \"a\"\nvote = true\nrecommend = \"{sensr}\"\n",
            1,
            "unknown placeholder",
        ),
        (
            "[[action]]\nname = \"a\"\nvote = true\nrecommend = \"{votes\"\n",
            1,
            "never closed",
        ),
        (
            "[[action]]\nname = \"a\"\nhealth = \"healthy\"\nrecommend = \"x\"\n",
            1,
            "drifting",
        ),
        (
            "[[action]]\nname = \"a\"\nhealth = \"sick\"\nrecommend = \"x\"\n",
            3,
            "unknown variant",
        ),
        (
            "[[action]]\nname = \"a\"\nvote = true\nquiet = \"soon\"\nrecommend = \"x\"\n",
            1,
            "not a duration",
        ),
        (
            "[[action]]\nname = \"a\"\nremaining_life_below = -1.0\nrecommend = \"x\"\n",
            1,
            "above 0",
        ),
        (
            "[[action]]\nname = \"a\"\nvote = true\nrecommend = \"x\"\n\n[[action]]\nname = \"a\"\nvote = true\nrecommend = \"y\"\n",
            6,
            "a second rule",
        ),
    ];
    for (text, line, says) in cases {
        let err = parse_policy(text).unwrap_err();
        match &err {
            Error::PolicyFile { line: l, reason } => {
                assert_eq!(*l, line, "{text}: {err}");
                assert!(reason.contains(says), "{text}: {err}");
            }
            other => panic!("{other:?}"),
        }
    }
    let huge = "#".repeat(MAX_POLICY_FILE_BYTES + 1);
    assert!(parse_policy(&huge).unwrap_err().to_string().contains("limit"));
    let many: String = (0..=MAX_ACTIONS)
        .map(|i| format!("[[action]]\nname = \"a{i}\"\nvote = true\nrecommend = \"x\"\n"))
        .collect();
    assert!(
        parse_policy(&many)
            .unwrap_err()
            .to_string()
            .contains("over the limit")
    );
}

#[test]
fn a_gate_forgets_the_oldest_keys_past_its_capacity() {
    let mut g = Gate::new(2);
    for k in ["a", "b", "c"] {
        assert_eq!(g.admit(1, k), Admission::Accept);
    }
    assert_eq!(g.admit(1, "c"), Admission::Repeat);
    assert_eq!(g.admit(1, "a"), Admission::Accept, "forgotten");
    assert_eq!(g.admit(0, "z"), Admission::Stale { newest: 1 });
    assert_eq!(g.newest(), 1);
}

#[test]
fn an_action_notifies_as_a_firing_alert_that_says_what_to_do() {
    let mut a = Actions::new(parse_policy(POLICY).unwrap());
    let r = a.observe(&upset(0, true)).unwrap().remove(0).fenced(42, "n1");
    assert_eq!((r.token, r.by.as_deref()), (Some(42), Some("n1")));
    let e = r.as_alert();
    assert_eq!(e.status, crate::alert::AlertStatus::Firing);
    assert_eq!(e.labels["recommendation"], r.recommendation);
    assert_eq!(e.labels["idempotency_key"], r.key);
    let back: ActionRecord = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
    assert_eq!(back, r);
}
