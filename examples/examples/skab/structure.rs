//! The vote's structure chosen inside each fold too (nested): which members vote with what weight, from a few
//! candidates that all pass the integrity check, together with the threshold scale, the votes needed and the
//! temporal rule. Each held-out folder is scored with the structure and setting that did best on the other
//! folders; nothing about it chose what scored it.

use aeroguard_detect::{EnsembleRecipe, Integrity};
use aeroguard_eval::cv::{self, Scored, Setting};
use aeroguard_eval::skab::SkabFile;
use aeroguard_eval::{Evaluation, Summary};
use aeroguard_examples::Result;

use super::cv::{AIM, FAR_BUDGET, grid};

/// The members the candidates weigh, in this order (every member the skab example fits but the dense
/// autoencoder).
pub const MEMBERS: [&str; 9] = [
    "rules",
    "kmeans",
    "isolation_forest",
    "conv_autoencoder",
    "lstm",
    "level_shift",
    "relations",
    "subspace",
    "relations_short",
];

/// The candidate structures: each member's weight, in [`MEMBERS`] order. Weights are whole numbers so that the
/// votes needed, searched over whole numbers, can ask for a level member and one, two or three others.
pub fn candidates() -> Vec<(&'static str, Vec<f64>)> {
    vec![
        ("nine alike", vec![1.0; 9]),
        (
            "three level members at 3, the rest at 1",
            vec![1.0, 1.0, 1.0, 1.0, 1.0, 3.0, 3.0, 3.0, 0.0],
        ),
        (
            "four level members at 2, the rest at 1",
            vec![1.0, 1.0, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 2.0],
        ),
        (
            "four level members at 3, the rest at 1",
            vec![1.0, 1.0, 1.0, 1.0, 1.0, 3.0, 3.0, 3.0, 3.0],
        ),
    ]
}

/// What the nested search found.
pub struct Nested {
    /// `ensemble_cv_folder_nested`: each folder scored with the structure and setting chosen on the others.
    pub row: Summary,
    /// Per held-out folder: the structure chosen and its setting.
    pub chosen: Vec<(String, &'static str, Setting)>,
    /// The structure the same rule chooses on every file (what a recipe would take), and its setting.
    pub on_all: (&'static str, Setting),
}

/// `scored` holds every file's scores of the [`MEMBERS`], in that order.
pub fn nested(files: &[SkabFile], scored: &[Scored], recipe: &EnsembleRecipe) -> Result<Nested> {
    let names: Vec<String> = MEMBERS.iter().map(|n| n.to_string()).collect();
    // Per candidate: the files' scores with its weights (a member weighing 0 is left out).
    let weighed: Vec<(&'static str, Vec<Scored>, aeroguard_eval::cv::Grid)> = candidates()
        .into_iter()
        .map(|(label, weights)| {
            let keep: Vec<usize> = (0..weights.len()).filter(|i| weights[*i] > 0.0).collect();
            let variants: Vec<Scored> = scored
                .iter()
                .map(|s| Scored {
                    scores: keep.iter().map(|&i| s.scores[i].clone()).collect(),
                    baselines: keep.iter().map(|&i| s.baselines[i]).collect(),
                    weights: keep.iter().map(|&i| weights[i]).collect(),
                    ..s.clone()
                })
                .collect();
            let kept_names: Vec<String> = keep.iter().map(|&i| names[i].clone()).collect();
            let kept_weights: Vec<f64> = keep.iter().map(|&i| weights[i]).collect();
            let g = grid(recipe, &kept_names, &kept_weights);
            debug_assert!(
                g.ms.iter()
                    .all(|m| Integrity::of(&kept_names, &kept_weights, *m as f64).holds())
            );
            (label, variants, g)
        })
        .collect();
    let best = |indices: &[usize]| -> (usize, Setting) {
        let mut top: Option<(f64, usize, Setting)> = None;
        for (c, (_, variants, g)) in weighed.iter().enumerate() {
            let chosen: Vec<&Scored> = indices.iter().map(|&i| &variants[i]).collect();
            let s = cv::choose(&chosen, g, FAR_BUDGET, AIM);
            let counts = cv::pooled(&chosen, &s);
            let merit = if counts.far() / 100.0 <= FAR_BUDGET {
                cv::merit(&chosen, &s, &counts, AIM)
            } else {
                -counts.far()
            };
            if top.as_ref().is_none_or(|(m, ..)| merit > *m) {
                top = Some((merit, c, s));
            }
        }
        top.map_or(
            (
                0,
                Setting {
                    scale: 1.0,
                    m: 1,
                    k_of: 1,
                    window: 1,
                },
            ),
            |(_, c, s)| (c, s),
        )
    };
    let mut eval = Evaluation::new("ensemble_cv_folder_nested");
    let mut chosen = Vec::new();
    for fold in cv::by_folder(scored) {
        let others: Vec<usize> = (0..scored.len()).filter(|i| !fold.contains(i)).collect();
        let (c, setting) = best(&others);
        let (label, variants, _) = &weighed[c];
        for &i in &fold {
            let alarms = variants[i].alarms(&setting);
            eval.add(&files[i], &alarms[variants[i].test_from..])?;
        }
        chosen.push((scored[fold[0]].folder.clone(), *label, setting));
    }
    let all: Vec<usize> = (0..scored.len()).collect();
    let (c, setting) = best(&all);
    Ok(Nested {
        row: eval.summary(),
        chosen,
        on_all: (weighed[c].0, setting),
    })
}
