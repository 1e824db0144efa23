//! The forecaster's contract: it recovers what it models, its intervals cover what they say, the sensors'
//! spread widens them, limits are crossed when the forecast says, and bad input is refused by name.

use aeroguard_prognostics::Error;
use aeroguard_prognostics::forecast::{Forecaster, Limit, Trend};
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};
use rand_xoshiro::Xoshiro256PlusPlus;

fn noisy(n: usize, seed: u64, f: impl Fn(usize) -> f64) -> Vec<f64> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let noise = Normal::new(0.0, 1.0).unwrap();
    (0..n).map(|t| f(t) + noise.sample(&mut rng)).collect()
}

#[test]
fn a_daily_season_is_found_and_forecast() {
    let shape = |t: usize| 50.0 + 10.0 * (2.0 * std::f64::consts::PI * (t % 24) as f64 / 24.0).sin();
    let y = noisy(24 * 30, 1, shape);
    let f = Forecaster::fit(&y, 24).unwrap();
    assert_eq!(f.models()[0].1.period(), 24, "the heaviest model is seasonal");
    let total: f64 = f.models().iter().map(|(w, _)| w).sum();
    assert!((total - 1.0).abs() < 1e-9);
    let out = f.forecast(48, 0.9).unwrap();
    let mae: f64 = (0..48)
        .map(|h| (out.mean[h] - shape(y.len() + h)).abs())
        .sum::<f64>()
        / 48.0;
    assert!(
        mae < 1.0,
        "mean absolute error {mae} against the noise-free shape"
    );
    assert!(
        out.low
            .iter()
            .zip(&out.mean)
            .zip(&out.high)
            .all(|((l, m), h)| l < m && m < h)
    );
}

#[test]
fn intervals_cover_what_they_say_on_a_random_walk() {
    // A random walk with drift is ETS(A,N,N) with alpha 1 plus a trend: its 10-step errors are known.
    let mut inside = 0;
    let runs = 200;
    for seed in 0..runs {
        let steps = noisy(310, seed, |_| 0.0);
        let y: Vec<f64> = steps
            .iter()
            .scan(0.0, |acc, s| {
                *acc += s;
                Some(*acc)
            })
            .collect();
        let f = Forecaster::fit(&y[..300], 1).unwrap().forecast(10, 0.9).unwrap();
        inside += usize::from(f.low[9] <= y[309] && y[309] <= f.high[9]);
    }
    let share = inside as f64 / runs as f64;
    assert!(
        (0.84..=0.96).contains(&share),
        "10 steps ahead, the 90 % interval held {share}"
    );
}

#[test]
fn the_sensors_spread_widens_the_interval() {
    let y = noisy(300, 3, |t| 10.0 + 0.01 * t as f64);
    let f = Forecaster::fit(&y, 1).unwrap();
    let tight = f.forecast_with(5, 0.9, 0.0).unwrap();
    let wide = f.forecast_with(5, 0.9, 3.0).unwrap();
    assert_eq!(tight.mean, wide.mean);
    for h in 0..5 {
        assert!(
            wide.high[h] - wide.low[h] > tight.high[h] - tight.low[h] + 1.0,
            "step {h}"
        );
    }
}

#[test]
fn a_falling_value_crosses_its_low_limit_when_forecast() {
    let y = noisy(400, 4, |t| 100.0 - 0.2 * t as f64);
    let f = Forecaster::fit(&y, 1).unwrap();
    assert!(matches!(f.models()[0].1.trend(), Trend::Additive | Trend::Damped));
    // From about 20 at t = 400, falling 0.2 a step: 10 is about 50 steps on.
    let c = f
        .time_to_limit(Limit::below(10.0), 500, 0.9, 0.0)
        .unwrap()
        .expect("it crosses");
    assert!((35..=80).contains(&c.steps), "{c:?}");
    assert!(
        c.earliest <= c.steps && c.latest.is_none_or(|l| l >= c.steps),
        "{c:?}"
    );
    assert_eq!(f.time_to_limit(Limit::above(500.0), 200, 0.9, 0.0).unwrap(), None);
    // Wider uncertainty brings the earliest crossing nearer.
    let worried = f
        .time_to_limit(Limit::below(10.0), 500, 0.9, 8.0)
        .unwrap()
        .unwrap();
    assert!(worried.earliest < c.earliest, "{worried:?} against {c:?}");
}

#[test]
fn the_state_follows_new_values() {
    // A level that wanders (a random walk): the fit learns to follow it closely.
    let y: Vec<f64> = noisy(200, 5, |_| 0.0)
        .iter()
        .scan(5.0, |acc, s| {
            *acc += s;
            Some(*acc)
        })
        .collect();
    let mut f = Forecaster::fit(&y, 1).unwrap();
    for _ in 0..100 {
        f.update(50.0).unwrap();
    }
    let next = f.forecast(1, 0.9).unwrap().mean[0];
    assert!(next > 40.0, "after a hundred values of 50 the forecast is {next}");
    assert_eq!(
        f.update(f64::NAN).unwrap_err(),
        Error::NonFinite {
            what: "observation",
            index: 300,
            column: 0
        }
    );
}

#[test]
fn bad_input_is_refused_by_name() {
    let e = Forecaster::fit(&[1.0, 2.0], 1).unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid parameter `series` = 2 values: a forecast needs at least 4"
    );
    let e = Forecaster::fit(&[1.0, 2.0, f64::INFINITY, 3.0, 4.0], 1).unwrap_err();
    assert_eq!(
        e,
        Error::NonFinite {
            what: "observation",
            index: 2,
            column: 0
        }
    );
    assert!(matches!(
        Forecaster::fit(&[1.0; 10], 0),
        Err(Error::InvalidParameter { name: "period", .. })
    ));
    let f = Forecaster::fit(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 1).unwrap();
    assert!(matches!(
        f.forecast(0, 0.9),
        Err(Error::InvalidParameter { name: "horizon", .. })
    ));
    assert!(matches!(
        f.forecast(5, 1.5),
        Err(Error::InvalidParameter { name: "coverage", .. })
    ));
    assert!(matches!(
        f.forecast_with(5, 0.9, -1.0),
        Err(Error::InvalidParameter { name: "spread", .. })
    ));
    let e = f.time_to_limit(Limit::above(f64::NAN), 10, 0.9, 0.0).unwrap_err();
    assert!(matches!(e, Error::InvalidParameter { name: "limit", .. }));
    // A flat series forecasts flat, with no NaN anywhere.
    let flat = Forecaster::fit(&[3.0; 50], 1).unwrap().forecast(5, 0.9).unwrap();
    assert!(
        flat.mean
            .iter()
            .chain(&flat.low)
            .chain(&flat.high)
            .all(|v| (v - 3.0).abs() < 1e-6),
        "{flat:?}"
    );
}
