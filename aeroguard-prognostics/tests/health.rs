//! Sensor health: no false drift on healthy sensors, a drifting one flagged with its time to tolerance while
//! fusion still uses it, and the figures (bias, exclusion rate) right.

use aeroguard_core::fusion::{BrooksIyengar, Fusion};
use aeroguard_core::{Reading, SensorId, Timestamp};
use aeroguard_prognostics::Error;
use aeroguard_prognostics::health::{HealthOptions, HealthTracker, Status};
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};
use rand_xoshiro::Xoshiro256PlusPlus;

fn options() -> HealthOptions {
    HealthOptions {
        tolerance: 0.16,
        ..HealthOptions::default()
    }
}

#[test]
fn healthy_noisy_sensors_are_never_flagged() {
    let mut tracker = HealthTracker::new(options()).unwrap();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(11);
    let noise = Normal::new(0.0, 0.02).unwrap();
    let names = ["a", "b", "c", "d", "e"];
    for _ in 0..3000 {
        let readings: Vec<(&str, f64)> = names.iter().map(|&n| (n, 4.0 + noise.sample(&mut rng))).collect();
        for h in tracker.observe(4.0, &readings, &[]).unwrap() {
            assert_eq!(h.status, Status::Healthy, "{h:?}");
        }
    }
}

#[test]
fn a_drifting_sensor_is_flagged_before_fusion_leaves_it_out() {
    let mut tracker = HealthTracker::new(options()).unwrap();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(5);
    let noise = Normal::new(0.0, 0.02).unwrap();
    let fusion = BrooksIyengar::new(1);
    let (mut flagged, mut excluded) = (None, None);
    for round in 0..90u64 {
        let now = Timestamp::from_millis(1_700_000_000_000 + round as i64 * 1000);
        let drift = if round >= 20 {
            0.005 * (round - 19) as f64
        } else {
            0.0
        };
        let readings: Vec<Reading> = (0..5)
            .map(|i| {
                let v = 4.0 + noise.sample(&mut rng) + if i == 2 { drift } else { 0.0 };
                Reading::new(SensorId::new(format!("s{i}")).unwrap(), v, now).with_half_width(0.08)
            })
            .collect();
        let estimate = fusion.fuse(&readings, now).unwrap();
        for h in tracker.observe_fusion(&estimate, &readings).unwrap() {
            if h.sensor != "s2" {
                assert_eq!(h.status, Status::Healthy, "round {round}: {h:?}");
                continue;
            }
            if h.status == Status::Drifting && flagged.is_none() {
                let c = h.time_to_tolerance.unwrap();
                assert!(c.earliest <= c.steps && h.drift > 0.005, "{h:?}");
                flagged = Some((round, c.steps));
            }
            if h.status == Status::Excluded && excluded.is_none() {
                excluded = Some(round);
                assert!(h.exclusion_rate > 0.0 && h.bias > 0.0, "{h:?}");
            }
        }
    }
    let (round, steps) = flagged.expect("the drift is flagged");
    let out = excluded.expect("fusion leaves it out in the end");
    assert!(round < out, "flagged in round {round}, excluded from round {out}");
    // A slow drift (a quarter of the noise a round): the gap reaches 0.16 in round 51. The first estimate
    // comes when the noise has just pushed the slope past the test, so it errs early (the safe side).
    assert!(
        (36..=54).contains(&(round + steps as u64)),
        "flagged in round {round}, {steps} rounds to tolerance"
    );
}

#[test]
fn bias_exclusions_and_refusals() {
    let mut tracker = HealthTracker::new(HealthOptions {
        window: 4,
        min_rounds: 3,
        ..options()
    })
    .unwrap();
    for _ in 0..4 {
        tracker
            .observe(10.0, &[("a", 10.1), ("b", 9.98)], &["a"])
            .unwrap();
    }
    let h = tracker
        .observe(10.0, &[("a", 10.1), ("b", f64::NAN)], &[])
        .unwrap();
    assert!((h[0].bias - 0.1).abs() < 1e-9, "{:?}", h[0]);
    assert_eq!(
        (h[0].exclusion_rate, h[0].status),
        (0.75, Status::Healthy),
        "{:?}",
        h[0]
    );
    assert_eq!(
        h[1].status,
        Status::Excluded,
        "a reading that is not a number counts as left out"
    );
    assert_eq!(h[1].rounds, 4, "and adds no gap");
    let e = tracker.observe(f64::NAN, &[("a", 1.0)], &[]).unwrap_err();
    assert_eq!(
        e,
        Error::NonFinite {
            what: "fused value",
            index: 0,
            column: 0
        }
    );
    let bad = HealthTracker::new(HealthOptions {
        tolerance: 0.0,
        ..options()
    })
    .unwrap_err();
    assert_eq!(
        bad.to_string(),
        "invalid parameter `tolerance` = 0: must be a positive number"
    );
    assert!(
        HealthTracker::new(HealthOptions {
            min_rounds: 50,
            ..options()
        })
        .is_err()
    );
}

#[test]
fn the_gaps_kept_are_bounded_sensors_times_window() {
    let mut tracker = HealthTracker::new(HealthOptions {
        window: 10_000,
        ..options()
    })
    .unwrap();
    let names: Vec<String> = (0..1001).map(|i| format!("s{i}")).collect();
    let readings: Vec<(&str, f64)> = names.iter().map(|n| (n.as_str(), 1.0)).collect();
    let e = tracker.observe(1.0, &readings, &[]).unwrap_err();
    assert!(
        matches!(e, Error::InvalidParameter { name: "sensors", .. }),
        "{e}"
    );
    assert!(tracker.observe(1.0, &readings[..1000], &[]).is_ok());
    assert!(
        HealthTracker::new(HealthOptions {
            window: 10_001,
            ..options()
        })
        .is_err()
    );
}
