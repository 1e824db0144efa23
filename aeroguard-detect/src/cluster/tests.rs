//! Unit tests of the module.
use super::*;
use ndarray::array;

fn blobs() -> Array2<f64> {
    use rand::Rng;
    let mut rng = Xoshiro256Plus::seed_from_u64(9);
    Array2::from_shape_fn((300, 2), |(i, _)| {
        let centre = [0.0, 5.0, 10.0][i % 3];
        centre + rng.gen_range(-0.25..0.25)
    })
}

#[test]
fn kmeans_is_deterministic_and_saves() {
    let p = ClusterProfile::builder().seed(4).build().unwrap();
    let a = p.fit(blobs().view()).unwrap();
    assert_eq!(a, p.fit(blobs().view()).unwrap());
    let json = serde_json::to_string(&a).unwrap();
    let b: FittedClusterProfile = serde_json::from_str(&json).unwrap();
    let q = array![[2.5, 2.5], [5.0, 5.0]];
    assert_eq!(a.score(q.view()).unwrap(), b.score(q.view()).unwrap());
    let s = a.score(q.view()).unwrap();
    assert!(
        s[0] > a.threshold() && s[1] <= a.threshold(),
        "{s} vs {}",
        a.threshold()
    );
}

#[test]
fn dbscan_noise_scores_above_one() {
    let p = ClusterProfile::builder()
        .algorithm(Algorithm::Dbscan {
            eps: 0.3,
            min_points: 4,
        })
        .calibration(Calibration::Fixed(1.0))
        .build()
        .unwrap();
    let m = p.fit(blobs().view()).unwrap();
    let s = m.score(array![[5.0, 5.0], [7.5, 7.5]].view()).unwrap();
    assert!(s[0] <= 1.0 && s[1] > 1.0, "{s}");
    let none = ClusterProfile::builder()
        .algorithm(Algorithm::Dbscan {
            eps: 1e-9,
            min_points: 50,
        })
        .build()
        .unwrap();
    assert!(matches!(none.fit(blobs().view()), Err(Error::Fit { .. })));
}

#[test]
fn adaptation_follows_drift() {
    let x = Array2::from_shape_fn((200, 1), |(i, _)| (i % 10) as f64 * 0.1);
    let p = ClusterProfile::builder()
        .algorithm(Algorithm::KMeans { k: 1 })
        .calibration(Calibration::Quantile(1.0));
    let mut fixed = p.clone().build().unwrap().fit(x.view()).unwrap();
    let mut adaptive = p.adapt(Some(0.05)).build().unwrap().fit(x.view()).unwrap();
    // The process drifts slowly upward by 1.5 (about five standard deviations).
    let (mut last_fixed, mut last_adaptive) = (0.0, 0.0);
    for i in 0..3000 {
        let v = 0.45 + 1.5 * i as f64 / 3000.0 + ((i % 3) as f64 - 1.0) * 0.01;
        last_fixed = fixed.update(array![v].view()).unwrap();
        last_adaptive = adaptive.update(array![v].view()).unwrap();
    }
    assert!(last_fixed > fixed.threshold(), "{last_fixed}");
    assert!(last_adaptive <= adaptive.threshold(), "{last_adaptive}");
    // A full refit on the new regime works too.
    let recent = Array2::from_shape_fn((200, 1), |(i, _)| 1.9 + (i % 10) as f64 * 0.01);
    fixed.refit(recent.view()).unwrap();
    assert!(fixed.score(array![[1.95]].view()).unwrap()[0] <= fixed.threshold());
}

#[test]
fn whitening_gives_mahalanobis_distances() {
    use rand::Rng;
    // Two strongly correlated columns: a point off the diagonal is far in Mahalanobis terms only.
    let mut rng = Xoshiro256Plus::seed_from_u64(2);
    let x = Array2::from_shape_fn((2000, 1), |_| rng.gen_range(-1.0..1.0));
    let noise = Array2::from_shape_fn((2000, 1), |_| rng.gen_range(-0.05..0.05));
    let data = ndarray::concatenate![Axis(1), x, &x + &noise];
    let p = ClusterProfile::builder().algorithm(Algorithm::KMeans { k: 1 });
    let plain = p.clone().build().unwrap().fit(data.view()).unwrap();
    let white = p.whiten(true).build().unwrap().fit(data.view()).unwrap();
    let q = array![[0.5, 0.5], [0.5, -0.5]];
    let (sp, sw) = (plain.score(q.view()).unwrap(), white.score(q.view()).unwrap());
    assert!((sp[0] - sp[1]).abs() < 0.2, "{sp}");
    assert!(sw[1] > 10.0 * sw[0], "{sw}");
    // Whitened training rows have about identity covariance (less the ridge's shrinkage on the thin
    // direction): mean squared distance a little under the dimension.
    let train = white.score(data.view()).unwrap();
    let mean_sq = train.mapv(|d| d * d).mean().unwrap();
    assert!((1.2..=2.05).contains(&mean_sq), "{mean_sq}");
}

#[test]
fn per_series_profiles_and_bad_parameters() {
    let p = ClusterProfile::builder()
        .algorithm(Algorithm::KMeans { k: 1 })
        .build()
        .unwrap();
    let (a, b) = (blobs(), blobs() * 3.0);
    let bank = p
        .fit_each([("pump".to_string(), a.view()), ("fan".to_string(), b.view())])
        .unwrap();
    assert_eq!(bank.len(), 2);
    assert!(matches!(
        ClusterProfile::builder()
            .algorithm(Algorithm::KMeans { k: 0 })
            .build(),
        Err(Error::InvalidParameter { name: "k", .. })
    ));
    assert!(matches!(
        ClusterProfile::builder().adapt(Some(2.0)).build(),
        Err(Error::InvalidParameter { name: "adapt", .. })
    ));
    let m = p.fit(blobs().view()).unwrap();
    assert!(matches!(
        m.score(array![[f64::NAN, 0.0]].view()),
        Err(Error::NonFinite { .. })
    ));
}
