//! Fusion that degrades instead of failing: the same estimate as the strategy when it can vouch for one, the
//! fallback's value marked with the strategy's error when it cannot, and still an error with nothing usable.

use std::time::Duration;

use aeroguard_core::fusion::{Degrading, Fusion, FusionConfig, Screen, StrategyKind};
use aeroguard_core::{Error, Quality, Reading, SensorId, Timestamp};
use proptest::prelude::*;

fn reading(s: &str, v: f64, at: i64) -> Reading {
    Reading::new(SensorId::new(s).unwrap(), v, Timestamp::from_millis(at)).with_half_width(0.2)
}

fn strict() -> FusionConfig {
    FusionConfig {
        screen: Screen::default().with_max_age(Duration::from_secs(5)),
        ..FusionConfig::new(StrategyKind::BrooksIyengar, 1)
    }
}

#[test]
fn a_stuck_tag_and_a_bad_one_leave_a_degraded_median_with_their_reasons() {
    let now = 60_000;
    // Four redundant tags: one flagged bad, one stuck at a minute-old source time, two fresh.
    let tags = [
        reading("ft-1", 11.6, now - 100),
        reading("ft-2", 11.8, now - 200),
        reading("ft-3", 30.0, now - 100).with_quality(Quality::Bad),
        reading("ft-4", 11.7, 0),
    ];
    let at = Timestamp::from_millis(now);
    let err = strict().build().unwrap().fuse(&tags, at).unwrap_err();
    assert!(
        matches!(err, Error::InsufficientReadings { available: 2, .. }),
        "{err}"
    );
    let est = Degrading::new(&strict(), StrategyKind::Median)
        .unwrap()
        .fuse(&tags, at)
        .unwrap();
    assert_eq!(est.strategy, StrategyKind::Median);
    assert!((est.value - 11.7).abs() < 1e-9, "{}", est.value);
    assert_eq!(est.degraded, Some(err.to_string()));
    let why: Vec<String> = est.excluded.iter().map(ToString::to_string).collect();
    assert_eq!(
        why,
        [
            "ft-3: quality flagged bad",
            "ft-4: stale: 60000 ms old, max 5000 ms"
        ]
    );
    // The mean as the fallback.
    let mean = Degrading::new(&strict(), StrategyKind::Mean)
        .unwrap()
        .fuse(&tags, at)
        .unwrap();
    assert_eq!(mean.strategy, StrategyKind::Mean);
    assert!(mean.degraded.is_some());
}

#[test]
fn nothing_usable_is_still_an_error_and_a_fallback_must_fuse_anything() {
    let at = Timestamp::from_millis(10_000);
    let bad = [
        reading("a", 1.0, 10_000).with_quality(Quality::Bad),
        reading("b", f64::NAN, 10_000),
    ];
    let d = Degrading::new(&strict(), StrategyKind::Median).unwrap();
    assert!(matches!(
        d.fuse(&bad, at),
        Err(Error::InsufficientReadings { available: 0, .. })
    ));
    for fallback in [
        StrategyKind::BrooksIyengar,
        StrategyKind::MidValueSelect,
        StrategyKind::Marzullo,
    ] {
        let e = Degrading::new(&strict(), fallback).unwrap_err();
        assert!(
            matches!(e, Error::InvalidParameter { name: "fallback", .. }),
            "{e}"
        );
    }
}

#[test]
fn intervals_that_disagree_beyond_f_degrade_to_the_median_of_all() {
    let at = Timestamp::from_millis(1_000);
    // Three tags, pairwise apart: Brooks-Iyengar with f = 1 finds no point in two intervals.
    let tags = [
        reading("a", 1.0, 1_000),
        reading("b", 5.0, 1_000),
        reading("c", 9.0, 1_000),
    ];
    let err = strict().build().unwrap().fuse(&tags, at).unwrap_err();
    assert!(matches!(err, Error::NoAgreement { .. }), "{err}");
    let est = Degrading::new(&strict(), StrategyKind::Median)
        .unwrap()
        .fuse(&tags, at)
        .unwrap();
    assert_eq!((est.value, est.fault_tolerance), (5.0, 1));
    assert!(est.degraded.unwrap().contains("no value lies within"));
}

proptest! {
    /// When the strategy can vouch for a value, degrading changes nothing: the same estimate, not degraded.
    #[test]
    fn degrading_changes_nothing_the_strategy_can_answer(values in prop::collection::vec(-100.0f64..100.0, 0..9)) {
        let at = Timestamp::from_millis(1_000);
        let tags: Vec<Reading> = values.iter().enumerate().map(|(i, v)| reading(&format!("s{i}"), *v, 1_000)).collect();
        let plain = strict().build().unwrap().fuse(&tags, at);
        let degrading = Degrading::new(&strict(), StrategyKind::Median).unwrap().fuse(&tags, at);
        match (plain, degrading) {
            (Ok(p), Ok(d)) => prop_assert_eq!(p, d),
            (Err(_), Ok(d)) => {
                prop_assert!(d.degraded.is_some());
                prop_assert!(d.value.is_finite());
                prop_assert_eq!(d.used.len() + d.excluded.len(), tags.len());
            }
            (Err(_), Err(e)) => prop_assert!(tags.is_empty(), "{}", e),
            (Ok(_), Err(e)) => prop_assert!(false, "degrading failed where the strategy did not: {}", e),
        }
    }
}
