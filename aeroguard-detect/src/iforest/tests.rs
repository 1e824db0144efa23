//! Unit tests of the module.
use super::*;
use ndarray::{Array2, array};
use rand::Rng;

fn data() -> Array2<f64> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
    Array2::from_shape_fn((500, 3), |_| rng.r#gen::<f64>())
}

#[test]
fn c_of_n_matches_scikit_learn() {
    // sklearn.ensemble._iforest._average_path_length([256]) == 10.244770920116851
    assert!((average_path_length(256) - 10.244_770_920_116_851).abs() < 1e-9);
    assert_eq!(average_path_length(2), 1.0);
}

#[test]
fn outliers_score_higher_and_seed_is_deterministic() {
    let x = data();
    let p = IsolationForest::builder().seed(3).build().unwrap();
    let a = p.fit(x.view()).unwrap();
    let b = p.fit(x.view()).unwrap();
    assert_eq!(a, b);
    let s = a.score(array![[0.5, 0.5, 0.5], [5.0, -3.0, 9.0]].view()).unwrap();
    assert!(s[1] > 0.6 && s[0] < 0.5, "{s}");
    let c = IsolationForest::builder()
        .seed(4)
        .build()
        .unwrap()
        .fit(x.view())
        .unwrap();
    assert_ne!(a, c);
}

#[test]
fn contamination_flags_that_fraction_of_training_rows() {
    let x = data();
    let m = IsolationForest::builder()
        .contamination(0.05)
        .build()
        .unwrap()
        .fit(x.view())
        .unwrap();
    let flagged = m.is_anomaly(x.view()).unwrap().iter().filter(|a| **a).count();
    assert!((20..=30).contains(&flagged), "{flagged}");
}

#[test]
fn parallel_and_streaming_agree_with_serial() {
    let x = data();
    let serial = IsolationForest::builder()
        .threads(1)
        .build()
        .unwrap()
        .fit(x.view())
        .unwrap();
    let mut parallel = serial.clone();
    parallel.params.threads = 2;
    let big = Array2::from_shape_fn((3000, 3), |(i, j)| ((i * 31 + j * 7) % 101) as f64 / 50.0);
    assert_eq!(
        serial.score(big.view()).unwrap(),
        parallel.score(big.view()).unwrap()
    );
    let batch = serial.score(big.view()).unwrap();
    for (i, r) in big.outer_iter().enumerate().take(50) {
        assert_eq!(parallel.update(r).unwrap(), batch[i]);
    }
}

#[test]
fn bad_input_is_typed() {
    assert!(matches!(
        IsolationForest::builder().n_estimators(0).build(),
        Err(Error::InvalidParameter {
            name: "n_estimators",
            ..
        })
    ));
    assert!(matches!(
        IsolationForest::builder()
            .max_samples(MaxSamples::Fraction(2.0))
            .build(),
        Err(Error::InvalidParameter {
            name: "max_samples",
            ..
        })
    ));
    let p = IsolationForest::builder().build().unwrap();
    assert!(matches!(
        p.fit(Array2::zeros((1, 3)).view()),
        Err(Error::NotEnoughRows { .. })
    ));
    let mut bad = data();
    bad[[7, 1]] = f64::NAN;
    assert!(matches!(
        p.fit(bad.view()),
        Err(Error::NonFinite {
            row: 7,
            column: 1,
            ..
        })
    ));
    let m = p.fit(data().view()).unwrap();
    assert!(matches!(
        m.score(Array2::zeros((2, 4)).view()),
        Err(Error::Shape {
            expected: 3,
            got: 4,
            ..
        })
    ));
}

#[test]
fn the_flat_layout_scores_as_the_pointer_walk_to_the_bit() {
    // Small samples leave leaves high in the trees (pass-through chains); large ones fill the height limit.
    // Rows of up to 16 features walk padded arrays, wider ones the general walk.
    for (max_samples, seed, d) in [
        (2usize, 1u64, 5),
        (5, 2, 5),
        (37, 3, 5),
        (256, 4, 5),
        (1000, 5, 5),
        (256, 6, 20),
    ] {
        let train = Array2::from_shape_fn((1000, d), |(i, j)| {
            ((i * 7919 + j * 104_729 + seed as usize) % 997) as f64 / 97.0
        });
        let model = IsolationForest::builder()
            .seed(seed)
            .max_samples(MaxSamples::Count(max_samples))
            .n_estimators(37)
            .build()
            .unwrap()
            .fit(train.view())
            .unwrap();
        let test = Array2::from_shape_fn((300, d), |(i, j)| ((i * 31 + j * 17) % 113) as f64 / 7.0 - 3.0);
        let batch = model.score(test.view()).unwrap();
        let mut streaming = model.clone();
        for (i, r) in test.outer_iter().enumerate() {
            let walked = model.score_by_walk(r.as_slice().unwrap());
            assert_eq!(
                batch[i].to_bits(),
                walked.to_bits(),
                "max_samples {max_samples}, {d} features, row {i}"
            );
            assert_eq!(streaming.update(r).unwrap().to_bits(), walked.to_bits());
        }
    }
}

#[test]
fn a_forest_too_large_for_memory_is_refused_before_growing() {
    let x = Array2::from_shape_fn((100_000, 1), |(i, _)| (i % 97) as f64);
    let err = IsolationForest::builder()
        .n_estimators(10_000)
        .max_samples(MaxSamples::Count(100_000))
        .build()
        .unwrap()
        .fit(x.view())
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidParameter { name: "forest size", value, .. } if value.contains("GiB")),
        "{err}"
    );
}
