//! Published worked examples and the documented handling of bad data.

use std::time::Duration;

use aeroguard_core::fusion::{
    BrooksIyengar, ExclusionReason, Fusion, FusionConfig, Marzullo, Mean, Median, MidValueSelect, Screen,
    StrategyKind, TrimmedMean, WeightedMean,
};
use aeroguard_core::{Error, Quality, Reading, SensorId, Timestamp};

const T0: Timestamp = Timestamp::from_millis(1_000_000);

fn id(s: &str) -> SensorId {
    SensorId::new(s).unwrap()
}

/// Readings from closed intervals `[lo, hi]`, named s0, s1, ...
fn intervals(iv: &[(f64, f64)]) -> Vec<Reading> {
    iv.iter()
        .enumerate()
        .map(|(i, &(lo, hi))| {
            Reading::new(id(&format!("s{i}")), (lo + hi) / 2.0, T0).with_half_width((hi - lo) / 2.0)
        })
        .collect()
}

fn values(vs: &[f64]) -> Vec<Reading> {
    vs.iter()
        .enumerate()
        .map(|(i, &v)| Reading::new(id(&format!("s{i}")), v, T0))
        .collect()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn marzullo_textbook_all_agree() {
    // Marzullo's algorithm, the classic example: 8-12, 11-13 and 10-12 agree on 11-12.
    let e = Marzullo::new(0)
        .fuse(&intervals(&[(8.0, 12.0), (11.0, 13.0), (10.0, 12.0)]), T0)
        .unwrap();
    let i = e.interval.unwrap();
    assert!(close(i.lo, 11.0) && close(i.hi, 12.0), "{i:?}");
    assert_eq!(e.used.len(), 3);
}

#[test]
fn marzullo_textbook_one_false_ticker() {
    // 8-12, 11-13 and 14-15: the best two agree on 11-12; 14-15 is the false ticker.
    let rs = intervals(&[(8.0, 12.0), (11.0, 13.0), (14.0, 15.0)]);
    let e = Marzullo::new(1).fuse(&rs, T0).unwrap();
    let i = e.interval.unwrap();
    assert!(close(i.lo, 11.0) && close(i.hi, 12.0), "{i:?}");
    assert!(close(e.value, 11.5));
    assert_eq!(e.excluded.len(), 1);
    assert_eq!(e.excluded[0].sensor, id("s2"));
    assert_eq!(e.excluded[0].reason, ExclusionReason::OutsideAgreement);
    // Asked to tolerate no fault, the same readings cannot agree.
    match Marzullo::new(0).fuse(&rs, T0) {
        Err(Error::NoAgreement {
            needed: 3,
            available: 3,
            max_overlap: 2,
            ..
        }) => {}
        other => panic!("expected NoAgreement, got {other:?}"),
    }
}

#[test]
fn brooks_iyengar_paper_example() {
    // The five intervals of Brooks & Iyengar's worked example, f = 1: regions covered by >= 4 intervals are
    // [1.5, 2.7] (4), [2.7, 2.8] (5) and [2.8, 3.2] (4), so the value is
    // (4·2.1 + 5·2.75 + 4·3.0) / 13 = 34.15 / 13 and the interval is [1.5, 3.2].
    let rs = intervals(&[(2.7, 6.7), (0.0, 3.2), (1.5, 4.5), (0.8, 2.8), (1.4, 4.6)]);
    let e = BrooksIyengar::new(1).fuse(&rs, T0).unwrap();
    assert!(close(e.value, 34.15 / 13.0), "{}", e.value);
    let i = e.interval.unwrap();
    assert!(close(i.lo, 1.5) && close(i.hi, 3.2), "{i:?}");
    assert_eq!(e.used.len(), 5);
}

#[test]
fn brooks_iyengar_agreeing_exact_points() {
    let e = BrooksIyengar::new(1)
        .fuse(&values(&[5.0, 5.0, 5.0, 9.0]), T0)
        .unwrap();
    assert_eq!(e.value, 5.0);
    assert_eq!(e.excluded.len(), 1);
}

#[test]
fn mid_value_select_picks_the_middle_channel() {
    for (vals, mid) in [
        ([1.0, 2.0, 3.0], 2.0),
        ([3.0, 1.0, 2.0], 2.0),
        ([2.0, 3.0, 1.0], 2.0),
        ([7.0, 7.0, -1.0], 7.0),
    ] {
        let e = MidValueSelect::new().fuse(&values(&vals), T0).unwrap();
        assert_eq!(e.value, mid, "{vals:?}");
        assert_eq!(e.used.len(), 1);
        assert!(
            e.excluded
                .iter()
                .all(|x| x.reason == ExclusionReason::NotSelected)
        );
    }
    match MidValueSelect::new().fuse(&values(&[1.0, 2.0]), T0) {
        Err(Error::WrongChannelCount {
            expected: 3, got: 2, ..
        }) => {}
        other => panic!("{other:?}"),
    }
    match MidValueSelect::new().fuse(&values(&[1.0, f64::NAN, 3.0]), T0) {
        Err(Error::InsufficientReadings {
            needed: 3,
            available: 2,
            excluded,
            ..
        }) => {
            assert_eq!(excluded[0].sensor, id("s1"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn order_statistics() {
    assert_eq!(
        Median::new(0)
            .fuse(&values(&[4.0, 1.0, 3.0, 2.0]), T0)
            .unwrap()
            .value,
        2.5
    );
    let e = TrimmedMean::new(2)
        .fuse(&values(&[100.0, 1.0, 2.0, 3.0, -100.0, 50.0, 2.0]), T0)
        .unwrap();
    assert!(close(e.value, 7.0 / 3.0), "{}", e.value);
    let trimmed: Vec<&str> = e.excluded.iter().map(|x| x.sensor.as_str()).collect();
    assert_eq!(trimmed, ["s0", "s1", "s4", "s5"]);
}

#[test]
fn weighted_mean_and_its_interval() {
    let rs = [
        Reading::new(id("a"), 10.0, T0).with_std_dev(1.0),
        Reading::new(id("b"), 12.0, T0).with_std_dev(1.0),
        Reading::new(id("c"), 500.0, T0), // no uncertainty: cannot be weighted
    ];
    let e = WeightedMean::new()
        .with_screen(Screen::default().with_sigma_multiplier(2.0).unwrap())
        .fuse(&rs, T0)
        .unwrap();
    assert!(close(e.value, 11.0));
    let i = e.interval.unwrap();
    let half = 2.0 * (0.5f64).sqrt();
    assert!(close(i.lo, 11.0 - half) && close(i.hi, 11.0 + half), "{i:?}");
    assert_eq!(
        e.excluded[0].reason,
        ExclusionReason::Unweightable { variance: 0.0 }
    );
}

#[test]
fn screen_excludes_with_reasons() {
    let now = T0 + Duration::from_secs(10);
    let rs = [
        Reading::new(id("fresh"), 1.0, now),
        Reading::new(id("old"), 1.0, T0),
        Reading::new(id("nan"), f64::NAN, now),
        Reading::new(id("inf"), f64::NEG_INFINITY, now),
        Reading::new(id("bad"), 1.0, now).with_quality(Quality::Bad),
        Reading::new(id("doubt"), 3.0, now).with_quality(Quality::Uncertain),
        Reading::new(id("neg"), 1.0, now).with_half_width(-1.0),
        Reading::new(id("huge"), f64::MAX, now).with_half_width(f64::MAX),
        Reading::new(id("dup"), 2.0, now - Duration::from_secs(1)),
        Reading::new(id("dup"), 5.0, now),
    ];
    let screen = Screen::default().with_max_age(Duration::from_secs(5));
    let e = Mean::new().with_screen(screen).fuse(&rs, now).unwrap();
    assert_eq!(e.value, 3.0, "fresh 1, doubt 3 and the newest dup 5");
    let used: Vec<&str> = e.used.iter().map(|s| s.as_str()).collect();
    assert_eq!(used, ["doubt", "dup", "fresh"]);
    let why: Vec<String> = e.excluded.iter().map(|x| x.to_string()).collect();
    assert_eq!(
        why,
        [
            "bad: quality flagged bad",
            "dup: duplicate of a newer reading",
            "huge: interval overflows",
            "inf: non-finite value -inf",
            "nan: non-finite value NaN",
            "neg: invalid uncertainty -1",
            "old: stale: 10000 ms old, max 5000 ms",
        ]
    );
}

#[test]
fn too_few_readings_says_how_many() {
    let err = BrooksIyengar::new(2)
        .fuse(&values(&[1.0, 1.0, 1.0, f64::NAN]), T0)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Brooks-Iyengar needs at least 5 usable readings to tolerate f = 2 faulty, got 3 (4 given, 1 excluded)"
    );
    assert!(matches!(
        Mean::new().fuse(&[], T0),
        Err(Error::InsufficientReadings {
            needed: 1,
            available: 0,
            ..
        })
    ));
    // An absurd f is an error, not an overflow.
    assert!(matches!(
        Median::new(usize::MAX).fuse(&values(&[1.0]), T0),
        Err(Error::InsufficientReadings {
            needed: usize::MAX,
            ..
        })
    ));
}

#[test]
fn config_builds_every_strategy_and_validates() {
    for kind in StrategyKind::ALL {
        let f = if kind == StrategyKind::MidValueSelect {
            1
        } else {
            0
        };
        let fusion = FusionConfig::new(kind, f).build().unwrap();
        assert_eq!(fusion.kind(), kind);
        let e = fusion
            .fuse(&intervals(&[(1.0, 3.0), (1.5, 2.5), (1.8, 2.2)]), T0)
            .unwrap();
        assert!((1.8..=2.2).contains(&e.value), "{kind}: {}", e.value);
    }
    let json = r#"{"strategy":"brooks_iyengar","f":1,"screen":{"max_age_ms":2500,"sigma_multiplier":2.0}}"#;
    let cfg: FusionConfig = serde_json::from_str(json).unwrap();
    assert_eq!(cfg.screen.max_age(), Some(Duration::from_millis(2500)));
    assert_eq!(serde_json::to_string(&cfg).unwrap(), json);
    for bad in [
        r#"{"strategy":"kalman"}"#,
        r#"{"strategy":"median","screen":{"sigma_multiplier":-1}}"#,
        r#"{"strategy":"median","typo":1}"#,
    ] {
        assert!(serde_json::from_str::<FusionConfig>(bad).is_err(), "{bad}");
    }
    assert!(
        FusionConfig::new(StrategyKind::MidValueSelect, 2)
            .build()
            .is_err()
    );
}

#[test]
fn huge_n_is_fine() {
    let n = 100_000;
    let rs: Vec<Reading> = (0..n)
        .map(|i| Reading::new(id(&format!("s{i}")), (i % 100) as f64, T0).with_half_width(60.0))
        .collect();
    for kind in StrategyKind::ALL {
        if kind == StrategyKind::MidValueSelect {
            continue;
        }
        let f = if matches!(kind, StrategyKind::Mean | StrategyKind::WeightedMean) {
            0
        } else {
            1000
        };
        let e = FusionConfig::new(kind, f).build().unwrap().fuse(&rs, T0).unwrap();
        assert!((0.0..=99.0).contains(&e.value), "{kind}: {}", e.value);
        assert_eq!(e.used.len() + e.excluded.len(), n);
    }
}
