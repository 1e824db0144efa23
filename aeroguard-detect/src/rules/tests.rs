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
