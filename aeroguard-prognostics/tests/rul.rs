//! The remaining-life model's contract: causal streaming, refusals that name what was wrong and change
//! nothing, intervals that cover what they say.

use aeroguard_prognostics::Error;
use aeroguard_prognostics::rul::{Conformal, FeatureSpec, Features, RulModel, RulOptions, Trees};
use ndarray::Array2;
use proptest::prelude::*;

/// Units whose second column climbs with wear (plus a little noise); the first is flat.
fn fleet(units: usize) -> Vec<Array2<f64>> {
    (0..units)
        .map(|u| {
            let life = 50 + (u * 37) % 60;
            Array2::from_shape_fn((life, 3), |(i, c)| match c {
                0 => 7.0,
                1 => (i as f64 / life as f64).powi(2) * 10.0 + 0.05 * (((i * 31 + u * 17) % 11) as f64 - 5.0),
                _ => ((i * 13 + u) % 7) as f64,
            })
        })
        .collect()
}

fn quick() -> RulOptions {
    RulOptions {
        folds: 3,
        bins: 2,
        trees: Trees {
            iterations: 60,
            ..Trees::default()
        },
        ..RulOptions::default()
    }
}

#[test]
fn fit_refuses_bad_histories_naming_them() {
    let units = fleet(6);
    let mut views: Vec<_> = units.iter().map(|u| u.view()).collect();
    let few = RulModel::fit(&views[..2], &quick()).unwrap_err();
    assert_eq!(
        few,
        Error::TooFewUnits {
            what: "fitting with folds",
            needed: 3,
            got: 2
        }
    );
    let mut nan = units[1].clone();
    nan[[4, 1]] = f64::NAN;
    views[1] = nan.view();
    let e = RulModel::fit(&views, &quick()).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "cycle {} has a non-finite value in column 1",
            units[0].nrows() + 4
        )
    );
    let narrow = Array2::<f64>::zeros((10, 2));
    views[1] = narrow.view();
    assert_eq!(
        RulModel::fit(&views, &quick()).unwrap_err(),
        Error::Shape {
            what: "a unit's history",
            expected: 3,
            got: 2
        }
    );
    let empty = Array2::<f64>::zeros((0, 3));
    views[1] = empty.view();
    assert_eq!(
        RulModel::fit(&views, &quick()).unwrap_err(),
        Error::Empty {
            what: "a unit's history"
        }
    );
    views[1] = units[1].view();
    let bad = RulOptions {
        coverage: 1.0,
        ..quick()
    };
    assert!(matches!(
        RulModel::fit(&views, &bad),
        Err(Error::InvalidParameter { name: "coverage", .. })
    ));
}

#[test]
fn a_stream_refuses_a_bad_cycle_and_goes_on_unchanged() {
    let units = fleet(9);
    let views: Vec<_> = units.iter().map(|u| u.view()).collect();
    let model = RulModel::fit(&views, &quick()).unwrap();
    assert_eq!(
        model.spec().columns,
        vec![1],
        "the flat and the uncorrelated columns carry nothing"
    );
    let batch = model.predict_unit(units[4].view()).unwrap();
    let mut stream = model.stream();
    for (i, row) in units[4].rows().into_iter().enumerate() {
        let row = row.to_vec();
        if i == 10 {
            let mut bad = row.clone();
            bad[1] = f64::INFINITY;
            assert_eq!(
                stream.push(&bad).unwrap_err(),
                Error::NonFinite {
                    what: "cycle",
                    index: 10,
                    column: 1
                }
            );
            assert!(matches!(
                stream.push(&row[..2]),
                Err(Error::Shape {
                    expected: 3,
                    got: 2,
                    ..
                })
            ));
        }
        let e = stream.push(&row).unwrap();
        assert_eq!(e, batch[i], "cycle {i}: the stream and the batch agree");
        assert!(
            e.low <= e.rul && e.rul <= e.high && e.low >= 0.0 && e.high <= 125.0,
            "{e:?}"
        );
    }
    let first = batch[0].rul;
    let last = batch[batch.len() - 1].rul;
    assert!(
        first > last + 20.0,
        "the estimate falls as the unit wears: {first} then {last}"
    );
}

#[test]
fn conformal_covers_what_it_says_on_new_draws() {
    // Errors whose spread grows with the prediction, drawn the same way for calibration and test.
    let draw = |n: usize, salt: usize| -> (Vec<f64>, Vec<f64>) {
        let pred: Vec<f64> = (0..n).map(|i| ((i * 7 + salt) % 100) as f64).collect();
        let truth = pred
            .iter()
            .enumerate()
            .map(|(i, p)| p + (p / 10.0 + 1.0) * ((((i * 7919 + salt * 104729) % 1000) as f64 / 500.0) - 1.0))
            .collect();
        (pred, truth)
    };
    let (p, t) = draw(4000, 1);
    let c = Conformal::fit(&p, &t, 0.9, 4).unwrap();
    let (p2, t2) = draw(4000, 2);
    let inside = p2.iter().zip(&t2).filter(|&(&p, &t)| {
        let (lo, hi) = c.interval(p);
        lo <= t && t <= hi
    });
    let share = inside.count() as f64 / 4000.0;
    assert!((0.87..=0.93).contains(&share), "coverage {share}");
    let narrow = c.interval(5.0);
    let wide = c.interval(95.0);
    assert!(
        wide.1 - wide.0 > 2.0 * (narrow.1 - narrow.0),
        "bins adapt the width: {narrow:?} {wide:?}"
    );
}

#[test]
fn a_spec_that_cannot_work_is_refused() {
    let spec = FeatureSpec {
        columns: vec![0],
        short: 1,
        long: 0,
        baseline: 1,
    };
    assert!(matches!(
        Features::new(&spec),
        Err(Error::InvalidParameter { name: "long", .. })
    ));
    let none = FeatureSpec {
        columns: Vec::new(),
        short: 1,
        long: 5,
        baseline: 1,
    };
    assert_eq!(
        Features::new(&none).unwrap_err(),
        Error::Empty {
            what: "the feature columns"
        }
    );
}

proptest! {
    /// Streaming a unit in any two pieces gives the features of streaming it whole (nothing looks ahead).
    #[test]
    fn features_are_causal(values in prop::collection::vec(-1e3f64..1e3, 2..80), split in 0usize..80) {
        let spec = FeatureSpec { columns: vec![0], short: 3, long: 7, baseline: 4 };
        let mut whole = Features::new(&spec).unwrap();
        let all: Vec<Vec<f64>> = values.iter().map(|&x| whole.push(&[x]).unwrap().to_vec()).collect();
        let split = split.min(values.len());
        let mut part = Features::new(&spec).unwrap();
        for (i, &x) in values[..split].iter().enumerate() {
            prop_assert_eq!(part.push(&[x]).unwrap(), &all[i][..]);
        }
        let mut later = part.clone();
        for (i, &x) in values[split..].iter().enumerate() {
            prop_assert_eq!(later.push(&[x]).unwrap(), &all[split + i][..]);
        }
    }
}
