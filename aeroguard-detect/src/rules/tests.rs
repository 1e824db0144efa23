//! Unit tests of the module.
use super::*;
use ndarray::{Array2, array};

#[test]
fn range_and_rate() {
    let r = RuleSet::new(vec![
        Rule::Range {
            sensor: 0,
            min: 0.0,
            max: 10.0,
        },
        Rule::RateOfChange {
            sensor: 1,
            max_step: 2.0,
        },
    ])
    .unwrap();
    let m = r.fit(Array2::zeros((1, 2)).view()).unwrap();
    let s = m
        .score(array![[5.0, 0.0], [15.0, 1.0], [5.0, 7.0], [-10.0, 7.0]].view())
        .unwrap();
    assert_eq!(s.to_vec(), vec![0.0, 0.5, 2.0, 1.0]);
}

#[test]
fn persistence_does_not_chatter() {
    let r = RuleSet::new(vec![Rule::Persistence {
        sensor: 0,
        side: Side::Below,
        level: 10.0,
        clear: 12.0,
        rows: 3,
        seconds: None,
    }])
    .unwrap();
    let m = r.fit(Array2::zeros((1, 1)).view()).unwrap();
    let v = [9.0, 9.0, 11.0, 9.0, 9.0, 9.0, 11.0, 10.5, 11.9, 12.5, 9.0];
    let x = Array2::from_shape_vec((v.len(), 1), v.to_vec()).unwrap();
    let alarms: Vec<bool> = m.is_anomaly(x.view()).unwrap().to_vec();
    // Interrupted run does not alarm; three in a row do; wobbling between level and clear holds the alarm.
    assert_eq!(
        alarms,
        [
            false, false, false, false, false, true, true, true, true, false, false
        ]
    );
}

#[test]
fn learned_rules_flag_level_shifts_only_when_persistent() {
    let x = Array2::from_shape_fn((400, 2), |(i, j)| (i % 10) as f64 + 100.0 * j as f64);
    let rules = RuleSet::learn(x.view(), LearnRules::default()).unwrap();
    assert_eq!(rules.rules().len(), 4);
    let m = rules.fit(x.view()).unwrap();
    assert!(m.score(x.view()).unwrap().iter().all(|s| *s == 0.0));
    let mut y = x
        .slice_axis(ndarray::Axis(0), ndarray::Slice::from(0..20))
        .to_owned();
    y[[5, 1]] = 200.0; // a single spike: not persistent
    for i in 10..20 {
        y[[i, 1]] = 150.0;
    }
    let a = m.is_anomaly(y.view()).unwrap();
    assert!(!a[5] && !a[11] && a[12] && a[19], "{a}");
}

#[test]
fn bad_rules_are_named() {
    assert!(matches!(
        RuleSet::new(vec![]),
        Err(Error::InvalidParameter { name: "rules", .. })
    ));
    let bad = Rule::Persistence {
        sensor: 0,
        side: Side::Above,
        level: 1.0,
        clear: 2.0,
        rows: 1,
        seconds: None,
    };
    assert!(matches!(
        RuleSet::new(vec![bad]),
        Err(Error::InvalidParameter { name: "rules", .. })
    ));
    let r = RuleSet::new(vec![Rule::Range {
        sensor: 3,
        min: 0.0,
        max: 1.0,
    }])
    .unwrap();
    assert!(matches!(
        r.fit(Array2::zeros((1, 2)).view()),
        Err(Error::NoSuchSensor {
            sensor: 3,
            width: 2,
            ..
        })
    ));
    assert!(RuleSet::learn(Array2::zeros((1, 2)).view(), LearnRules::default()).is_err());
}

#[test]
fn persistence_in_seconds_follows_the_clock_not_the_rows() {
    use aeroguard_core::Timestamp;
    // "Above 90 for 2 minutes, clear below 88": the same ten rows above 90 alarm at one rate and not at another.
    let rule = Rule::Persistence {
        sensor: 0,
        side: Side::Above,
        level: 90.0,
        clear: 88.0,
        rows: 1,
        seconds: Some(120.0),
    };
    let fitted = RuleSet::new(vec![rule])
        .unwrap()
        .fit(Array2::zeros((1, 1)).view())
        .unwrap();
    let alarms = |period_s: i64| {
        let mut m = fitted.clone();
        (0..10)
            .map(|i| {
                m.update_at(
                    ndarray::array![95.0].view(),
                    Timestamp::from_millis(i * period_s * 1000),
                )
                .unwrap()
            })
            .map(|s| s > 0.0)
            .collect::<Vec<bool>>()
    };
    assert!(
        alarms(1).iter().all(|a| !a),
        "10 s above the level is not 2 minutes"
    );
    let slow = alarms(30);
    assert_eq!(
        slow.iter().position(|a| *a),
        Some(4),
        "at 30 s a row, the fifth row is 120 s in: {slow:?}"
    );
    // A dip below the level restarts the clock.
    let mut m = fitted.clone();
    let t = |s: i64| Timestamp::from_millis(s * 1000);
    for (s, v) in [(0, 95.0), (100, 95.0), (110, 80.0), (130, 95.0), (240, 95.0)] {
        assert_eq!(
            m.update_at(ndarray::array![v].view(), t(s)).unwrap(),
            0.0,
            "no alarm at {s} s"
        );
    }
    assert!(
        m.update_at(ndarray::array![95.0].view(), t(250)).unwrap() > 0.0,
        "120 s since the run began at 130 s"
    );
    // Without times the rule cannot be applied: a typed error, not a silent answer.
    let mut m = fitted.clone();
    assert!(matches!(
        m.update(ndarray::array![95.0].view()),
        Err(Error::InvalidParameter {
            name: "timestamps",
            ..
        })
    ));
    assert!(matches!(
        fitted.score(Array2::zeros((2, 1)).view()),
        Err(Error::InvalidParameter {
            name: "timestamps",
            ..
        })
    ));
    let bad = Rule::Persistence {
        sensor: 0,
        side: Side::Above,
        level: 1.0,
        clear: 0.0,
        rows: 1,
        seconds: Some(f64::NAN),
    };
    assert!(RuleSet::new(vec![bad]).is_err());
}
