//! Hand-made cases, each worked out from NAB's rules.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::corpus::parse_series;
use super::*;

const N: usize = 2000;

/// 2,000 rows (probation 300), one 100-row window at rows 1,000-1,099.
fn toy() -> NabSeries {
    NabSeries::from_rows("toy", vec![0.0; N], vec![(1000, 1099)]).unwrap()
}

fn with(hits: &[(usize, f64)]) -> Vec<f64> {
    let mut s = vec![0.0; N];
    for &(i, v) in hits {
        s[i] = v;
    }
    s
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6
}

#[test]
fn perfect_and_null_bound_every_profile() {
    for p in &PROFILES {
        let r = score_corpus(&[toy()], &[with(&[(1000, 1.0)])], p).unwrap();
        assert!(close(r.score, 100.0), "{r:?}");
        assert_eq!((r.tp, r.fp, r.fn_, r.threshold), (1, 0, 0, 1.0));
        assert!(close(r.perfect, p.tp) && close(r.null, -p.fn_));
        let r = score_corpus(&[toy()], &[vec![0.5; N]], p).unwrap();
        assert_eq!(
            r.score, 0.0,
            "firing everywhere costs more than it earns: no detection scores best"
        );
        assert_eq!(r.threshold, f64::INFINITY);
    }
}

#[test]
fn a_late_hit_earns_less() {
    // Row 1,050: position -(1099 - 1050 + 1) / 100 = -0.5, worth sigmoid(-0.5) / sigmoid(-1).
    let r = score_corpus(&[toy()], &[with(&[(1050, 1.0)])], &PROFILES[0]).unwrap();
    let worth = scaled_sigmoid(-0.5) / scaled_sigmoid(-1.0);
    assert!(close(r.raw, worth), "{r:?}");
    assert!(close(r.score, 100.0 * (worth + 1.0) / 2.0));
    // Only a window's best detection counts: a second, later hit adds nothing.
    let r2 = score_corpus(&[toy()], &[with(&[(1050, 1.0), (1090, 1.0)])], &PROFILES[0]).unwrap();
    assert!(close(r2.raw, worth) && r2.tp == 1);
}

#[test]
fn false_positives_cost_by_profile_and_by_distance() {
    // A false positive before any window costs A_fp in full; a hit at the window start earns A_tp.
    for (p, want) in PROFILES.iter().zip([0.89, 0.78, 0.89]) {
        let r = score_corpus(&[toy()], &[with(&[(500, 1.0), (1000, 1.0)])], p).unwrap();
        assert!(close(r.raw, want), "{}: {r:?}", p.name);
        assert_eq!((r.tp, r.fp), (1, 1));
    }
    // One row past the window: position 1 / 99, nearly free.
    let r = score_corpus(&[toy()], &[with(&[(1000, 1.0), (1100, 1.0)])], &PROFILES[0]).unwrap();
    assert!(close(r.raw, 1.0 + 0.11 * scaled_sigmoid(1.0 / 99.0)), "{r:?}");
    // Three widths past it or more: the full cost.
    let r = score_corpus(&[toy()], &[with(&[(1000, 1.0), (1099 + 297, 1.0)])], &PROFILES[0]).unwrap();
    assert!(close(r.raw, 1.0 - 0.11), "{r:?}");
}

#[test]
fn the_threshold_is_the_best_one_over_the_corpus() {
    // Ten false positives score above the hit, so taking the hit means taking them: 1 - 10 * 0.11 = -0.1 still
    // beats detecting nothing (-1).
    let mut hits: Vec<(usize, f64)> = (0..10).map(|k| (400 + k, 0.9)).collect();
    hits.push((1000, 0.5));
    let r = score_corpus(&[toy()], &[with(&hits)], &PROFILES[0]).unwrap();
    assert_eq!((r.threshold, r.tp, r.fp), (0.5, 1, 10));
    assert!(close(r.raw, 1.0 - 10.0 * 0.11));
    // With twenty of them, detecting nothing is better.
    let hits: Vec<(usize, f64)> = (0..20).map(|k| (400 + k, 0.9)).chain([(1000, 0.5)]).collect();
    let r = score_corpus(&[toy()], &[with(&hits)], &PROFILES[0]).unwrap();
    assert_eq!((r.score, r.tp, r.fp, r.fn_), (0.0, 0, 0, 1));
}

#[test]
fn probation_is_not_scored() {
    // A detection in the first 300 rows costs nothing; a window wholly inside them is not counted.
    let s = NabSeries::from_rows("p", vec![0.0; N], vec![(100, 150), (1000, 1099)]).unwrap();
    let r = score_corpus(&[s], &[with(&[(120, 1.0), (1000, 1.0)])], &PROFILES[0]).unwrap();
    assert_eq!((r.tp, r.fp, r.fn_), (1, 0, 0));
    assert!(close(r.score, 100.0) && close(r.null, -1.0), "{r:?}");
}

#[test]
fn bad_scores_are_typed_errors() {
    let mut nan = vec![0.0; N];
    nan[7] = f64::NAN;
    assert!(matches!(
        score_corpus(&[toy()], &[nan], &PROFILES[0]),
        Err(crate::Error::Data { line: 9, .. })
    ));
    assert!(matches!(
        score_corpus(&[toy()], &[vec![0.0; 3]], &PROFILES[0]),
        Err(crate::Error::Shape {
            expected: 2000,
            got: 3,
            ..
        })
    ));
    assert!(matches!(
        score_corpus(&[toy()], &[], &PROFILES[0]),
        Err(crate::Error::Shape { .. })
    ));
    assert!(NabSeries::from_rows("w", vec![0.0; 10], vec![(5, 3)]).is_err());
    assert!(NabSeries::from_rows("w", vec![0.0; 10], vec![(5, 10)]).is_err());
    assert!(
        NabSeries::from_rows("w", vec![0.0; 10], vec![(5, 6), (6, 8)]).is_err(),
        "overlapping windows"
    );
}

#[test]
fn files_place_windows_on_their_rows() {
    let text = "timestamp,value\n2014-01-01 00:00:00,1\n2014-01-01 00:05:00,2.5\n2014-01-01 00:10:00,3\n";
    let w = [(
        "2014-01-01 00:05:00.000000".to_string(),
        "2014-01-01 00:10:00.000000".to_string(),
    )];
    let s = parse_series("x.csv", text, &w).unwrap();
    assert_eq!((s.values, s.windows), (vec![1.0, 2.5, 3.0], vec![(1, 2)]));
    let off = [(
        "2014-01-01 00:06:00".to_string(),
        "2014-01-01 00:10:00".to_string(),
    )];
    assert!(parse_series("x.csv", text, &off).is_err(), "a bound between rows");
    assert!(parse_series("x.csv", "time,value\n", &[]).is_err(), "the header");
    let bad = "timestamp,value\n2014-01-01 00:00:00,x\n";
    assert!(matches!(
        parse_series("x.csv", bad, &[]),
        Err(crate::Error::Data { line: 2, .. })
    ));
    // Rows stay in file order even where the clock steps back; a bound is the first row with its time.
    let back = "timestamp,value\n2014-01-01 00:05:00,1\n2014-01-01 00:00:00,2\n2014-01-01 00:05:00,3\n";
    let w = [(
        "2014-01-01 00:05:00".to_string(),
        "2014-01-01 00:05:00".to_string(),
    )];
    assert_eq!(parse_series("x.csv", back, &w).unwrap().windows, vec![(0, 0)]);
}
