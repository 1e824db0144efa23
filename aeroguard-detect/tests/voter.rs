//! Properties of M-of-N voting, on the pure rule and through detectors.

mod support;

use aeroguard_detect::{Degraded, Error, Vote, VoteRule, Voter};
use ndarray::array;
use proptest::prelude::*;
use support::{Column, members};

fn vote_of(v: u8) -> Vote {
    match v % 4 {
        0 => Vote::Yes,
        1 => Vote::No,
        2 => Vote::Abstained("warming up".into()),
        _ => Vote::Failed("lost".into()),
    }
}

fn votes() -> impl Strategy<Value = Vec<Vote>> {
    prop::collection::vec(any::<u8>().prop_map(vote_of), 1..8)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn m1_is_or_and_mn_is_and(yes in prop::collection::vec(any::<bool>(), 1..8)) {
        let v: Vec<Vote> = yes.iter().map(|y| if *y { Vote::Yes } else { Vote::No }).collect();
        let w = vec![1.0; v.len()];
        let or = VoteRule { m: 1.0, degraded: Degraded::FailSafe };
        let and = VoteRule { m: v.len() as f64, degraded: Degraded::FailSafe };
        prop_assert_eq!(or.passes(&v, &w), yes.iter().any(|y| *y));
        prop_assert_eq!(and.passes(&v, &w), yes.iter().all(|y| *y));
    }

    #[test]
    fn adding_a_yes_vote_never_clears_an_alarm(
        v in votes(), flip in any::<prop::sample::Index>(), m in 1usize..8, drop in any::<bool>(),
        weights in prop::collection::vec(0.1f64..5.0, 8),
    ) {
        let rule = VoteRule { m: m as f64, degraded: if drop { Degraded::Drop } else { Degraded::FailSafe } };
        let w = &weights[..v.len()];
        let mut more = v.clone();
        more[flip.index(v.len())] = Vote::Yes;
        prop_assert!(!rule.passes(&v, w) || rule.passes(&more, w));
        prop_assert!(rule.tally(&more, w) >= rule.tally(&v, w));
    }

    #[test]
    fn verdicts_do_not_depend_on_member_order(
        rows in prop::collection::vec(prop::collection::vec(0.0f64..1.0, 5), 1..30),
        perm in Just((0..5).collect::<Vec<usize>>()).prop_shuffle(),
        m in 1usize..=5, k in 1usize..=3,
    ) {
        let x = ndarray::Array2::from_shape_vec((rows.len(), 5), rows.concat()).unwrap();
        let weights = [1.0, 2.0, 0.5, 1.5, 1.0];
        let a = Voter::builder(members(5)).weights(weights.to_vec()).m(m as f64).k_of_window(k, 3).build().unwrap();
        let shuffled: Vec<Column> = perm.iter().map(|&i| members(5)[i].clone()).collect();
        let b = Voter::builder(shuffled).weights(perm.iter().map(|&i| weights[i]).collect()).m(m as f64)
            .k_of_window(k, 3).build().unwrap();
        let (va, vb) = (a.decide(x.view()).unwrap(), b.decide(x.view()).unwrap());
        for (p, q) in va.iter().zip(&vb) {
            prop_assert_eq!(p.alarm, q.alarm);
            prop_assert!((p.yes - q.yes).abs() < 1e-9);
            // The same records, in the members' order.
            for (j, &i) in perm.iter().enumerate() {
                prop_assert_eq!(&p.members[i], &q.members[j]);
            }
        }
    }

    #[test]
    fn streaming_equals_batch(rows in prop::collection::vec(prop::collection::vec(0.0f64..1.0, 3), 1..40)) {
        let x = ndarray::Array2::from_shape_vec((rows.len(), 3), rows.concat()).unwrap();
        let mut v = Voter::builder(members(3)).m(2.0).k_of_window(2, 4).build().unwrap();
        let batch = v.decide(x.view()).unwrap();
        for (i, r) in x.outer_iter().enumerate() {
            prop_assert_eq!(&v.update(r), &batch[i]);
        }
    }
}

#[test]
fn records_say_who_voted_what() {
    let v = Voter::builder(members(4)).m(3.0).build().unwrap();
    let verdicts = v.decide(array![[0.9, 0.2, 0.7, f64::NAN]].view()).unwrap();
    let r = &verdicts[0];
    assert!(!r.alarm && !r.degraded);
    assert_eq!(r.required, 3.0);
    let got: Vec<(&str, Option<f64>, &Vote)> = r
        .members
        .iter()
        .map(|m| (m.name.as_str(), m.score, &m.vote))
        .collect();
    assert_eq!(
        got,
        [
            ("m0", Some(0.9), &Vote::Yes),
            ("m1", Some(0.2), &Vote::No),
            ("m2", Some(0.7), &Vote::Yes),
            ("m3", None, &Vote::Abstained("no score yet".into()))
        ]
    );
    assert!(r.members.iter().all(|m| m.threshold == 0.5 && m.weight == 1.0));
}

#[test]
fn degraded_3oo4_becomes_2oo3_when_fail_safe() {
    // Member 3 fails on this row (its column is infinite).
    let row = array![0.9, 0.9, 0.1, f64::INFINITY];
    let mut safe = Voter::builder(members(4)).m(3.0).build().unwrap();
    let v = safe.update(row.view());
    assert!(v.alarm && v.degraded);
    assert!(matches!(v.members[3].vote, Vote::Failed(ref e) if e.contains("non-finite")));
    // One yes of the remaining three is not enough, two are.
    assert!(!safe.update(array![0.9, 0.1, 0.1, f64::INFINITY].view()).alarm);
    let mut drop = Voter::builder(members(4))
        .m(3.0)
        .degraded(Degraded::Drop)
        .build()
        .unwrap();
    assert!(!drop.update(row.view()).alarm);
    assert!(drop.update(array![0.9, 0.9, 0.9, f64::INFINITY].view()).alarm);
}

#[test]
fn k_of_window_removes_flicker() {
    let v = Voter::builder(members(1))
        .m(1.0)
        .k_of_window(3, 4)
        .build()
        .unwrap();
    let x = array![[0.9], [0.1], [0.9], [0.1], [0.9], [0.9], [0.9], [0.1]];
    let alarms: Vec<bool> = v.decide(x.view()).unwrap().iter().map(|v| v.alarm).collect();
    assert_eq!(alarms, [false, false, false, false, false, true, true, true]);
}

#[test]
fn bad_ensembles_are_refused() {
    let empty: Vec<Column> = vec![];
    assert!(matches!(
        Voter::builder(empty).build(),
        Err(Error::Ensemble { .. })
    ));
    assert!(matches!(
        Voter::builder(members(3)).m(4.0).build(),
        Err(Error::InvalidParameter { name: "m", .. })
    ));
    assert!(matches!(
        Voter::builder(members(3))
            .weights(vec![1.0, f64::NAN, 1.0])
            .build(),
        Err(Error::InvalidParameter { name: "weights", .. })
    ));
    assert!(matches!(
        Voter::builder(members(3)).k_of_window(3, 2).build(),
        Err(Error::InvalidParameter {
            name: "k_of_window",
            ..
        })
    ));
    let mut twins = members(2);
    twins[1].name = "m0".into();
    assert!(matches!(
        Voter::builder(twins).build(),
        Err(Error::Ensemble { .. })
    ));
    let v = Voter::builder(members(2)).build().unwrap();
    assert!(matches!(
        v.decide(array![[1.0]].view()),
        Err(Error::Shape {
            expected: 2,
            got: 1,
            ..
        })
    ));
}

/// The vote's persistence in time: the same rows alarm at a slow rate and not at a fast one; saved and loaded,
/// the window is the same; rows and time together are refused; without times the row's own vote is the alarm.
#[test]
fn k_of_duration_follows_the_clock() {
    use aeroguard_core::Timestamp;
    use aeroguard_detect::Detector;
    use std::time::Duration;
    let normal = ndarray::Array2::from_shape_fn((50, 1), |(i, _)| (i % 10) as f64);
    let rules = || {
        aeroguard_detect::RuleSet::new(vec![aeroguard_detect::Rule::Range {
            sensor: 0,
            min: 0.0,
            max: 10.0,
        }])
        .unwrap()
        .fit(normal.view())
        .unwrap()
    };
    let make = || {
        Voter::builder(vec![aeroguard_detect::Model::Rules(rules())])
            .k_of_duration(Duration::from_secs(60), Duration::from_secs(120))
            .build()
            .unwrap()
    };
    let run = |voter: &mut Voter<aeroguard_detect::Model>, period_ms: i64| {
        (0..20)
            .map(|i| {
                voter
                    .update_at(
                        ndarray::array![50.0].view(),
                        Timestamp::from_millis(i * period_ms),
                    )
                    .alarm
            })
            .collect::<Vec<bool>>()
    };
    assert!(
        run(&mut make(), 1_000).iter().all(|a| !a),
        "19 s out of range is not 60 s"
    );
    let slow = run(&mut make(), 10_000);
    assert_eq!(
        slow.iter().position(|a| *a),
        Some(6),
        "the seventh row at 10 s a row is 60 s in: {slow:?}"
    );
    // Saved and loaded, the window holds.
    let loaded: Voter<aeroguard_detect::Model> = Voter::load(&make().save().unwrap()).unwrap();
    assert_eq!(run(&mut { loaded }, 10_000), slow);
    // One temporal rule per voter.
    assert!(
        Voter::builder(vec![aeroguard_detect::Model::Rules(rules())])
            .k_of_window(2, 3)
            .k_of_duration(Duration::from_secs(1), Duration::from_secs(2))
            .build()
            .is_err()
    );
    // Without times: each verdict is its row's own vote.
    let mut v = make();
    assert!(v.update(ndarray::array![50.0].view()).alarm);
    assert!(!v.update(ndarray::array![5.0].view()).alarm);
}
