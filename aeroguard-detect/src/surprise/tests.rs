use ndarray::{Array2, array};

use super::*;
use crate::Model;

/// A metric with a daily-like wave and noise: `rows` rows, `cols` columns.
fn metric(rows: usize, cols: usize) -> Array2<f64> {
    Array2::from_shape_fn((rows, cols), |(i, j)| {
        let wave = 10.0 * ((i as f64) / 50.0 + j as f64).sin();
        100.0 + 20.0 * j as f64 + wave + ((i * 7919 + j * 104_729) % 31) as f64 / 31.0
    })
}

/// Rows `r` of `x`.
fn rows(x: &Array2<f64>, r: impl Into<ndarray::Slice>) -> ndarray::ArrayView2<'_, f64> {
    x.slice_axis(ndarray::Axis(0), r.into())
}

fn model(x: &Array2<f64>) -> FittedSurprise {
    Surprise::builder().build().unwrap().fit(x.view()).unwrap()
}

#[test]
fn stream_equals_batch_and_reset_starts_over() {
    let x = metric(1500, 2);
    let (train, test) = x.view().split_at(ndarray::Axis(0), 500);
    let mut m = model(&train.to_owned());
    let batch = m.score(test).unwrap();
    let streamed: Vec<f64> = test.outer_iter().map(|r| m.update(r).unwrap()).collect();
    assert_eq!(batch.to_vec(), streamed);
    // The streaming state moved; the batch did not move it, and reset brings the fitted state back.
    assert_ne!(m.state, m.fresh);
    m.reset();
    assert_eq!(m.state, m.fresh);
    assert_eq!(m.update(test.row(0)).unwrap(), batch[0]);
}

#[test]
fn a_spike_alarms_the_normal_does_not() {
    let x = metric(2000, 1);
    let m = model(&rows(&x, ..500).to_owned());
    let normal = m.score(rows(&x, 500..)).unwrap();
    let worst = normal.iter().copied().fold(0.0, f64::max);
    assert!(worst <= m.threshold(), "normal rows peak at {worst}");
    // The spike stays inside the range the column has shown, so the likelihood finds it, not the range check.
    let mut spiked = rows(&x, 500..1000).to_owned();
    spiked[[300, 0]] = 117.0;
    let scores = m.score(spiked.view()).unwrap();
    let alarms: Vec<usize> = (0..scores.len()).filter(|&i| scores[i] > m.threshold()).collect();
    assert!(
        !alarms.is_empty() && alarms.iter().all(|&i| (300..310).contains(&i)),
        "{alarms:?}"
    );
}

#[test]
fn the_range_check_fires_at_once_and_only_when_on() {
    // A triangle wave between -10 and 10 (0.1 a row); after training it leaves its range in two jumps, to 11.5
    // and then to 13.5, and stays there. The range (with 5 % of tolerance) follows the values, so each jump
    // leaves the range seen so far. The likelihood alarms on the first jump and, filtered, reports the second
    // (right after a red row) at 0.3; the range check reports both at 1.
    let tri = |i: usize| {
        let p = (i % 400) as f64 * 0.1;
        if p < 20.0 { -10.0 + p } else { 30.0 - p }
    };
    let train = Array2::from_shape_fn((1000, 1), |(i, _)| tri(i));
    let next = Array2::from_shape_fn((10, 1), |(k, _)| if k == 0 { 11.5 } else { 13.5 });
    let on = model(&train).score(next.view()).unwrap();
    let off = Surprise::builder()
        .spatial(None)
        .build()
        .unwrap()
        .fit(train.view())
        .unwrap();
    let off = off.score(next.view()).unwrap();
    assert_eq!((on[0], on[1]), (1.0, 1.0), "{on:?}");
    assert!(off[0] > 0.5 && (off[1] - 0.3).abs() < 1e-6, "{off:?}");
    assert_eq!(
        on.to_vec()[2..],
        off.to_vec()[2..],
        "inside the range the two agree"
    );
}

#[test]
fn a_column_that_never_moved_alarms_on_its_first_change() {
    let mut x = metric(620, 2);
    x.column_mut(1).fill(7.0);
    let m = Surprise::builder()
        .spatial(None)
        .build()
        .unwrap()
        .fit(rows(&x, ..600))
        .unwrap();
    assert_eq!(m.mean_change()[1], 0.0);
    // The next rows continue the same metric.
    let mut next = rows(&x, 600..).to_owned();
    let quiet = m.score(next.view()).unwrap();
    assert!(quiet.iter().all(|s| *s <= m.threshold()), "{quiet:?}");
    next[[10, 1]] = 7.5;
    let moved = m.score(next.view()).unwrap();
    assert!(moved[10] > m.threshold(), "{moved:?}");
}

#[test]
fn bad_input_is_a_typed_error() {
    let unchecked: Likelihood =
        serde_json::from_str(r#"{"average":0,"history":8640,"reestimate":100,"filter":true}"#).unwrap();
    for (b, name) in [
        (Surprise::builder().window(1), "window"),
        (Surprise::builder().tail(0.0), "tail"),
        (Surprise::builder().tail(0.5), "tail"),
        (Surprise::builder().spatial(Some(-0.1)), "spatial"),
        // A likelihood made without its builder (here from JSON) is checked too.
        (Surprise::builder().likelihood(unchecked), "average"),
    ] {
        match b.build() {
            Err(Error::InvalidParameter { name: n, .. }) => assert_eq!(n, name),
            other => panic!("{name}: {other:?}"),
        }
    }
    let x = metric(600, 2);
    assert!(matches!(
        Surprise::default().fit(rows(&x, ..100)),
        Err(Error::NotEnoughRows {
            needed: 131,
            got: 100,
            ..
        })
    ));
    let mut m = model(&x);
    assert!(matches!(m.score(metric(5, 3).view()), Err(Error::Shape { .. })));
    assert!(matches!(
        m.update(array![1.0, f64::NAN].view()),
        Err(Error::NonFinite { .. })
    ));
    let before = m.state.clone();
    assert!(matches!(
        m.update(array![1.0, 1e200].view()),
        Err(Error::InvalidParameter { name: "value", .. })
    ));
    assert_eq!(m.state, before, "a refused row moves nothing");
}

#[test]
fn it_saves_and_loads_mid_stream_and_a_damaged_file_is_refused() {
    let x = metric(1200, 1);
    let mut m = model(&rows(&x, ..400).to_owned());
    for r in rows(&x, 400..700).outer_iter() {
        m.update(r).unwrap();
    }
    let saved = Model::from(m.clone()).save().unwrap();
    let mut loaded = Model::load(&saved).unwrap();
    for r in rows(&x, 700..).outer_iter() {
        assert_eq!(loaded.update(r).unwrap(), m.update(r).unwrap());
    }
    for (from, to) in [
        ("\"n_features\":1", "\"n_features\":2"),
        ("\"window\":6400", "\"window\":1"),
        ("\"rows\":", "\"rows\":-"),
        ("\"since\":", "\"since\":9999"),
    ] {
        let damaged = saved.replacen(from, to, 1);
        assert_ne!(damaged, saved, "{from}");
        assert!(Model::load(&damaged).is_err(), "{from} -> {to} loaded");
    }
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    /// Values from tiny to huge, both signs, with runs of repeats (flat stretches) and jumps.
    fn value() -> impl Strategy<Value = f64> {
        prop_oneof![
            -1e3f64..1e3,
            Just(0.0),
            Just(5.0),
            -MAX_SURPRISE_VALUE..MAX_SURPRISE_VALUE,
            (-1e-300f64..1e-300),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn any_finite_stream_scores_in_range_and_streams_as_batch(
            train in proptest::collection::vec(value(), 45..120),
            next in proptest::collection::vec(value(), 1..120),
            cut in 0usize..120,
        ) {
            let likelihood = Likelihood::builder().average(3).history(20).reestimate(10).build().unwrap();
            let detector = Surprise::builder().likelihood(likelihood).build().unwrap();
            let x = Array2::from_shape_vec((train.len(), 1), train).unwrap();
            let mut m = detector.fit(x.view()).unwrap();
            let y = Array2::from_shape_vec((next.len(), 1), next).unwrap();
            let batch = m.score(y.view()).unwrap();
            prop_assert!(batch.iter().all(|s| (0.0..=1.0).contains(s)), "{:?}", batch);
            // Streamed, with a save and load at `cut`: the batch's scores, to the bit.
            let cut = cut.min(y.nrows());
            let mut streamed = Vec::new();
            for r in y.outer_iter().take(cut) {
                streamed.push(m.update(r).unwrap());
            }
            let mut loaded = Model::load(&Model::from(m).save().unwrap()).unwrap();
            for r in y.outer_iter().skip(cut) {
                streamed.push(loaded.update(r).unwrap());
            }
            prop_assert_eq!(batch.to_vec(), streamed);
        }
    }
}

#[test]
fn a_shorter_warmup_fits_a_short_series_and_scores_from_its_end() {
    let x = metric(60, 1);
    assert!(Surprise::default().fit(x.view()).is_err(), "131 rows by default");
    let short = Surprise::builder()
        .warmup(5)
        .likelihood(Likelihood::builder().history(20).reestimate(10).build().unwrap())
        .build()
        .unwrap();
    assert_eq!(short.min_rows(), 16);
    let mut m = short.fit(x.view()).unwrap();
    assert!(m.update(array![100.5].view()).unwrap() <= 1.0);
    for bad in [0, 1, 1_000_001] {
        match Surprise::builder().warmup(bad).build() {
            Err(Error::InvalidParameter { name: "warmup", .. }) => {}
            other => panic!("warmup {bad}: {other:?}"),
        }
    }
    // A model saved before the warm-up was a parameter reads back with the 30 rows it was fitted with.
    let mut saved = serde_json::to_value(Surprise::default()).unwrap();
    saved.as_object_mut().unwrap().remove("warmup");
    let old: Surprise = serde_json::from_value(saved).unwrap();
    assert_eq!(old.warmup(), 30);
}
