//! Scores AeroGuard's detectors on the SKAB benchmark, following `shared/notes/skab-protocol.md`: per file, the
//! first 400 rows train, the rest are predicted causally; metrics are pooled over files.
//!
//! ```text
//! cargo run --release -p aeroguard-examples --example skab -- [--data DIR] [--json] [--classic]
//! cargo run --release -p aeroguard-examples --example skab -- --help     # every tuning flag
//! ```
//!
//! DIR holds any of SKAB's `valve1/`, `valve2/`, `other/` folders (default: `$AEROGUARD_SKAB_DIR` or `$AEROGUARD_DATA/skab`). The table
//! has each detector alone, the benchmark's isolation-forest recipe, every M of the classic 3-member ensemble,
//! of the 4- and 5-member ensembles with the neural members and of the 6 with the level shift, the recommended
//! ensemble as `ensemble` (`EnsembleRecipe::full`; `--classic` for the 3-member default), and its cross-validated
//! rows beside each member's. Then, for the recommended ensemble, how often each member cast the deciding vote,
//! and how correlated the members' errors are.

use std::process::ExitCode;

use aeroguard_detect::{Detector, EnsembleRecipe, FittedDetector, IsolationForest, Model, Role, Voter};
use aeroguard_eval::metrics::rolling_median;
use aeroguard_eval::skab::{self, SkabFile, TRAIN_ROWS};
use aeroguard_eval::{Evaluation, Summary};
use aeroguard_examples::Result;
use clap::Parser;
use ndarray::{Axis, Slice};

mod analysis;
mod cli;
mod cv;
mod failures;
mod replay;
mod structure;

use analysis::Analysis;
use cli::{Cli, recipe};

fn main() -> ExitCode {
    aeroguard_examples::init_tracing();
    match run(&Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn test_part<T: Clone>(rows: &[T]) -> Vec<T> {
    rows[TRAIN_ROWS.min(rows.len())..].to_vec()
}

/// Every M of a vote over `members`, with the recipe's temporal rule.
struct Sweep {
    members: Vec<usize>,
    evals: Vec<Evaluation>,
}

impl Sweep {
    fn new(label: &str, members: Vec<usize>) -> Self {
        let n = members.len();
        let evals = (1..=n)
            .map(|m| Evaluation::new(format!("{label} {m}-of-{n}")))
            .collect();
        Sweep { members, evals }
    }

    fn add(&mut self, f: &SkabFile, all: &[Model], recipe: &EnsembleRecipe) -> Result<()> {
        let chosen: Vec<Model> = self.members.iter().map(|&i| all[i].clone()).collect();
        let mut voter = Voter::builder(chosen)
            .m(1.0)
            .k_of_window(recipe.voting.k_of, recipe.voting.of_window)
            .build()?;
        for (m, eval) in self.evals.iter_mut().enumerate() {
            voter.set_m((m + 1) as f64)?;
            let alarms: Vec<bool> = voter.decide(f.x.view())?.iter().map(|v| v.alarm).collect();
            eval.add(f, &test_part(&alarms))?;
        }
        Ok(())
    }
}

fn run(cli: &Cli) -> Result<()> {
    let dir = match &cli.data {
        Some(d) => d.clone(),
        None => aeroguard_eval::data::dir(aeroguard_eval::data::DataSet::Skab)?,
    };
    let files = skab::load_dir(&dir)?;
    let recipe = recipe(cli)?;
    // Every member is fitted for the table: the classic three, the neural three, the level shift, relations.
    let mut every = recipe.clone();
    every.neural.autoencoder_z = recipe.neural.autoencoder_z.or(Some(150.0));
    every.neural.conv_z = recipe.neural.conv_z.or(EnsembleRecipe::full().neural.conv_z);
    every.neural.lstm_z = recipe.neural.lstm_z.or(EnsembleRecipe::full().neural.lstm_z);
    every.levels.shift_z = recipe.levels.shift_z.or(Some(10.0));
    every.levels.relations_z = recipe.levels.relations_z.or(Some(11.5));
    every.levels.subspace_z = recipe.levels.subspace_z.or(Some(10.0));
    every.levels.short_relations_z = recipe.levels.short_relations_z.or(Some(5.0));
    let names = [
        "rules",
        "kmeans",
        "isolation_forest",
        "autoencoder",
        "conv_autoencoder",
        "lstm",
        "level_shift",
        "relations",
        "subspace",
        "relations_short",
    ];
    let mut alone: Vec<Evaluation> = names.iter().map(|n| Evaluation::new(*n)).collect();
    let mut sweeps = [
        Sweep::new("classic", vec![0, 1, 2]),
        Sweep::new("4 members", vec![0, 1, 2, 4]),
        Sweep::new("5 members", vec![0, 1, 2, 4, 5]),
        Sweep::new("6 members", vec![0, 1, 2, 4, 5, 6]),
        Sweep::new("kmeans, neural, shift", vec![1, 4, 5, 6]),
        Sweep::new("shift, relations, subspace", vec![6, 7, 8]),
        Sweep::new("neural and level members", vec![4, 5, 6, 7, 8]),
        Sweep::new("all 8", vec![0, 1, 2, 4, 5, 6, 7, 8]),
    ];
    // The recommended ensemble's members, by name, in the recipe's order.
    let mut wanted = vec![0, 1, 2];
    for (i, z) in [
        (3, recipe.neural.autoencoder_z),
        (4, recipe.neural.conv_z),
        (5, recipe.neural.lstm_z),
        (6, recipe.levels.shift_z),
        (7, recipe.levels.relations_z),
        (8, recipe.levels.subspace_z),
        (9, recipe.levels.short_relations_z),
    ] {
        if z.is_some() {
            wanted.push(i);
        }
    }
    let mut recommended = Evaluation::new("ensemble");
    let mut reference = Evaluation::new("isolation_forest (benchmark recipe)");
    let mut analysis = Analysis::default();
    // The recommended members' scores per file, for cross-validation; and a check that they give back the
    // ensemble's own alarms under its own setting (the vote counted from scores, as the voter counts it).
    let mut scored = Vec::with_capacity(files.len());
    let mut scored_all = Vec::with_capacity(files.len());
    let mut differing = 0usize;
    let started = std::time::Instant::now();
    // Per column, the files whose training rows made it a rate for the members, and slow for the level shift.
    let width = files.first().map_or(0, |f| f.x.ncols());
    let (mut rated, mut slow) = (vec![0usize; width], vec![0usize; width]);
    let bar = aeroguard_examples::progress(files.len() as u64, "fitting and scoring");
    for f in &files {
        bar.set_message(f.name());
        let train = f.train(TRAIN_ROWS);
        // The benchmark's isolation forest: raw features, contamination 0.0005, rolling median of 3.
        let forest = IsolationForest::builder()
            .contamination(0.0005)
            .seed(recipe.seed)
            .build()?
            .fit(train)?;
        let test = f.x.slice_axis(Axis(0), Slice::from(TRAIN_ROWS..));
        reference.add(f, &rolling_median(&forest.is_anomaly(test)?.to_vec(), 3))?;
        let t0 = std::time::Instant::now();
        let members = every.members(train)?;
        if let Some(Model::Rated(m)) = members.first() {
            for (n, r) in rated.iter_mut().zip(m.roles().rate()) {
                *n += usize::from(*r);
            }
        }
        if let Some(Model::LevelShift(m)) = members.get(6) {
            for (n, r) in slow.iter_mut().zip(m.roles()) {
                *n += usize::from(*r == Role::Slow);
            }
        }
        if cli.timing {
            eprintln!(
                "{}: members fitted in {:.2} s",
                f.path.display(),
                t0.elapsed().as_secs_f64()
            );
        }
        // Every member alone, under the ensemble's temporal rule; the whole file is one causal sequence.
        for (i, m) in members.iter().enumerate() {
            let single: Voter<Model> = Voter::builder(vec![m.clone()])
                .m(1.0)
                .k_of_window(recipe.voting.k_of, recipe.voting.of_window)
                .build()?;
            let alarms: Vec<bool> = single.decide(f.x.view())?.iter().map(|v| v.alarm).collect();
            alone[i].add(f, &test_part(&alarms))?;
        }
        for s in &mut sweeps {
            s.add(f, &members, &recipe)?;
        }
        let mut ensemble = recipe.voter(wanted.iter().map(|&i| members[i].clone()).collect())?;
        ensemble.calibrate_diagnosis(train, aeroguard_detect::FROZEN_FLOOR)?;
        let verdicts = ensemble.decide(f.x.view())?;
        let alarms: Vec<bool> = verdicts.iter().map(|v| v.alarm).collect();
        recommended.add(f, &test_part(&alarms))?;
        let chosen: Vec<Model> = wanted.iter().map(|&i| members[i].clone()).collect();
        let s = cv::scored(f, &chosen, &recipe)?;
        let eight: Vec<Model> = structure::MEMBERS
            .iter()
            .filter_map(|n| members.iter().find(|m| m.name() == *n).cloned())
            .collect();
        scored_all.push(cv::scored(f, &eight, &every)?);
        differing += s
            .alarms(&cv::recipe_setting(&recipe))
            .iter()
            .zip(&alarms)
            .filter(|(a, b)| a != b)
            .count();
        scored.push(s);
        analysis.add(&test_part(&verdicts), &test_part(&f.anomaly));
        bar.inc(1);
    }
    bar.finish_and_clear();
    let elapsed = started.elapsed();
    let mut rows: Vec<Summary> = alone
        .iter()
        .chain([&reference])
        .map(Evaluation::summary)
        .collect();
    for s in &sweeps {
        rows.extend(s.evals.iter().map(Evaluation::summary));
    }
    rows.push(recommended.summary());
    let member_names: Vec<String> = wanted.iter().map(|&i| names[i].to_string()).collect();
    let report = cv::report(&files, &scored, &member_names, &recipe)?;
    rows.extend(report.rows.iter().cloned());
    let failures = failures::table(
        &files,
        &scored,
        &member_names,
        &cv::recipe_setting(&recipe),
        &report.folder_settings,
        recipe.voting.alone_window,
    )?;
    let integrity = recipe.integrity();
    let nested = structure::nested(&files, &scored_all, &every)?;
    rows.push(nested.row.clone());
    let searched: Vec<&str> = sweeps
        .iter()
        .flat_map(|s| s.evals.iter().map(|e| e.name.as_str()))
        .collect();
    let settings: Vec<serde_json::Value> = report
        .folder_settings
        .iter()
        .map(|(folder, s)| {
            serde_json::json!({ "held_out": folder, "scale": s.scale, "m": s.m, "k_of": s.k_of, "window": s.window })
        })
        .collect();
    let curve: Vec<serde_json::Value> = report
        .curve
        .iter()
        .map(|(scale, f1, far)| serde_json::json!({ "scale": scale, "f1": f1, "far": far }))
        .collect();
    let columns = files.first().map(|f| f.columns.clone()).unwrap_or_default();
    if cli.json {
        let by_column = |counts: &[usize]| -> serde_json::Map<String, serde_json::Value> {
            columns
                .iter()
                .zip(counts)
                .map(|(c, n)| (c.clone(), (*n).into()))
                .collect()
        };
        println!(
            "{}",
            serde_json::json!({ "files": files.len(), "detectors": rows, "cv_folder_settings": settings,
                                 "threshold_curve": curve, "cv_check_differing_rows": differing,
                                 "member_failures": failures, "integrity": integrity,
                                 "searched_in_sample": searched,
                                 "nested": { "chosen": nested.chosen.iter().map(|(f, l, s)| serde_json::json!({ "held_out": f, "structure": l, "scale": s.scale, "m": s.m, "k_of": s.k_of, "window": s.window })).collect::<Vec<_>>(),
                                             "on_all": { "structure": nested.on_all.0, "scale": nested.on_all.1.scale, "m": nested.on_all.1.m, "k_of": nested.on_all.1.k_of, "window": nested.on_all.1.window } },
                                 "roles": { "rated_files": by_column(&rated), "slow_files": by_column(&slow) } })
        );
        return Ok(());
    }
    println!(
        "SKAB: {} files from {}, {:.1} s, recipe {recipe:?}",
        files.len(),
        dir.display(),
        elapsed.as_secs_f64()
    );
    let per_column = |counts: &[usize]| -> String {
        columns
            .iter()
            .zip(counts)
            .map(|(c, n)| format!("{c} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "Channel roles learned from each file's training rows, files per column:\n  fed as rates to the members (--rate-below): {}\n  left out of the level shift as slow (--slow-below): {}",
        per_column(&rated),
        per_column(&slow)
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
    println!(
        "\nSearched in sample: the `... M-of-N` rows show every M on the files they score (reading the best off them\n\
         is a search in sample). The members alone and `ensemble` use the recipe's fixed defaults and their own\n\
         calibration on each file's training rows; the `_cv_` rows search inside each fold only."
    );
    println!(
        "\nCross-validation (rows ensemble_cv_file, ensemble_cv_folder): each held-out file or folder scored with the\n\
         setting (threshold scale on every robust-z member, votes needed, k of w rows) with the best F1 at FAR <= {:.0} %\n\
         on the other files only. The votes counted from the members' scores differ from the ensemble's on {differing} rows.",
        cv::FAR_BUDGET * 100.0
    );
    for (folder, s) in &report.folder_settings {
        println!(
            "  without {folder:<8}: scale {:.2}, votes weighing {} of {}, {} of {} rows",
            s.scale,
            s.m,
            recipe.member_weights().iter().sum::<f64>(),
            s.k_of,
            s.window
        );
    }
    println!(
        "\nThreshold curve of the recommended ensemble (its own M and temporal rule, every robust z scaled; in sample):"
    );
    for (scale, f1, far) in &report.curve {
        println!("  scale {scale:<5} F1 {f1:.2}  FAR {far:5.2} %");
    }
    println!(
        "\nThe vote's structure chosen inside each fold too (ensemble_cv_folder_nested; candidates: {}):",
        structure::candidates()
            .iter()
            .map(|c| c.0)
            .collect::<Vec<_>>()
            .join("; ")
    );
    for (folder, label, s) in &nested.chosen {
        println!(
            "  without {folder:<8}: {label}, scale {:.2}, {} votes, {} of {} rows",
            s.scale, s.m, s.k_of, s.window
        );
    }
    let (label, s) = &nested.on_all;
    println!(
        "  on every file    : {label}, scale {:.2}, {} votes, {} of {} rows",
        s.scale, s.m, s.k_of, s.window
    );
    failures::print(&failures);
    println!(
        "\nIntegrity of the recommended vote ({} of {} weight): {}",
        integrity.m,
        integrity.total,
        if integrity.holds() {
            "no member forces or suppresses the alarm".to_string()
        } else {
            integrity.warnings().join("; ")
        }
    );
    analysis.print();
    Ok(())
}
