//! The guarantees each strategy documents, stated as properties (256 cases or more each).

use aeroguard_core::fusion::{
    BrooksIyengar, Estimate, Fusion, FusionConfig, Marzullo, Median, MidValueSelect, StrategyKind,
    TrimmedMean,
};
use aeroguard_core::{Error, Quality, Reading, SensorId, Timestamp};
use proptest::prelude::*;

const T0: Timestamp = Timestamp::from_millis(0);

fn reading(i: usize, value: f64, half_width: f64) -> Reading {
    Reading::new(SensorId::new(format!("s{i:04}")).unwrap(), value, T0).with_half_width(half_width)
}

fn cases(n: u32) -> ProptestConfig {
    ProptestConfig {
        cases: n,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// A strategy with an f it can be asked for.
fn any_fusion() -> impl Strategy<Value = Box<dyn Fusion>> {
    (0..StrategyKind::ALL.len(), 0usize..4).prop_map(|(k, f)| {
        let kind = StrategyKind::ALL[k];
        let f = match kind {
            StrategyKind::Mean | StrategyKind::WeightedMean => 0,
            StrategyKind::MidValueSelect => 1,
            _ => f,
        };
        FusionConfig::new(kind, f).build().unwrap()
    })
}

/// Healthy-looking readings with distinct sensors: moderate values, some with zero width.
fn plain_readings(max: usize) -> impl Strategy<Value = Vec<Reading>> {
    prop::collection::vec((-1e3f64..1e3, prop_oneof![Just(0.0), 0.0f64..50.0]), 0..max).prop_map(|v| {
        v.into_iter()
            .enumerate()
            .map(|(i, (x, w))| reading(i, x, w))
            .collect()
    })
}

/// Anything a field device could send: NaN, infinities, extremes, duplicates, bad quality, odd uncertainty.
fn wild_readings() -> impl Strategy<Value = Vec<Reading>> {
    let value = prop_oneof![
        4 => -1e3f64..1e3,
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
        1 => Just(f64::MAX),
        1 => Just(-f64::MAX),
        1 => Just(f64::MIN_POSITIVE),
        1 => any::<f64>(),
    ];
    let width = prop_oneof![3 => 0.0f64..10.0, 1 => Just(f64::NAN), 1 => Just(-1.0), 1 => Just(f64::MAX), 1 => any::<f64>()];
    let quality = prop_oneof![Just(Quality::Good), Just(Quality::Uncertain), Just(Quality::Bad)];
    prop::collection::vec(
        (0usize..12, value, width, any::<bool>(), quality, -5i64..5),
        0..24,
    )
    .prop_map(|v| {
        v.into_iter()
            .map(|(sensor, x, w, sd, q, t)| {
                let r = Reading::new(
                    SensorId::new(format!("s{sensor}")).unwrap(),
                    x,
                    Timestamp::from_millis(t),
                );
                let r = if sd {
                    r.with_std_dev(w)
                } else {
                    r.with_half_width(w)
                };
                r.with_quality(q)
            })
            .collect()
    })
}

fn same_outcome(a: &Result<Estimate, Error>, b: &Result<Estimate, Error>) -> bool {
    match (a, b) {
        (Ok(a), Ok(b)) => {
            a.value.to_bits() == b.value.to_bits()
                && a.interval == b.interval
                && a.used == b.used
                && a.excluded.len() == b.excluded.len()
        }
        (Err(a), Err(b)) => std::mem::discriminant(a) == std::mem::discriminant(b),
        _ => false,
    }
}

/// `n` intervals of which `faulty` are arbitrary and the rest contain `truth`; also returns the correct ones.
fn with_faults(min_n_per_f: usize) -> impl Strategy<Value = (usize, f64, Vec<Reading>, Vec<(f64, f64)>)> {
    (0usize..4, 0usize..6, -1e4f64..1e4).prop_flat_map(move |(f, extra, truth)| {
        let n = min_n_per_f * f + 1 + extra;
        let correct = prop::collection::vec((-20.0f64..20.0, 0.0f64..20.0), n - f..=n - f);
        let bad = prop::collection::vec((-1e5f64..1e5, 0.0f64..100.0), f..=f);
        (Just(f), Just(truth), correct, bad).prop_map(|(f, truth, correct, bad)| {
            let mut rs = Vec::new();
            let mut good = Vec::new();
            for (off, extra_w) in correct {
                let v = truth + off;
                // Widen until the interval as computed (v ± w) really contains the truth.
                let mut w = off.abs() + extra_w;
                while !(v - w <= truth && truth <= v + w) {
                    w = w * (1.0 + 1e-12) + 1e-12;
                }
                good.push((v - w, v + w));
                rs.push(reading(rs.len(), v, w));
            }
            for (v, w) in bad {
                rs.push(reading(rs.len(), v, w));
            }
            (f, truth, rs, good)
        })
    })
}

fn hull(iv: &[(f64, f64)]) -> (f64, f64) {
    iv.iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &(a, b)| {
            (lo.min(a), hi.max(b))
        })
}

proptest! {
    #![proptest_config(cases(512))]

    #[test]
    fn no_input_panics_and_every_reading_is_accounted_for(fusion in any_fusion(), rs in wild_readings()) {
        match fusion.fuse(&rs, T0) {
            Ok(e) => {
                prop_assert!(e.value.is_finite(), "{:?} gave {}", fusion, e.value);
                prop_assert_eq!(e.used.len() + e.excluded.len(), rs.len());
                if let Some(i) = e.interval {
                    prop_assert!(i.lo <= i.hi && i.lo.is_finite() && i.hi.is_finite());
                }
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }

    #[test]
    fn permutation_invariance(fusion in any_fusion(), (rs, shuffled) in plain_readings(40)
        .prop_flat_map(|rs| (Just(rs.clone()), Just(rs).prop_shuffle())))
    {
        let a = fusion.fuse(&rs, T0);
        let b = fusion.fuse(&shuffled, T0);
        prop_assert!(same_outcome(&a, &b), "{:?}\n{:?}", a, b);
    }

    #[test]
    fn permutation_invariance_with_wild_input(fusion in any_fusion(), (rs, shuffled) in wild_readings()
        .prop_flat_map(|rs| (Just(rs.clone()), Just(rs).prop_shuffle())))
    {
        let a = fusion.fuse(&rs, T0);
        let b = fusion.fuse(&shuffled, T0);
        prop_assert!(same_outcome(&a, &b), "{:?}\n{:?}", a, b);
    }

    #[test]
    fn median_and_trimmed_mean_lie_within_min_max(rs in plain_readings(40), f in 0usize..5) {
        let vals: Vec<f64> = rs.iter().map(|r| r.value).collect();
        let (lo, hi) = vals.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
        for fusion in [Box::new(Median::new(f)) as Box<dyn Fusion>, Box::new(TrimmedMean::new(f))] {
            match fusion.fuse(&rs, T0) {
                Ok(e) => prop_assert!(lo <= e.value && e.value <= hi, "{} not in [{}, {}]", e.value, lo, hi),
                Err(Error::InsufficientReadings { needed, available, .. }) => {
                    prop_assert!(available < needed);
                    prop_assert!(rs.len() < 2 * f + 1);
                }
                Err(e) => prop_assert!(false, "{}", e),
            }
        }
    }

    #[test]
    fn median_and_trimmed_mean_stay_within_the_correct_values((f, truth, rs, good) in with_faults(2)) {
        let _ = truth;
        let good_values: Vec<f64> = good.iter().map(|&(a, b)| (a + b) / 2.0).collect();
        let n_good = good.len();
        let vals: Vec<f64> = rs[..n_good].iter().map(|r| r.value).collect();
        let (lo, hi) = vals.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
        prop_assert_eq!(good_values.len(), vals.len());
        for fusion in [Box::new(Median::new(f)) as Box<dyn Fusion>, Box::new(TrimmedMean::new(f))] {
            let e = fusion.fuse(&rs, T0).unwrap();
            prop_assert!(lo <= e.value && e.value <= hi, "{:?}: {} not in [{}, {}]", fusion, e.value, lo, hi);
        }
    }

    #[test]
    fn mid_value_select_lies_between_the_two_good_channels(
        a in -1e6f64..1e6, b in -1e6f64..1e6, c in prop_oneof![any::<f64>().prop_filter("finite", |x| x.is_finite()), -1e9f64..1e9],
        position in 0usize..3,
    ) {
        let mut vals = vec![a, b];
        vals.insert(position, c);
        let rs: Vec<Reading> = vals.iter().enumerate().map(|(i, &v)| reading(i, v, 0.0)).collect();
        let e = MidValueSelect::new().fuse(&rs, T0).unwrap();
        prop_assert!(a.min(b) <= e.value && e.value <= a.max(b));
        prop_assert_eq!(e.used.len(), 1);
    }

    #[test]
    fn marzullo_contains_the_truth_with_at_most_f_faulty((f, truth, rs, good) in with_faults(2)) {
        let e = Marzullo::new(f).fuse(&rs, T0).unwrap();
        let i = e.interval.unwrap();
        prop_assert!(i.contains(truth), "truth {} not in {:?}", truth, i);
        let (lo, hi) = hull(&good);
        prop_assert!(lo <= i.lo && i.hi <= hi, "{:?} outside the correct hull [{}, {}]", i, lo, hi);
    }

    #[test]
    fn brooks_iyengar_lies_within_the_correct_hull_when_n_ge_3f_plus_1((f, truth, rs, good) in with_faults(3)) {
        let e = BrooksIyengar::new(f).fuse(&rs, T0).unwrap();
        let (lo, hi) = hull(&good);
        prop_assert!(lo <= e.value && e.value <= hi, "{} outside [{}, {}]", e.value, lo, hi);
        prop_assert!(e.interval.unwrap().contains(truth));
    }

    #[test]
    fn brooks_iyengar_lies_within_the_correct_hull_from_2f_plus_1((f, truth, rs, good) in with_faults(2)) {
        let e = BrooksIyengar::new(f).fuse(&rs, T0).unwrap();
        let (lo, hi) = hull(&good);
        prop_assert!(lo <= e.value && e.value <= hi, "{} outside [{}, {}]", e.value, lo, hi);
        prop_assert!(e.interval.unwrap().contains(truth));
    }
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn duplicates_count_once(vals in prop::collection::vec(-100.0f64..100.0, 3..10), copies in 1usize..5) {
        // One sensor repeating itself must not outvote the others.
        let mut rs: Vec<Reading> = vals.iter().enumerate().map(|(i, &v)| reading(i, v, 0.0)).collect();
        for _ in 0..copies {
            rs.push(reading(0, 1e6, 0.0));
        }
        let e = Median::new(1).fuse(&rs, T0).unwrap();
        prop_assert_eq!(e.used.len(), vals.len());
        prop_assert_eq!(e.excluded.len(), copies);
    }
}
