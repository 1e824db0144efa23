//! Grouped cross-validation of the remaining-life model: no engine is in both a fold's fit and its score, and
//! each held-out engine is streamed cycle by cycle as it would run.

use ndarray::ArrayView2;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

use aeroguard_prognostics::rul::score::Tally;
use aeroguard_prognostics::rul::{RulModel, RulOptions};

use super::Unit;
use crate::{Error, Result};

/// One fold's figures (or all folds' together).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Figures {
    /// Engines scored.
    pub engines: usize,
    /// Every held-out cycle, its truth capped.
    pub cycles: Tally,
    /// One cycle per engine, drawn at random, as NASA's test set stops each engine short.
    pub cuts: Tally,
    /// Seconds the fold's model took to fit.
    pub fit_seconds: f64,
}

/// A cross-validation's figures.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    /// Per fold.
    pub folds: Vec<Figures>,
    /// All folds pooled.
    pub all: Figures,
}

/// Cross-validates over `units` in `folds` groups of engines (assigned by `seed`), the truth capped at
/// `options.cap`.
pub fn cross_validate(units: &[Unit], folds: usize, seed: u64, options: &RulOptions) -> Result<Report> {
    if folds < 2 || folds > units.len() {
        return Err(Error::Shape {
            what: "folds (2 up to the engines)",
            expected: units.len(),
            got: folds,
        });
    }
    let mut order: Vec<usize> = (0..units.len()).collect();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    order.shuffle(&mut rng);
    let mut report = Report::default();
    for fold in 0..folds {
        let held: Vec<&Unit> = order
            .iter()
            .skip(fold)
            .step_by(folds)
            .map(|&i| &units[i])
            .collect();
        let fit: Vec<ArrayView2<'_, f64>> = (0..order.len())
            .filter(|p| p % folds != fold)
            .map(|p| units[order[p]].rows.view())
            .collect();
        let started = std::time::Instant::now();
        let model = RulModel::fit(&fit, options).map_err(|e| prognostics("fitting a fold", e))?;
        let mut f = Figures {
            engines: held.len(),
            fit_seconds: started.elapsed().as_secs_f64(),
            ..Figures::default()
        };
        for unit in held {
            let estimates = model
                .predict_unit(unit.rows.view())
                .map_err(|e| prognostics("scoring a held-out engine", e))?;
            let n = estimates.len();
            let cut = rng.gen_range(0..n);
            for (i, e) in estimates.iter().enumerate() {
                let truth = ((n - 1 - i) as f64).min(options.cap);
                f.cycles.add(e.rul, truth, e.low, e.high);
                if i == cut {
                    f.cuts.add(e.rul, truth, e.low, e.high);
                }
            }
        }
        report.all.engines += f.engines;
        report.all.cycles.merge(&f.cycles);
        report.all.cuts.merge(&f.cuts);
        report.all.fit_seconds += f.fit_seconds;
        report.folds.push(f);
    }
    Ok(report)
}

/// Fits on `train` and scores each engine of `test` at its last cycle against its true remaining life
/// (`lives`, one per engine in order; capped at `options.cap` as in training).
pub fn score_test(train: &[Unit], test: &[Unit], lives: &[f64], options: &RulOptions) -> Result<Tally> {
    if lives.len() != test.len() {
        return Err(Error::Shape {
            what: "remaining lives (one per test engine)",
            expected: test.len(),
            got: lives.len(),
        });
    }
    let fit: Vec<ArrayView2<'_, f64>> = train.iter().map(|u| u.rows.view()).collect();
    let model =
        RulModel::fit(&fit, options).map_err(|e| prognostics("fitting on the training engines", e))?;
    let mut t = Tally::default();
    for (unit, life) in test.iter().zip(lives) {
        let estimates = model
            .predict_unit(unit.rows.view())
            .map_err(|e| prognostics("scoring a test engine", e))?;
        if let Some(last) = estimates.last() {
            t.add(last.rul, life.min(options.cap), last.low, last.high);
        }
    }
    Ok(t)
}

fn prognostics(what: &'static str, source: aeroguard_prognostics::Error) -> Error {
    Error::Prognostics { what, source }
}
