//! Integrity of a vote and members that diagnose themselves, through the voter.

mod support;

use aeroguard_core::Timestamp;
use aeroguard_detect::{Diagnosis, EnsembleRecipe, Fault, FittedDetector, Integrity, Vote, Voter};
use ndarray::Array2;
use proptest::prelude::*;
use support::members;

/// Scores that move a little from row to row, under (quiet) or over (alarming) the threshold 0.5.
fn quiet(t: usize) -> f64 {
    0.1 + 0.01 * (t % 7) as f64
}
fn alarming(t: usize) -> f64 {
    0.9 + 0.01 * (t % 5) as f64
}

#[test]
fn the_check_refuses_weights_that_let_one_member_decide() {
    // The weights the recommended recipe once had: the relations member's 6 reaches the 6 needed alone.
    let mut old = EnsembleRecipe::full();
    old.levels.subspace_z = None;
    old.voting.weights = vec![1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 6.0];
    old.voting.m = 6.0;
    let i = old.integrity();
    assert!(!i.holds());
    assert_eq!(i.forcing, ["relations"]);
    assert!(i.warnings()[0].contains("member `relations` forces every alarm"));
    // Every recommended recipe passes.
    for r in [EnsembleRecipe::default(), EnsembleRecipe::full()] {
        assert!(r.integrity().holds(), "{:?}", r.integrity().warnings());
    }
}

#[test]
fn a_short_relations_member_votes_beside_the_relations_member_under_its_own_name() {
    // Three related sensors (two follow the first), 400 normal rows.
    let x = Array2::from_shape_fn((400, 3), |(i, j)| {
        let base = 10.0 + (i as f64 * 0.05).sin();
        let noise = ((i * 7919 + j * 104_729) % 100) as f64 / 1000.0;
        base * (j + 1) as f64 + noise
    });
    let mut r = EnsembleRecipe::default();
    r.levels.relations_z = Some(5.0);
    r.levels.short_relations_z = Some(5.0);
    r.voting.level_weight = Some(3.0);
    r.voting.m = 5.0;
    assert_eq!(
        r.member_names(),
        [
            "rules",
            "kmeans",
            "isolation_forest",
            "relations",
            "relations_short"
        ]
    );
    assert_eq!(r.member_weights(), [1.0, 1.0, 1.0, 3.0, 3.0]);
    assert!(r.integrity().holds(), "{:?}", r.integrity().warnings());
    let members = r.members(x.view()).unwrap();
    let names: Vec<&str> = members.iter().map(|m| m.name()).collect();
    assert_eq!(names, r.member_names());
    // The two see the same relations over different windows: both fitted, both quiet on normal rows, and
    // the voter takes them as two members.
    let voter = r.voter(members).unwrap();
    let verdicts = voter.decide(x.view()).unwrap();
    assert!(verdicts[100..].iter().all(|v| !v.alarm));
    assert_eq!(verdicts[0].members[4].name, "relations_short");
    // A name a member could not vote under is refused when the member is built.
    let bad = aeroguard_detect::Relations::builder().name("").build();
    assert!(matches!(
        bad,
        Err(aeroguard_detect::Error::InvalidParameter { name: "name", .. })
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The check says what the vote does: a member that forces passes the vote alone, one that suppresses
    /// leaves the others unable to pass it; when the check holds, neither happens for any member.
    #[test]
    fn integrity_predicts_the_vote(weights in prop::collection::vec(1u8..5, 3..7), m_frac in 0.05f64..1.0) {
        let weights: Vec<f64> = weights.into_iter().map(f64::from).collect();
        let total: f64 = weights.iter().sum();
        let m = (m_frac * total).ceil().max(1.0);
        let n = weights.len();
        let names: Vec<String> = (0..n).map(|i| format!("m{i}")).collect();
        let integrity = Integrity::of(&names, &weights, m);
        let voter = Voter::builder(members(n))
            .weights(weights.clone())
            .m(m)
            .diagnosis(Diagnosis { alone_window: 0, nonfinite_rows: 0, ..Diagnosis::default() })
            .build()
            .unwrap();
        for (i, name) in names.iter().enumerate() {
            let only = Array2::from_shape_fn((1, n), |(_, j)| if j == i { 1.0 } else { 0.0 });
            let all_but = Array2::from_shape_fn((1, n), |(_, j)| if j == i { 0.0 } else { 1.0 });
            let forced = voter.decide(only.view()).unwrap()[0].alarm;
            let survives = voter.decide(all_but.view()).unwrap()[0].alarm;
            prop_assert_eq!(forced, integrity.forcing.contains(name));
            prop_assert_eq!(!survives, integrity.suppressing.contains(name));
            if integrity.holds() {
                prop_assert!(!forced && survives);
            }
        }
    }
}

#[test]
fn a_member_stuck_alarming_is_left_out_within_its_stated_rows_and_counted_again_after() {
    let mut voter = Voter::builder(members(4)).m(2.0).build().unwrap();
    let limit = 150; // half of the 300-row window
    let row = |t: usize, stuck: bool, other: bool| {
        ndarray::array![
            if stuck { alarming(t) } else { quiet(t) },
            if other { alarming(t) } else { quiet(t) },
            quiet(t + 1),
            quiet(t + 2)
        ]
    };
    // Stuck alone: no alarm (2 needed), and flagged on its 150th row alone.
    let out: Vec<_> = (0..limit)
        .map(|t| voter.update(row(t, true, false).view()))
        .collect();
    assert!(out[..limit - 1].iter().all(|v| v.members[0].fault.is_none()));
    assert_eq!(
        out[limit - 1].members[0].fault,
        Some(Fault::AlarmingAlone {
            alone: 150,
            window: 300
        })
    );
    // Left out: one more yes no longer passes the vote, and the record says why.
    let v = voter.update(row(limit, true, true).view());
    assert!(!v.passed && v.degraded);
    assert_eq!((v.yes, v.required, v.available), (1.0, 2.0, 3.0));
    assert_eq!(v.members[0].vote, Vote::Yes);
    let i = voter.integrity();
    assert_eq!(i.left_out, ["m0"]);
    assert_eq!(i.degraded_rows, 2);
    // It recovers: once its alone rows fall under half the limit, it counts again.
    let mut t = limit + 1;
    while voter.update(row(t, false, false).view()).members[0]
        .fault
        .is_some()
    {
        t += 1;
        assert!(t < 2_000, "never restored");
    }
    let v = voter.update(row(t, true, true).view());
    assert!(v.passed && !v.degraded, "{v:?}");
    assert!(voter.integrity().left_out.is_empty());
}

#[test]
fn a_frozen_score_is_found_at_the_limit_calibrated_on_training_rows() {
    let mut voter = Voter::builder(members(3)).m(2.0).build().unwrap();
    // Training rows: member 0's score repeats at most 5 rows in a row; member 2's never moves.
    let train = Array2::from_shape_fn((200, 3), |(t, j)| match j {
        0 => quiet(t / 5),
        1 => quiet(t),
        _ => 0.2,
    });
    voter.calibrate_diagnosis(train.view(), 20).unwrap();
    assert_eq!(voter.diagnosis().frozen_limits, [20, 20, 0]);
    let out: Vec<_> = (0..30)
        .map(|t| voter.update(ndarray::array![0.3, quiet(t), 0.2].view()))
        .collect();
    assert!(out[18].members[0].fault.is_none());
    assert_eq!(out[19].members[0].fault, Some(Fault::Frozen { rows: 20 }));
    assert!(
        out.iter().all(|v| v.members[2].fault.is_none()),
        "member 2 is not checked"
    );
    let v = voter.update(ndarray::array![0.31, quiet(31), 0.2].view());
    assert!(v.members[0].fault.is_none(), "a moving score clears it");
}

#[test]
fn non_finite_scores_are_a_fault_and_time_degraded_is_counted() {
    let mut voter = Voter::builder(members(3)).m(2.0).build().unwrap();
    let at = |s: i64| Timestamp::from_millis(s * 1_000);
    voter.update_at(ndarray::array![0.1, 0.1, 0.1].view(), at(0));
    let out: Vec<_> = (1..=5)
        .map(|s| voter.update_at(ndarray::array![f64::NAN, 0.1, 0.1].view(), at(s)))
        .collect();
    assert!(out[1].members[0].fault.is_none());
    assert_eq!(out[2].members[0].fault, Some(Fault::NonFinite { rows: 3 }));
    let i = voter.integrity();
    assert_eq!((i.degraded_rows, i.degraded_ms), (3, 3_000));
    // Two of two left: both must agree.
    let v = voter.update_at(ndarray::array![f64::INFINITY, 0.9, 0.1].view(), at(6));
    assert!(!v.passed && v.required == 2.0 && v.available == 2.0);
}

#[test]
fn with_every_other_member_left_out_the_last_one_still_raises_the_alarm() {
    // Two members non-finite and dropped: the third's weight is all there is, so it alone is enough.
    let mut voter = Voter::builder(members(3)).m(2.0).build().unwrap();
    voter.update(ndarray::array![0.1, 0.1, 0.1].view());
    let mut last = None;
    for _ in 0..3 {
        last = Some(voter.update(ndarray::array![f64::NAN, f64::NAN, 0.9].view()));
    }
    let v = last.unwrap();
    assert_eq!((v.required, v.available), (1.0, 1.0));
    assert!(v.passed);
}
