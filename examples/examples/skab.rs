//! Scores AeroGuard's detectors on the SKAB benchmark, following `shared/notes/skab-protocol.md`: per file, the
//! first 400 rows train, the rest are predicted causally; metrics are pooled over files.
//!
//! ```text
//! cargo run --release -p aeroguard-examples --example skab -- [--data DIR] [--json] [--classic]
//!     [--window ROWS] [--z K] [--forest-z K] [--m VOTES] [--k-of K --of-window W] [--clusters K]
//!     [--rule-rows N] [--rule-margin F] [--weights W,W,...] [--ae-z K] [--conv-z K] [--lstm-z K]
//!     [--epochs N] [--verbose] [--timing]
//! ```
//!
//! DIR holds any of SKAB's `valve1/`, `valve2/`, `other/` folders (default: `../shared/data/skab`). The table
//! has each detector alone, the benchmark's isolation-forest recipe, every M of the classic 3-member ensemble
//! and of the 4- and 5-member ensembles with the neural members, and the recommended ensemble as `ensemble`
//! (`EnsembleRecipe::full`; `--classic` for the 3-member default). Then, for the recommended ensemble, how often
//! each member cast the deciding vote, and how correlated the members' errors are.

use std::process::ExitCode;

use aeroguard_detect::skab::{self, Evaluation, SkabFile, Summary, TRAIN_ROWS};
use aeroguard_detect::{
    Detector, EnsembleRecipe, FittedDetector, IsolationForest, Model, Verdict, Vote, Voter,
    metrics::rolling_median,
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
    let mut r = if args.iter().any(|a| a == "--classic") {
        EnsembleRecipe::default()
    } else {
        EnsembleRecipe::full()
    };
    r.window = arg_value(args, "--window").unwrap_or(r.window);
    r.z = arg_value(args, "--z").unwrap_or(r.z);
    r.forest_z = arg_value(args, "--forest-z").unwrap_or(r.forest_z);
    r.forest_std = arg_value(args, "--forest-std").unwrap_or(r.forest_std);
    r.whiten = arg_value(args, "--whiten").unwrap_or(r.whiten);
    if let Some(w) = arg_value::<String>(args, "--weights") {
        r.weights = w.split(',').filter_map(|v| v.parse().ok()).collect();
    }
    r.m = arg_value(args, "--m").unwrap_or(r.m);
    r.k = arg_value(args, "--clusters").unwrap_or(r.k);
    r.k_of = arg_value(args, "--k-of").unwrap_or(r.k_of);
    r.of_window = arg_value(args, "--of-window").unwrap_or(r.of_window);
    r.rules.rows = arg_value(args, "--rule-rows").unwrap_or(r.rules.rows);
    r.rules.margin = arg_value(args, "--rule-margin").unwrap_or(r.rules.margin);
    r.autoencoder_z = arg_value(args, "--ae-z").or(r.autoencoder_z);
    r.conv_z = arg_value(args, "--conv-z").or(r.conv_z);
    r.lstm_z = arg_value(args, "--lstm-z").or(r.lstm_z);
    r.training.epochs = arg_value(args, "--epochs").unwrap_or(r.training.epochs);
    r.training.verbose = args.iter().any(|a| a == "--verbose");
    r
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

    fn add(
        &mut self,
        f: &SkabFile,
        all: &[Model],
        recipe: &EnsembleRecipe,
    ) -> Result<(), Box<dyn std::error::Error>> {
        let chosen: Vec<Model> = self.members.iter().map(|&i| all[i].clone()).collect();
        let mut voter = Voter::builder(chosen)
            .m(1.0)
            .k_of_window(recipe.k_of, recipe.of_window)
            .build()?;
        for (m, eval) in self.evals.iter_mut().enumerate() {
            voter.set_m((m + 1) as f64)?;
            let alarms: Vec<bool> = voter.decide(f.x.view())?.iter().map(|v| v.alarm).collect();
            eval.add(f, &test_part(&alarms))?;
        }
        Ok(())
    }
}

/// Deciding votes and error correlation of the recommended ensemble's members, pooled over test rows.
#[derive(Default)]
struct Analysis {
    names: Vec<String>,
    deciding: Vec<usize>,
    decided_rows: usize,
    /// Per member, per pooled test row: whether its vote was wrong.
    errors: Vec<Vec<bool>>,
}

impl Analysis {
    fn add(&mut self, verdicts: &[Verdict], labels: &[bool]) {
        let Some(first) = verdicts.first() else { return };
        if self.names.is_empty() {
            self.names = first.members.iter().map(|m| m.name.clone()).collect();
            self.deciding = vec![0; self.names.len()];
            self.errors = vec![Vec::new(); self.names.len()];
        }
        for (v, &label) in verdicts.iter().zip(labels) {
            let mut decided = false;
            for (i, r) in v.members.iter().enumerate() {
                let yes = r.vote == Vote::Yes;
                // Deciding: without this member's vote (or with it flipped) the row's vote would go the other way.
                let pivotal = if yes {
                    v.yes - r.weight < v.required - 1e-9
                } else {
                    v.yes + r.weight >= v.required - 1e-9
                };
                if pivotal && v.passed == yes {
                    self.deciding[i] += 1;
                    decided = true;
                }
                self.errors[i].push(yes != label);
            }
            self.decided_rows += usize::from(decided);
        }
    }

    fn print(&self) {
        let rows = self.errors.first().map_or(0, Vec::len);
        println!(
            "\nDeciding votes of the recommended ensemble ({rows} test rows; a member decides a row when the"
        );
        println!(
            "row's vote would have gone the other way without it): {} rows had a deciding member",
            self.decided_rows
        );
        for (name, n) in self.names.iter().zip(&self.deciding) {
            println!(
                "  {name:<20} {n:>6} rows ({:.1} %)",
                100.0 * *n as f64 / rows.max(1) as f64
            );
        }
        println!(
            "\nCorrelation of the members' errors (phi coefficient of 'vote differs from the label', per row):"
        );
        print!("{:<20}", "");
        for n in &self.names {
            print!(" {:>9}", n.chars().take(9).collect::<String>());
        }
        println!();
        for (i, a) in self.errors.iter().enumerate() {
            print!("{:<20}", self.names[i]);
            for b in &self.errors {
                print!(" {:>9.2}", phi(a, b));
            }
            println!();
        }
    }
}

fn phi(a: &[bool], b: &[bool]) -> f64 {
    let (mut n11, mut n10, mut n01, mut n00) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
    for (&x, &y) in a.iter().zip(b) {
        match (x, y) {
            (true, true) => n11 += 1.0,
            (true, false) => n10 += 1.0,
            (false, true) => n01 += 1.0,
            (false, false) => n00 += 1.0,
        }
    }
    let d = ((n11 + n10) * (n01 + n00) * (n11 + n01) * (n10 + n00)).sqrt();
    if d > 0.0 { (n11 * n00 - n10 * n01) / d } else { 0.0 }
}

fn run(args: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let dir = match arg_value::<String>(args, "--data") {
        Some(d) => d.into(),
        None => skab::default_dir().ok_or("no SKAB data found: pass --data DIR")?,
    };
    let files = skab::load_dir(&dir)?;
    let recipe = recipe(args);
    // Every member is fitted for the table: the three classic ones and all three neural ones.
    let every = EnsembleRecipe {
        autoencoder_z: recipe.autoencoder_z.or(Some(150.0)),
        conv_z: recipe.conv_z.or(EnsembleRecipe::full().conv_z),
        lstm_z: recipe.lstm_z.or(EnsembleRecipe::full().lstm_z),
        ..recipe.clone()
    };
    let names = [
        "rules",
        "kmeans",
        "isolation_forest",
        "autoencoder",
        "conv_autoencoder",
        "lstm",
    ];
    let mut alone: Vec<Evaluation> = names.iter().map(|n| Evaluation::new(*n)).collect();
    let mut sweeps = [
        Sweep::new("classic", vec![0, 1, 2]),
        Sweep::new("4 members", vec![0, 1, 2, 4]),
        Sweep::new("5 members", vec![0, 1, 2, 4, 5]),
    ];
    // The recommended ensemble's members, by name, in the recipe's order.
    let mut wanted = vec![0, 1, 2];
    for (i, z) in [(3, recipe.autoencoder_z), (4, recipe.conv_z), (5, recipe.lstm_z)] {
        if z.is_some() {
            wanted.push(i);
        }
    }
    let mut recommended = Evaluation::new("ensemble");
    let mut reference = Evaluation::new("isolation_forest (benchmark recipe)");
    let mut analysis = Analysis::default();
    let started = std::time::Instant::now();
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
        let t0 = std::time::Instant::now();
        let mut members = every.classic_members(train)?;
        let t1 = std::time::Instant::now();
        members.extend(every.neural_members(train)?);
        if args.iter().any(|a| a == "--timing") {
            eprintln!(
                "{}: classic members {:.2} s, neural members {:.2} s",
                f.path.display(),
                (t1 - t0).as_secs_f64(),
                t1.elapsed().as_secs_f64()
            );
        }
        // Every member alone, under the ensemble's temporal rule; the whole file is one causal sequence.
        for (i, m) in members.iter().enumerate() {
            let single: Voter<Model> = Voter::builder(vec![m.clone()])
                .m(1.0)
                .k_of_window(recipe.k_of, recipe.of_window)
                .build()?;
            let alarms: Vec<bool> = single.decide(f.x.view())?.iter().map(|v| v.alarm).collect();
            alone[i].add(f, &test_part(&alarms))?;
        }
        for s in &mut sweeps {
            s.add(f, &members, &recipe)?;
        }
        let ensemble = recipe.voter(wanted.iter().map(|&i| members[i].clone()).collect())?;
        let verdicts = ensemble.decide(f.x.view())?;
        let alarms: Vec<bool> = verdicts.iter().map(|v| v.alarm).collect();
        recommended.add(f, &test_part(&alarms))?;
        analysis.add(&test_part(&verdicts), &test_part(&f.anomaly));
    }
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
    if args.iter().any(|a| a == "--json") {
        println!(
            "{}",
            serde_json::json!({ "files": files.len(), "detectors": rows })
        );
        return Ok(());
    }
    println!(
        "SKAB: {} files from {}, {:.1} s, recipe {recipe:?}",
        files.len(),
        dir.display(),
        elapsed.as_secs_f64()
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
    analysis.print();
    Ok(())
}
