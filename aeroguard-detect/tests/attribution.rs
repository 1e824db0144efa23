//! An alarm explained down to the sensor: with a fault on one known column (stuck, drifting, spiking, or a
//! step), every member that votes yes names that column first.

use aeroguard_detect::{EnsembleRecipe, FittedDetector, Vote};
use ndarray::{Array1, Array2};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// Five related sensors, each in at least two relations (so a fault on one can be told from one on another):
/// s1 follows s0, s2 is s0's quadrature, s3 and s4 their sum and difference; each with its noise.
fn plant(rows: usize, seed: u64) -> Array2<f64> {
    let mut r = Xoshiro256PlusPlus::seed_from_u64(seed);
    Array2::from_shape_fn((rows, 5), |(i, j)| {
        let t = i as f64 / 8.0;
        let v = match j {
            0 => t.sin(),
            1 => 2.0 * t.sin() + 0.5,
            2 => t.cos(),
            3 => t.sin() + t.cos(),
            _ => t.sin() - t.cos(),
        };
        v + 0.05 * r.gen_range(-1.0..1.0)
    })
}

/// How the faulty column reads on row `i` of the stream, given what it should read.
#[derive(Debug, Clone, Copy)]
enum Fault {
    Stuck,
    Drift,
    Spike,
    Step,
}

impl Fault {
    fn apply(self, i: usize, v: f64) -> f64 {
        match self {
            Fault::Stuck => 2.5,
            Fault::Drift => v + 0.02 * i as f64,
            Fault::Spike if i.is_multiple_of(4) => v + 6.0,
            Fault::Spike => v,
            Fault::Step => v + 3.0,
        }
    }
}

/// The recommended ensemble without its neural members (they train in the release tests).
fn recipe() -> EnsembleRecipe {
    let mut r = EnsembleRecipe::full();
    r.neural.conv_z = None;
    r.neural.lstm_z = None;
    r
}

#[test]
fn every_member_voting_yes_names_the_faulty_sensor_first() {
    let normal = plant(600, 1);
    let later = plant(1_000, 2);
    for fault in [Fault::Stuck, Fault::Drift, Fault::Spike, Fault::Step] {
        for faulty in [1usize, 2] {
            let mut voter = recipe().fit(normal.view()).unwrap();
            // Normal rows first, so every window is warm; then 200 faulty rows.
            for row in later.outer_iter().take(300) {
                voter.update(row);
            }
            let mut alarms = 0usize;
            let mut by_member: std::collections::BTreeMap<String, (usize, usize)> = Default::default();
            for (i, row) in later.outer_iter().skip(300).take(200).enumerate() {
                let mut row: Array1<f64> = row.to_owned();
                row[faulty] = fault.apply(i, row[faulty]);
                let v = voter.update(row.view());
                alarms += usize::from(v.alarm);
                for m in v.members.iter().filter(|m| m.vote == Vote::Yes) {
                    if let Some(first) = m.drivers.first() {
                        let e = by_member.entry(m.name.clone()).or_default();
                        e.0 += 1;
                        e.1 += usize::from(first.column == faulty);
                        assert!(m.drivers.windows(2).all(|w| w[0].share >= w[1].share));
                    }
                }
            }
            assert!(alarms > 0, "{fault:?} on sensor {faulty}: no alarm");
            assert!(
                !by_member.is_empty(),
                "{fault:?} on sensor {faulty}: no yes vote named a sensor"
            );
            for (name, (named, right)) in &by_member {
                assert!(
                    *right as f64 >= 0.9 * *named as f64,
                    "{fault:?} on sensor {faulty}: {name} named it first in {right} of {named} yes votes \
                     ({by_member:?}: named, right)"
                );
            }
        }
    }
}

#[test]
fn every_member_explains_with_shares_that_sum_to_one_and_batches_name_none() {
    let normal = plant(600, 3);
    let mut voter = recipe().fit(normal.view()).unwrap();
    let later = plant(400, 4);
    let mut last = later.row(0).to_owned();
    for row in later.outer_iter() {
        last = row.to_owned();
        last[2] += 3.0;
        voter.update(last.view());
    }
    // A member may have nothing to tell (no rule broken, no feature that lowers the forest's score); the
    // level shift, the relations and the k-means members always can.
    let mut told = 0;
    for m in voter.members() {
        let Some(shares) = m.explain(last.view()) else {
            assert!(["rules", "isolation_forest"].contains(&m.name()), "{}", m.name());
            continue;
        };
        told += 1;
        assert_eq!(shares.len(), 5, "{}", m.name());
        assert!((shares.iter().sum::<f64>() - 1.0).abs() < 1e-9, "{}", m.name());
        assert!(shares.iter().all(|s| *s >= 0.0), "{}", m.name());
    }
    assert!(told >= 3);
    let verdicts = voter.decide(later.view()).unwrap();
    assert!(
        verdicts
            .iter()
            .all(|v| v.members.iter().all(|m| m.drivers.is_empty()))
    );
}
