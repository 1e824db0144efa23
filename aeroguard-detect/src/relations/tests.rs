use ndarray::{Array2, Axis, Slice, array};

use super::*;
use crate::Model;

/// The pump's current and the flow both following an erratic load, pressure on its own: three noisy columns,
/// `rows` long (deterministic pseudo-random values).
fn plant(rows: usize) -> Array2<f64> {
    Array2::from_shape_fn((rows, 3), |(i, j)| {
        let load = ((i * i * 7919 + 13) % 1000) as f64 / 1000.0 - 0.5;
        let u = ((i * 7919 + j * 104_729) % 1000) as f64 / 1000.0 - 0.5;
        match j {
            0 => 10.0 + 0.5 * load + 0.05 * u,
            1 => 20.0 + load + 0.05 * u,
            _ => 3.0 + 0.2 * u,
        }
    })
}

fn fitted() -> FittedRelations {
    Relations::builder()
        .window(5)
        .z(8.0)
        .build()
        .unwrap()
        .fit(plant(400).view())
        .unwrap()
}

#[test]
fn learns_the_relation_and_flags_a_break_that_no_range_shows() {
    let m = fitted();
    assert_eq!(m.roles(), &[Role::Level, Role::Level, Role::Level]);
    // Flow's prediction leans on the current (standardised, so about 1 to 1).
    let flow = &m.coefficients()[1];
    assert!(flow[1] > 0.8 && flow[3].abs() < 0.2 && flow[2] == 0.0, "{flow:?}");
    // Later rows, the relation holding: quiet.
    let mut later = plant(460).slice_axis(Axis(0), Slice::from(400..)).to_owned();
    let quiet = m.score(later.view()).unwrap();
    assert!(quiet.iter().all(|s| *s <= m.threshold()), "{quiet:?}");
    // Flow falls by a fifth of its swing while the current holds: every value stays in its training range,
    // the relation breaks.
    for mut row in later.outer_iter_mut().skip(30) {
        row[1] -= 0.2;
    }
    let scored = m.score(later.view()).unwrap();
    assert!(scored.iter().skip(36).all(|s| *s > m.threshold()), "{scored:?}");
    // Streaming gives the batch's scores, and a reset starts over.
    let mut streaming = m.clone();
    for (r, want) in later.outer_iter().zip(&scored) {
        assert!((streaming.update(r).unwrap() - want).abs() < 1e-9);
    }
    streaming.reset();
    assert!((streaming.update(later.row(0)).unwrap() - scored[0]).abs() < 1e-9);
}

#[test]
fn slow_sensors_are_left_out_and_too_many_sensors_refused() {
    let mut x = plant(400);
    for (i, mut row) in x.outer_iter_mut().enumerate() {
        row[2] = 20.0 + i as f64 * 0.05;
    }
    let m = Relations::builder()
        .window(5)
        .build()
        .unwrap()
        .fit(x.view())
        .unwrap();
    assert_eq!(m.roles(), &[Role::Level, Role::Level, Role::Slow]);
    assert_eq!(m.coefficients().len(), 2);
    let wide = Array2::from_shape_fn((400, MAX_RELATED + 1), |(i, j)| {
        ((i * 7919 + j * 31) % 997) as f64
    });
    match Relations::default().fit(wide.view()) {
        Err(Error::InvalidParameter { name, .. }) => assert_eq!(name, "sensors related"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn bad_parameters_and_bad_input_are_typed_errors() {
    for (b, name) in [
        (Relations::builder().window(0), "window"),
        (Relations::builder().z(f64::INFINITY), "z"),
        (Relations::builder().release(0.0), "release"),
        (Relations::builder().slow_below(Some(1.5)), "slow_below"),
        (Relations::builder().ridge(-1.0), "ridge"),
        (Relations::builder().ridge(f64::NAN), "ridge"),
    ] {
        match b.build() {
            Err(Error::InvalidParameter { name: n, .. }) => assert_eq!(n, name),
            other => panic!("{name}: {other:?}"),
        }
    }
    assert!(matches!(
        Relations::default().fit(plant(10).view()),
        Err(Error::NotEnoughRows { .. })
    ));
    let mut m = fitted();
    assert!(matches!(
        m.update(array![f64::NAN, 1.0, 2.0].view()),
        Err(Error::NonFinite { column: 0, .. })
    ));
    assert!(matches!(
        m.score(array![[1.0, 2.0]].view()),
        Err(Error::Shape { got: 2, .. })
    ));
    // Two sensors that are copies predict a third from a singular system without a ridge.
    let twins = Array2::from_shape_fn((400, 3), |(i, j)| {
        let u = ((i * 7919) % 1000) as f64;
        if j == 2 { ((i * 31) % 17) as f64 } else { u }
    });
    let e = Relations::builder()
        .ridge(0.0)
        .build()
        .unwrap()
        .fit(twins.view())
        .unwrap_err();
    assert!(matches!(e, Error::Model { .. }), "{e}");
    assert!(Relations::default().fit(twins.view()).is_ok());
}

#[test]
fn saves_loads_and_refuses_a_damaged_model() {
    let model = Model::from(fitted());
    let json = model.save().unwrap();
    let loaded = Model::load(&json).unwrap();
    let x = plant(50);
    assert_eq!(loaded.score(x.view()).unwrap(), model.score(x.view()).unwrap());
    assert_eq!(loaded.name(), "relations");
    // A column left out on load: two related columns, three regressions.
    let fewer = json.replacen("\"roles\":[\"level\",", "\"roles\":[\"slow\",", 1);
    assert_ne!(fewer, json);
    assert!(matches!(Model::load(&fewer), Err(Error::Model { .. })));
    let short = json.replacen("\"miss_center\":[", "\"miss_center\":[0.0,", 1);
    assert_ne!(short, json);
    assert!(matches!(Model::load(&short), Err(Error::Model { .. })));
}

#[test]
fn a_settled_alarm_ends_when_the_broken_relation_mostly_heals() {
    let x = plant(400);
    let fit = |s: Option<Settle>| {
        Relations::builder()
            .window(5)
            .z(8.0)
            .settle(s)
            .build()
            .unwrap()
            .fit(x.view())
            .unwrap()
    };
    let settle = Settle::new(0.3, 1.0, 400).unwrap();
    let (plain, settled) = (fit(None), fit(Some(settle)));
    assert_eq!(settled.settle, Some(settle));
    // Flow falls 0.5 against the current (a miss of about 54 scatters), then comes back to 0.15 under where the
    // relation puts it (about 10).
    let mut later = plant(600).slice_axis(Axis(0), Slice::from(400..)).to_owned();
    for (i, mut row) in later.outer_iter_mut().enumerate() {
        row[1] -= match i {
            0..20 => 0.0,
            20..80 => 0.5,
            _ => 0.15,
        };
    }
    crate::settle::assert_settles(&plain, &settled, later.view());
}
