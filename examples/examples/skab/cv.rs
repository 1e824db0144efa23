//! Cross-validated figures of the recommended ensemble: its members' scores per file, each fold's setting
//! (threshold scale, votes needed, temporal rule) chosen on the other folds' files only
//! (`aeroguard_eval::cv`), and the threshold curve.

use aeroguard_detect::{EnsembleRecipe, FittedDetector, Integrity, Model};
use aeroguard_eval::cv::{self, Aim, Baseline, Grid, Scored, Setting};
use aeroguard_eval::skab::{SkabFile, TRAIN_ROWS};
use aeroguard_eval::{Evaluation, Summary};
use aeroguard_examples::Result;

/// The false-alarm budget the settings are chosen for.
pub const FAR_BUDGET: f64 = 0.10;

/// What the ensemble's settings are chosen for: the best F1 with every member working. The
/// `ensemble_cv_folder_worst_silent` row shows the other aim, the best F1 of the worst case (every member
/// working or any one silent).
pub const AIM: Aim = Aim::F1;

/// The robust z the recipe gave a member, by its name (`None`: a threshold the scale does not move).
fn recipe_z(recipe: &EnsembleRecipe, name: &str) -> Option<f64> {
    match name {
        "kmeans" => Some(recipe.classic.kmeans_z),
        "isolation_forest" => Some(recipe.classic.forest_z),
        "autoencoder" => recipe.neural.autoencoder_z,
        "conv_autoencoder" => recipe.neural.conv_z,
        "lstm" => recipe.neural.lstm_z,
        _ => None,
    }
}

/// A member's threshold as a function of the scale: robust z of its training scores when that gives back the
/// threshold it was fitted with, a fixed threshold otherwise.
fn baseline(m: &Model, train: ndarray::ArrayView2<f64>, z: Option<f64>) -> Result<Baseline> {
    let fixed = Baseline::Fixed(m.threshold());
    if settles(m) {
        return Ok(Baseline::Scaled(m.threshold()));
    }
    let Some(z) = z else { return Ok(fixed) };
    let s: Vec<f64> = m
        .score(train)?
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    if s.is_empty() {
        return Ok(fixed);
    }
    let (median, mad) = aeroguard_detect::median_and_mad(&s);
    let robust = Baseline::RobustZ { median, mad, z };
    let t = m.threshold();
    Ok(if (robust.threshold(1.0) - t).abs() <= 1e-9 * t.abs().max(1.0) {
        robust
    } else {
        fixed
    })
}

/// Whether a member's alarm settles after a fault (its scores then carry the latch drawn at its threshold, so
/// the scale moves that threshold as a whole).
fn settles(m: &Model) -> bool {
    match m {
        Model::LevelShift(_) | Model::Relations(_) | Model::Subspace(_) | Model::Settled(_) => true,
        Model::Rated(r) => settles(r.inner()),
        _ => false,
    }
}

/// One file's scores from the recommended members.
pub fn scored(f: &SkabFile, members: &[Model], recipe: &EnsembleRecipe) -> Result<Scored> {
    let train = f.train(TRAIN_ROWS);
    let mut scores = Vec::with_capacity(members.len());
    let mut baselines = Vec::with_capacity(members.len());
    for m in members {
        scores.push(m.score(f.x.view())?.to_vec());
        baselines.push(baseline(m, train, recipe_z(recipe, m.name()))?);
    }
    Ok(Scored {
        folder: f.folder(),
        scores,
        baselines,
        weights: recipe.member_weights(),
        labels: f.anomaly.clone(),
        test_from: TRAIN_ROWS.min(f.anomaly.len()),
    })
}

/// The recipe's own setting (what the `ensemble` row uses).
pub fn recipe_setting(recipe: &EnsembleRecipe) -> Setting {
    Setting {
        scale: 1.0,
        m: recipe.voting.m.ceil() as usize,
        k_of: recipe.voting.k_of,
        window: recipe.voting.of_window,
    }
}

/// The settings tried for members `names` weighing `weights`: threshold scales, every M with which no single
/// member forces or suppresses the alarm (every M up to the total weight when none passes), and a few temporal
/// rules.
pub fn grid(recipe: &EnsembleRecipe, names: &[String], weights: &[f64]) -> Grid {
    let total = weights.iter().sum::<f64>().ceil() as usize;
    let sound: Vec<usize> = (1..=total)
        .filter(|&m| Integrity::of(names, weights, m as f64).holds())
        .collect();
    let mut windows = vec![
        (1, 1),
        (recipe.voting.k_of, recipe.voting.of_window),
        (6, 10),
        (8, 10),
    ];
    windows.dedup();
    Grid {
        scales: vec![0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0],
        ms: if sound.is_empty() {
            (1..=total).collect()
        } else {
            sound
        },
        windows,
    }
}

/// What cross-validation found: the rows for the table, and the settings the folder folds chose.
pub struct Report {
    /// `ensemble_cv_file` and `ensemble_cv_folder` (chosen for [`AIM`]), `ensemble_cv_folder_worst_silent`
    /// (chosen for the worst case of one member silent), `ensemble_cv_folder_voter`, then each member alone, leave one folder out
    /// (`<member>_cv_folder`: its threshold scale and temporal rule chosen on the other folders).
    pub rows: Vec<Summary>,
    /// Per folder: the setting chosen without it.
    pub folder_settings: Vec<(String, Setting)>,
    /// The threshold curve of the recipe's setting, in sample: (scale, F1, FAR %).
    pub curve: Vec<(f64, f64, f64)>,
}

/// Leave one file out and leave one folder out over `scored` (in the order of `files`).
pub fn report(
    files: &[SkabFile],
    scored: &[Scored],
    names: &[String],
    recipe: &EnsembleRecipe,
) -> Result<Report> {
    let members = scored.first().map_or(0, |s| s.scores.len());
    let grid = grid(recipe, names, &recipe.member_weights());
    let mut rows = Vec::new();
    let mut folder_settings = Vec::new();
    for (name, folds, aim) in [
        ("ensemble_cv_file", cv::by_file(scored), AIM),
        ("ensemble_cv_folder", cv::by_folder(scored), AIM),
        (
            "ensemble_cv_folder_worst_silent",
            cv::by_folder(scored),
            Aim::WorstSilent,
        ),
    ] {
        let mut eval = Evaluation::new(name);
        for (i, setting, alarms) in cv::cross_validate(scored, &folds, &grid, FAR_BUDGET, aim) {
            eval.add(&files[i], &alarms[scored[i].test_from..])?;
            if name == "ensemble_cv_folder" && !folder_settings.iter().any(|(f, _)| *f == scored[i].folder) {
                folder_settings.push((scored[i].folder.clone(), setting));
            }
        }
        rows.push(eval.summary());
    }
    // The folder folds again, through the voter itself (with its diagnosis) rather than counted from scores.
    let mut eval = Evaluation::new("ensemble_cv_folder_voter");
    for (f, s) in files.iter().zip(scored) {
        let setting = folder_settings
            .iter()
            .find(|(folder, _)| *folder == s.folder)
            .map_or(recipe_setting(recipe), |(_, st)| *st);
        let none = super::replay::Failure::None;
        let r = super::replay::vote(s, names, &setting, none, recipe.voting.alone_window)?;
        eval.add(f, &r.alarms[s.test_from..])?;
    }
    rows.push(eval.summary());
    // Each member alone, its own scale and temporal rule chosen the same way: what the vote must beat.
    let alone = Grid {
        ms: vec![1],
        ..grid.clone()
    };
    for i in 0..members {
        let single: Vec<Scored> = scored
            .iter()
            .map(|s| Scored {
                folder: s.folder.clone(),
                scores: vec![s.scores[i].clone()],
                baselines: vec![s.baselines[i]],
                weights: Vec::new(),
                labels: s.labels.clone(),
                test_from: s.test_from,
            })
            .collect();
        let name = format!("{}_cv_folder", names.get(i).map_or("member", |n| n.as_str()));
        let mut eval = Evaluation::new(name);
        for (f, _, alarms) in
            cv::cross_validate(&single, &cv::by_folder(&single), &alone, FAR_BUDGET, Aim::F1)
        {
            eval.add(&files[f], &alarms[single[f].test_from..])?;
        }
        rows.push(eval.summary());
    }
    let base = recipe_setting(recipe);
    let all: Vec<&Scored> = scored.iter().collect();
    let curve = grid
        .scales
        .iter()
        .map(|&scale| {
            let c = cv::pooled(&all, &Setting { scale, ..base });
            (scale, c.f1(), c.far())
        })
        .collect();
    Ok(Report {
        rows,
        folder_settings,
        curve,
    })
}
