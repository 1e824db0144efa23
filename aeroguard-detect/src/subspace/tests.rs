use ndarray::{Array2, array};

use super::*;
use crate::FittedDetector;

/// Five sensors driven by two states (each sensor in at least two relations, so a fault on one can be told from
/// one on another), with noise.
fn plant(rows: usize) -> Array2<f64> {
    Array2::from_shape_fn((rows, 5), |(i, j)| {
        let a = (i as f64 * 0.05).sin();
        let b = (i as f64 * 0.031).cos();
        let noise = ((i * 7919 + j * 104_729) % 100) as f64 / 1000.0;
        [a, 2.0 * a, b, a + b, a - b][j] + noise
    })
}

#[test]
fn quiet_on_normal_rows_and_alarms_when_a_relation_breaks() {
    let x = plant(500);
    let m = Subspace::builder()
        .window(5)
        .build()
        .unwrap()
        .fit(x.view())
        .unwrap();
    let later = plant(900);
    let normal = m.score(later.view()).unwrap();
    let quiet = normal.iter().skip(500).filter(|s| **s > m.threshold()).count();
    assert!(quiet <= 4, "{quiet} false alarms");
    let mut broken = later.clone();
    broken.column_mut(1).mapv_inplace(|v| -v);
    let scores = m.score(broken.view()).unwrap();
    assert!(scores.iter().skip(600).filter(|s| **s > m.threshold()).count() > 200);
}

#[test]
fn streaming_equals_batch_and_saved_models_load() {
    let x = plant(400);
    let mut m = Subspace::builder()
        .window(5)
        .build()
        .unwrap()
        .fit(x.view())
        .unwrap();
    let later = plant(700);
    let batch = m.score(later.view()).unwrap();
    let streamed: Vec<f64> = later.outer_iter().map(|r| m.update(r).unwrap()).collect();
    for (a, b) in batch.iter().zip(&streamed) {
        assert!((a - b).abs() < 1e-9);
    }
    let saved = crate::Model::from(m.clone()).save().unwrap();
    let loaded = crate::Model::load(&saved).unwrap();
    assert_eq!(
        loaded.score(later.view()).unwrap(),
        m.score(later.view()).unwrap()
    );
    let damaged = saved.replacen("\"variances\":[", "\"variances\":[-1.0,", 1);
    assert!(crate::Model::load(&damaged).is_err());
}

#[test]
fn the_sensor_that_breaks_away_is_named() {
    let x = plant(500);
    let mut m = Subspace::builder()
        .window(5)
        .build()
        .unwrap()
        .fit(x.view())
        .unwrap();
    let later = plant(700);
    for (i, r) in later.outer_iter().enumerate() {
        let mut r = r.to_owned();
        if i >= 600 {
            r[2] += 1.0;
        }
        m.update(r.view()).unwrap();
    }
    let shares = m.explain(array![0.0, 0.0, 0.0, 0.0, 0.0].view()).unwrap();
    let first = (0..5).max_by(|a, b| shares[*a].total_cmp(&shares[*b])).unwrap();
    assert_eq!(first, 2, "{shares:?}");
}

#[test]
fn bad_parameters_are_refused() {
    assert!(Subspace::builder().variance(1.0).build().is_err());
    assert!(Subspace::builder().z(0.0).build().is_err());
    assert!(Subspace::builder().window(0).build().is_err());
}
