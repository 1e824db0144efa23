//! Sizes a user or a file sets never abort the process: past a limit is a typed error, at fit time and when a
//! saved model is loaded (a hostile or damaged file).

use aeroguard_detect::neural::{Autoencoder, Lstm};
use aeroguard_detect::{Detector, Error, FeatureWindow, IsolationForest, Model, Voter, limits};
use ndarray::Array2;

fn data() -> Array2<f64> {
    Array2::from_shape_fn((200, 3), |(i, j)| ((i * 7 + j * 3) % 11) as f64 + j as f64)
}

#[test]
fn builders_refuse_sizes_past_the_limits() {
    let huge = 1_000_000_000_000usize;
    let cases: Vec<(&str, Error)> = vec![
        ("hidden", Lstm::builder().hidden(huge).build().unwrap_err()),
        ("window", Autoencoder::builder().window(huge).build().unwrap_err()),
        ("hidden", Autoencoder::builder().hidden(huge).build().unwrap_err()),
        (
            "n_estimators",
            IsolationForest::builder().n_estimators(huge).build().unwrap_err(),
        ),
        (
            "threads",
            IsolationForest::builder().threads(huge).build().unwrap_err(),
        ),
        (
            "window",
            FeatureWindow::builder().window(huge).build().unwrap_err(),
        ),
        (
            "lag",
            FeatureWindow::builder().lags(vec![1, huge]).build().unwrap_err(),
        ),
    ];
    for (name, err) in cases {
        match err {
            Error::InvalidParameter { name: n, value, .. } => {
                assert_eq!(n, name);
                assert!(value.contains("limit"), "{value}");
            }
            other => panic!("{name}: {other:?}"),
        }
    }
    // At the limit is fine.
    assert!(Lstm::builder().hidden(limits::MAX_UNITS).build().is_ok());
}

#[test]
fn a_dense_layer_past_the_input_limit_is_refused_at_fit() {
    let x = Array2::<f64>::zeros((20, 200));
    let err = Autoencoder::builder()
        .window(limits::MAX_WINDOW)
        .build()
        .unwrap()
        .fit(x.view())
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidParameter {
                name: "window x columns",
                ..
            }
        ),
        "{err:?}"
    );
}

/// Rewrites the first `"key":value` number in `json`.
fn set(json: &str, key: &str, value: &str) -> String {
    let at = json
        .find(&format!("\"{key}\":"))
        .unwrap_or_else(|| panic!("no {key} in the model"));
    let start = at + key.len() + 3;
    let end = start + json[start..].find([',', '}']).unwrap();
    format!("{}{value}{}", &json[..start], &json[end..])
}

#[test]
fn loaded_models_past_the_limits_are_errors_not_aborts() {
    let x = data();
    let forest = Model::from(
        IsolationForest::builder()
            .n_estimators(5)
            .seed(1)
            .build()
            .unwrap()
            .fit(x.view())
            .unwrap(),
    );
    let saved = forest.save().unwrap();
    for (key, value) in [
        ("threads", "1000000000000"),
        ("n_estimators", "18446744073709551615"),
    ] {
        let err = Model::load(&set(&saved, key, value)).unwrap_err();
        assert!(
            matches!(err, Error::InvalidParameter { .. } | Error::Model { .. }),
            "{key}: {err:?}"
        );
    }
    // The recommended ensemble holds feature windows: one of them made huge.
    let ensemble = aeroguard_detect::EnsembleRecipe::default()
        .fit(x.view())
        .unwrap()
        .save()
        .unwrap();
    assert!(ensemble.contains("\"window\":"));
    let err = Voter::<Model>::load(&set(&ensemble, "window", "1000000000000")).unwrap_err();
    assert!(
        matches!(err, Error::InvalidParameter { .. } | Error::Model { .. }),
        "{err:?}"
    );
    // An ensemble whose k-of-window is huge.
    let voter = Voter::builder(vec![forest.clone()])
        .k_of_window(1, 3)
        .build()
        .unwrap();
    let json = serde_json::to_string(&voter)
        .unwrap()
        .replace("[1,3]", "[1,1000000000000]");
    assert!(Voter::<Model>::load(&json).is_err());
}
