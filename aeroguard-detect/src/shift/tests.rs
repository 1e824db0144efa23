use ndarray::{Array2, array};

use super::*;
use crate::Model;

/// Two noisy columns around 5 and 50 (a deterministic pseudo-random scatter), `rows` long.
fn normal(rows: usize) -> Array2<f64> {
    Array2::from_shape_fn((rows, 2), |(i, j)| {
        let u = ((i * 7919 + j * 104_729) % 1000) as f64 / 1000.0 - 0.5;
        if j == 0 { 5.0 + u } else { 50.0 + 10.0 * u }
    })
}

fn fitted() -> FittedLevelShift {
    LevelShift::builder()
        .window(5)
        .z(8.0)
        .release(0.5)
        .build()
        .unwrap()
        .fit(normal(300).view())
        .unwrap()
}

#[test]
fn batch_and_stream_agree_and_the_training_rows_stay_quiet() {
    let mut m = fitted();
    let x = normal(300);
    let batch = m.score(x.view()).unwrap();
    for (i, row) in x.outer_iter().enumerate() {
        assert_eq!(m.update(row).unwrap(), batch[i], "row {i}");
    }
    let alarms = batch.iter().filter(|s| **s > m.threshold()).count();
    assert_eq!(alarms, 0, "{:?}", batch.iter().cloned().fold(0.0, f64::max));
}

#[test]
fn an_alarm_holds_down_to_the_release_level_then_clears() {
    let m = fitted();
    let (c, s) = (m.center()[0], m.scale()[0]);
    // Means at 12, then 6 (under z 8 but above its release at 4), then 3 scatters above the level.
    let mut x = normal(300)
        .slice_axis(ndarray::Axis(0), ndarray::Slice::from(..20))
        .to_owned();
    let mut tail = Vec::new();
    for level in [12.0, 6.0, 3.0] {
        for _ in 0..10 {
            tail.push([c + level * s, m.center()[1]]);
        }
    }
    let tail = Array2::from_shape_vec((30, 2), tail.concat()).unwrap();
    x.append(ndarray::Axis(0), tail.view()).unwrap();
    let alarms: Vec<bool> = m
        .score(x.view())
        .unwrap()
        .iter()
        .map(|v| *v > m.threshold())
        .collect();
    assert!(alarms[29], "the shift of 12 alarms");
    assert!(alarms[39], "at 6 the alarm holds (release at 4)");
    assert!(!alarms[49], "at 3 it has cleared");
    // Without hysteresis the same rows at 6 are quiet.
    let plain = LevelShift::builder()
        .window(5)
        .z(8.0)
        .release(1.0)
        .build()
        .unwrap()
        .fit(normal(300).view())
        .unwrap();
    assert!(plain.score(x.view()).unwrap()[39] <= plain.threshold());
}

#[test]
fn the_score_does_not_depend_on_the_threshold() {
    let mut m = fitted();
    let mut x = normal(60);
    for i in 30..60 {
        x[[i, 0]] += 3.0;
    }
    let before = m.score(x.view()).unwrap();
    m.set_threshold(2.0);
    assert_eq!(m.score(x.view()).unwrap(), before);
    assert!(before.iter().any(|s| *s > 8.0));
}

#[test]
fn slow_columns_are_learned_and_left_out() {
    let mut x = normal(400);
    for (i, mut row) in x.outer_iter_mut().enumerate() {
        row[1] = 20.0 + i as f64 * 0.05;
    }
    let m = LevelShift::builder()
        .window(5)
        .build()
        .unwrap()
        .fit(x.view())
        .unwrap();
    assert_eq!(m.roles(), &[Role::Level, Role::Slow]);
    // The drift going on far past the training level changes nothing.
    let on = m.score(array![[5.0, 90.0], [5.1, 95.0]].view()).unwrap();
    assert!(on.iter().all(|s| *s < 8.0), "{on:?}");
    // With the role switched off the drift alarms.
    let all = LevelShift::builder()
        .window(5)
        .slow_below(None)
        .build()
        .unwrap()
        .fit(x.view())
        .unwrap();
    assert_eq!(all.roles(), &[Role::Level, Role::Level]);
    assert!(all.score(array![[5.0, 90.0]].view()).unwrap()[0] > 8.0);
    // Damped instead of left out: the drift's shift counts a tenth, so the drift stays quiet and a jump ten
    // times as far as a level sensor needs alarms.
    let damped = LevelShift::builder()
        .window(5)
        .slow_weight(0.1)
        .build()
        .unwrap()
        .fit(x.view())
        .unwrap();
    assert_eq!(damped.roles(), &[Role::Level, Role::Slow]);
    let z = |m: &FittedLevelShift, v: f64| (v - m.center()[1]).abs() / m.scale()[1];
    let drift = damped.score(array![[5.0, 40.0]].view()).unwrap()[0];
    assert!(
        (drift - 0.1 * z(&damped, 40.0)).abs() < 1e-9 && drift < 8.0,
        "{drift}"
    );
    let jump = damped.center()[1] + 9.0 * damped.scale()[1] / 0.1;
    assert!(damped.score(array![[5.0, jump]].view()).unwrap()[0] > 8.0);
    assert_eq!(
        m.score(array![[5.0, jump]].view()).unwrap()[0],
        m.score(array![[5.0, 20.0]].view()).unwrap()[0],
        "left out, the jump changes nothing"
    );
    // When every sensor is slow, none is left out (else nothing would be scored).
    let drifting = Array2::from_shape_fn((400, 2), |(i, j)| i as f64 * (j + 1) as f64);
    let m = LevelShift::default().fit(drifting.view()).unwrap();
    assert_eq!(m.roles(), &[Role::Level, Role::Level]);
}

#[test]
fn bad_parameters_and_bad_input_are_typed_errors() {
    for (b, name) in [
        (LevelShift::builder().window(0), "window"),
        (LevelShift::builder().z(f64::NAN), "z"),
        (LevelShift::builder().z(-1.0), "z"),
        (LevelShift::builder().release(0.0), "release"),
        (LevelShift::builder().release(1.5), "release"),
        (LevelShift::builder().slow_below(Some(2.0)), "slow_below"),
        (LevelShift::builder().slow_weight(-0.1), "slow_weight"),
        (LevelShift::builder().slow_weight(f64::NAN), "slow_weight"),
    ] {
        match b.build() {
            Err(Error::InvalidParameter { name: n, .. }) => assert_eq!(n, name),
            other => panic!("{name}: {other:?}"),
        }
    }
    let e = LevelShift::default().fit(normal(10).view()).unwrap_err();
    assert!(
        matches!(
            e,
            Error::NotEnoughRows {
                needed: 30,
                got: 10,
                ..
            }
        ),
        "{e}"
    );
    let mut m = fitted();
    assert!(matches!(
        m.update(array![f64::NAN, 1.0].view()),
        Err(Error::NonFinite { column: 0, .. })
    ));
    assert!(matches!(
        m.score(array![[1.0, 2.0, 3.0]].view()),
        Err(Error::Shape { got: 3, .. })
    ));
    let mut bad = normal(300);
    bad[[7, 1]] = f64::INFINITY;
    assert!(matches!(
        LevelShift::default().fit(bad.view()),
        Err(Error::NonFinite { row: 7, .. })
    ));
}

#[test]
fn saves_loads_and_refuses_a_damaged_model() {
    let model = Model::from(fitted());
    let json = model.save().unwrap();
    let loaded = Model::load(&json).unwrap();
    let x = normal(50);
    assert_eq!(loaded.score(x.view()).unwrap(), model.score(x.view()).unwrap());
    assert_eq!(loaded.name(), "level_shift");
    let s = fitted().scale()[0];
    let zero_scale = json.replacen(&format!("{s}"), "0.0", 1);
    assert_ne!(zero_scale, json);
    assert!(matches!(Model::load(&zero_scale), Err(Error::Model { .. })));
    let no_level = json.replace("\"level\"", "\"slow\"");
    assert!(matches!(Model::load(&no_level), Err(Error::Model { .. })));
    let short = json.replacen("\"roles\":[\"level\",", "\"roles\":[", 1);
    assert_ne!(short, json);
    assert!(matches!(Model::load(&short), Err(Error::Model { .. })));
}

#[test]
fn a_following_level_learns_a_slow_drift_but_not_a_shift() {
    let fixed = LevelShift::builder().window(5).z(8.0).slow_below(None);
    let follow = fixed.clone().follow(Some(50));
    let (fixed, mut follow) = (
        fixed.build().unwrap().fit(normal(300).view()).unwrap(),
        follow.build().unwrap().fit(normal(300).view()).unwrap(),
    );
    // Column 0 drifts by 2.5 raw units over 500 rows (about 19 scatters of its 5-row mean), column 1 stays.
    let mut drift = normal(800)
        .slice_axis(ndarray::Axis(0), ndarray::Slice::from(300..))
        .to_owned();
    for (i, mut row) in drift.outer_iter_mut().enumerate() {
        row[0] += i as f64 * 0.005;
    }
    let flagged = |m: &FittedLevelShift, x: &Array2<f64>| -> usize {
        m.score(x.view())
            .unwrap()
            .iter()
            .filter(|s| **s > m.threshold())
            .count()
    };
    assert!(flagged(&fixed, &drift) > 100, "the fixed level flags the drift");
    assert_eq!(flagged(&follow, &drift), 0, "the following level learns it");
    // A step of 3 raw units held for 300 rows: the guard keeps the level from learning it.
    let mut step = normal(300);
    for i in 20..300 {
        step[[i, 0]] += 3.0;
    }
    let scores = follow.score(step.view()).unwrap();
    assert!(
        scores.iter().skip(30).all(|s| *s > follow.threshold()),
        "still alarmed at the end"
    );
    // Streaming, save and load carry the level.
    let batch = follow.score(drift.view()).unwrap();
    for (i, row) in drift.outer_iter().enumerate().take(250) {
        assert_eq!(follow.update(row).unwrap(), batch[i], "row {i}");
    }
    let model = Model::from(follow.clone());
    let mut loaded = match Model::load(&model.save().unwrap()).unwrap() {
        Model::LevelShift(m) => *m,
        other => panic!("{other:?}"),
    };
    for (i, row) in drift.outer_iter().enumerate().skip(250) {
        assert_eq!(loaded.update(row).unwrap(), batch[i], "row {i} after load");
    }
    assert!(matches!(
        LevelShift::builder().follow(Some(0)).build(),
        Err(Error::InvalidParameter { name: "follow", .. })
    ));
}

#[test]
fn a_settled_alarm_ends_with_the_fault_and_streams_saves_and_loads_mid_way() {
    let x = normal(300);
    let settle = Settle::new(0.3, 1.0, 400).unwrap();
    let fit = |s: Option<Settle>| {
        LevelShift::builder()
            .window(5)
            .z(8.0)
            .slow_below(None)
            .settle(s)
            .build()
            .unwrap()
            .fit(x.view())
            .unwrap()
    };
    let (plain, settled) = (fit(None), fit(Some(settle)));
    assert_eq!(settled.settle, Some(settle));
    // A fault lifts column 0 by 20 (88 scatters of its mean), then it stays 2.5 above its level (11 scatters).
    let mut later = normal(200);
    for (i, mut row) in later.outer_iter_mut().enumerate() {
        row[0] += match i {
            0..20 => 0.0,
            20..80 => 20.0,
            _ => 2.5,
        };
    }
    crate::settle::assert_settles(&plain, &settled, later.view());
    // Streamed across a save and load in the middle of the hold-off, the scores are still the batch's.
    let batch = settled.score(later.view()).unwrap();
    let mut m = settled.clone();
    for (i, row) in later.outer_iter().enumerate().take(100) {
        assert_eq!(m.update(row).unwrap(), batch[i], "row {i}");
    }
    let json = Model::from(m).save().unwrap();
    assert!(json.contains("\"peak\"") && json.contains("\"since\""));
    let Model::LevelShift(mut m) = Model::load(&json).unwrap() else {
        panic!("not a level shift")
    };
    for (i, row) in later.outer_iter().enumerate().skip(100) {
        assert_eq!(m.update(row).unwrap(), batch[i], "row {i}");
    }
    // A settle damaged on disk is refused.
    let damaged = json.replacen("\"rearm\":1.0", "\"rearm\":-1.0", 1);
    assert_ne!(damaged, json);
    assert!(matches!(
        Model::load(&damaged),
        Err(Error::InvalidParameter { name: "rearm", .. })
    ));
}

#[test]
fn a_model_saved_before_settle_loads_and_scores_as_it_did() {
    let model = Model::from(fitted());
    let json = model.save().unwrap();
    // What an earlier version wrote: the latch alone, no peak, no count, no settle.
    let old = json
        .replace(",\"settle\":null", "")
        .replace(",\"peak\":0.0", "")
        .replace(",\"since\":0", "");
    assert!(
        !old.contains("settle") && !old.contains("peak") && !old.contains("since"),
        "{old}"
    );
    let loaded = Model::load(&old).unwrap();
    let x = normal(50);
    assert_eq!(loaded.score(x.view()).unwrap(), model.score(x.view()).unwrap());
}
