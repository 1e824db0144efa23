//! Scores AeroGuard's detectors on the SKAB benchmark, following `shared/notes/skab-protocol.md`: per file, the
//! first 400 rows train, the rest are predicted causally; metrics are pooled over files.
//!
//! ```text
//! cargo run --release -p aeroguard-examples --example skab -- [--data DIR] [--json]
//!     [--window ROWS] [--z K] [--m VOTES] [--k-of K --of-window W] [--clusters K] [--rule-rows N] [--rule-margin F]
//! ```
//!
//! DIR holds any of SKAB's `valve1/`, `valve2/`, `other/` folders (default: `../shared/data/skab`). The table
//! has each detector alone, the benchmark's isolation-forest recipe, each M of the ensemble, and the
//! recommended ensemble as `ensemble`.

use std::process::ExitCode;

use aeroguard_detect::skab::{self, Evaluation, Summary, TRAIN_ROWS};
use aeroguard_detect::{
    Detector, EnsembleRecipe, FittedDetector, IsolationForest, Model, Voter, metrics::rolling_median,
};
use aeroguard_examples::arg_value;
use ndarray::{Axis, Slice};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn recipe(args: &[String]) -> EnsembleRecipe {
    let mut r = EnsembleRecipe::default();
    r.window = arg_value(args, "--window").unwrap_or(r.window);
    r.z = arg_value(args, "--z").unwrap_or(r.z);
    r.forest_z = arg_value(args, "--forest-z").unwrap_or(r.forest_z);
    r.forest_std = arg_value(args, "--forest-std").unwrap_or(r.forest_std);
    r.whiten = arg_value(args, "--whiten").unwrap_or(r.whiten);
    if let Some(w) = arg_value::<String>(args, "--weights") {
        let w: Vec<f64> = w.split(',').filter_map(|v| v.parse().ok()).collect();
        if let [a, b, c] = w[..] {
            r.weights = [a, b, c];
        }
    }
    r.m = arg_value(args, "--m").unwrap_or(r.m);
    r.k = arg_value(args, "--clusters").unwrap_or(r.k);
    r.k_of = arg_value(args, "--k-of").unwrap_or(r.k_of);
    r.of_window = arg_value(args, "--of-window").unwrap_or(r.of_window);
    r.rules.rows = arg_value(args, "--rule-rows").unwrap_or(r.rules.rows);
    r.rules.margin = arg_value(args, "--rule-margin").unwrap_or(r.rules.margin);
    r
}

fn test_part(alarms: &[bool]) -> Vec<bool> {
    alarms[TRAIN_ROWS.min(alarms.len())..].to_vec()
}

fn run(args: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let dir = match arg_value::<String>(args, "--data") {
        Some(d) => d.into(),
        None => skab::default_dir().ok_or("no SKAB data found: pass --data DIR")?,
    };
    let files = skab::load_dir(&dir)?;
    let recipe = recipe(args);
    let n = 3;
    let mut alone: Vec<Evaluation> = Vec::new();
    let mut by_m: Vec<Evaluation> = (1..=n)
        .map(|m| Evaluation::new(format!("ensemble {m}-of-{n}")))
        .collect();
    let mut recommended = Evaluation::new("ensemble");
    let mut reference = Evaluation::new("isolation_forest (benchmark recipe)");
    for f in &files {
        let train = f.train(TRAIN_ROWS);
        // The benchmark's isolation forest: raw features, contamination 0.0005, rolling median of 3.
        let forest = IsolationForest::builder()
            .contamination(0.0005)
            .seed(recipe.seed)
            .build()?
            .fit(train)?;
        let test = f.x.slice_axis(Axis(0), Slice::from(TRAIN_ROWS..));
        reference.add(f, &rolling_median(&forest.is_anomaly(test)?.to_vec(), 3))?;
        // Every member alone, under the ensemble's temporal rule; the whole file is one causal sequence.
        let members = recipe.members(train)?;
        for (i, m) in members.iter().enumerate() {
            if alone.len() <= i {
                alone.push(Evaluation::new(m.name()));
            }
            let single: Voter<Model> = Voter::builder(vec![m.clone()])
                .m(1.0)
                .k_of_window(recipe.k_of, recipe.of_window)
                .build()?;
            let alarms: Vec<bool> = single.decide(f.x.view())?.iter().map(|v| v.alarm).collect();
            alone[i].add(f, &test_part(&alarms))?;
        }
        let mut voter = Voter::builder(members)
            .m(1.0)
            .k_of_window(recipe.k_of, recipe.of_window)
            .build()?;
        for (m, eval) in by_m.iter_mut().enumerate() {
            voter.set_m((m + 1) as f64)?;
            let alarms: Vec<bool> = voter.decide(f.x.view())?.iter().map(|v| v.alarm).collect();
            eval.add(f, &test_part(&alarms))?;
        }
        let ensemble = recipe.voter(voter.members().to_vec())?;
        let alarms: Vec<bool> = ensemble.decide(f.x.view())?.iter().map(|v| v.alarm).collect();
        recommended.add(f, &test_part(&alarms))?;
    }
    let mut rows: Vec<Summary> = alone
        .iter()
        .chain([&reference])
        .chain(&by_m)
        .map(Evaluation::summary)
        .collect();
    rows.push(recommended.summary());
    if args.iter().any(|a| a == "--json") {
        println!(
            "{}",
            serde_json::json!({ "files": files.len(), "detectors": rows })
        );
        return Ok(());
    }
    println!(
        "SKAB: {} files from {}, recipe {recipe:?}",
        files.len(),
        dir.display()
    );
    println!(
        "{:<36} {:>5} {:>7} {:>7} {:>6} {:>6} {:>6} {:>6} {:>8} {:>8} {:>8}",
        "detector", "F1", "FAR %", "MAR %", "TP", "FP", "FN", "TN", "NAB std", "NAB lFP", "NAB lFN"
    );
    for r in &rows {
        println!(
            "{:<36} {:>5.2} {:>7.2} {:>7.2} {:>6} {:>6} {:>6} {:>6} {:>8.2} {:>8.2} {:>8.2}",
            r.name, r.f1, r.far, r.mar, r.tp, r.fp, r.fn_, r.tn, r.nab_standard, r.nab_low_fp, r.nab_low_fn
        );
    }
    Ok(())
}
