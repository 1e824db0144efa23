//! Remaining useful life on NASA's C-MAPSS FD001 turbofans: grouped cross-validation over the training engines
//! (no engine is in both a fold's fit and its score), every held-out cycle estimated causally, as a stream;
//! RMSE with the remaining life capped at 125 cycles, NASA's asymmetric score, and the conformal interval's
//! coverage and width, per fold and overall. With `--test FILE --rul FILE` it fits on all training engines and
//! scores a file in NASA's test layout at each engine's last cycle.
//!
//! ```text
//! cargo run --release -p aeroguard-examples --example cmapss -- [--data DIR] [--folds K] [--test FILE --rul FILE]
//! ```
//!
//! DIR holds `train_FD001.txt` (default: `$AEROGUARD_CMAPSS_DIR` or `$AEROGUARD_DATA/cmapss`; `scripts/data
//! fetch` gets it). Each fold's model chooses everything it learns (columns, trees, intervals) from its own
//! training engines; the boosters' settings are fixed in advance.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use aeroguard_eval::cmapss::{self, Figures, Unit};
use aeroguard_eval::data::{self, DataSet};
use aeroguard_examples::{Error, Result};
use aeroguard_prognostics::rul::{RulModel, RulOptions};
use clap::Parser;
use ndarray::ArrayView2;

/// Cross-validates the remaining-life model on C-MAPSS FD001, or scores NASA's test layout.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    /// The folder holding `train_FD001.txt` (default: `$AEROGUARD_CMAPSS_DIR` or `$AEROGUARD_DATA/cmapss`).
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Folds of engines in the cross-validation.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u8).range(2..=20))]
    folds: u8,
    /// The seed of the folds and the cut points.
    #[arg(long, default_value_t = 2008)]
    seed: u64,
    /// A file in NASA's test layout (engines stopped short) to score instead of cross-validating.
    #[arg(long, value_name = "FILE", requires = "rul")]
    test: Option<PathBuf>,
    /// The true remaining lives of `--test`'s engines, one per line in order.
    #[arg(long, value_name = "FILE", requires = "test")]
    rul: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cmapss: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: &Cli) -> Result<()> {
    let dir = match &cli.data {
        Some(d) => d.clone(),
        None => data::dir(DataSet::Cmapss)?,
    };
    let train = cmapss::read(&dir.join("train_FD001.txt"))?;
    let options = RulOptions::default();
    match (&cli.test, &cli.rul) {
        (Some(test), Some(rul)) => score_test(&train, test, rul, &options),
        _ => cross_validate(&train, cli, &options),
    }
}

fn cross_validate(train: &[Unit], cli: &Cli, options: &RulOptions) -> Result<()> {
    let k = usize::from(cli.folds);
    println!(
        "C-MAPSS FD001: {} engines, {k} folds of engines, remaining life capped at {}",
        train.len(),
        options.cap
    );
    println!(
        "{:>4} {:>7} {:>6} | {:>6} {:>9} {:>8} {:>6} | {:>9} {:>5} {:>9} | {:>6}",
        "fold",
        "engines",
        "cycles",
        "RMSE",
        "NASA/cyc",
        "coverage",
        "width",
        "cut RMSE",
        "cuts",
        "NASA sum",
        "fit s"
    );
    let report = cmapss::cross_validate(train, k, cli.seed, options)?;
    for (i, f) in report.folds.iter().enumerate() {
        print_row(&(i + 1).to_string(), f);
    }
    print_row("all", &report.all);
    timings(train, options)
}

fn print_row(name: &str, f: &Figures) {
    let (c, cuts) = (&f.cycles, &f.cuts);
    println!(
        "{name:>4} {:>7} {:>6} | {:>6.2} {:>9.2} {:>7.1}% {:>6.1} | {:>9.2} {:>5} {:>9.1} | {:>6.1}",
        f.engines,
        c.count,
        c.rmse(),
        c.nasa / c.count as f64,
        100.0 * c.coverage(),
        c.mean_width(),
        cuts.rmse(),
        cuts.count,
        cuts.nasa,
        f.fit_seconds
    );
}

/// Fits on every training engine and times it, then times the scoring of one cycle on a stream.
fn timings(train: &[Unit], options: &RulOptions) -> Result<()> {
    let all: Vec<ArrayView2<'_, f64>> = train.iter().map(|u| u.rows.view()).collect();
    let started = Instant::now();
    let model = RulModel::fit(&all, options)?;
    let fit = started.elapsed();
    let cycles: usize = train.iter().map(|u| u.rows.nrows()).sum();
    let started = Instant::now();
    let mut sink = 0.0;
    for unit in train {
        let mut stream = model.stream();
        for row in unit.rows.rows() {
            sink += stream
                .push(
                    row.as_slice()
                        .ok_or_else(|| Error::Run("rows not contiguous".into()))?,
                )?
                .rul;
        }
    }
    let per_cycle = started.elapsed().as_secs_f64() * 1e6 / cycles as f64;
    println!(
        "fit on all {} engines ({cycles} cycles, {} trees): {:.1} s; scoring one cycle on a stream: {per_cycle:.1} µs \
        (mean over {cycles}; checksum {sink:.0})",
        train.len(),
        model.trees(),
        fit.as_secs_f64()
    );
    Ok(())
}

/// Fits on all training engines and scores NASA's test layout at each engine's last cycle.
fn score_test(train: &[Unit], test: &Path, rul: &Path, options: &RulOptions) -> Result<()> {
    let t = cmapss::score_test(train, &cmapss::read(test)?, &cmapss::read_rul(rul)?, options)?;
    println!(
        "{}: {} engines at their last cycle: RMSE {:.2} (true life capped at {}), NASA score {:.1}, {:.0} % inside \
         the {:.0} % interval (mean width {:.1})",
        test.display(),
        t.count,
        t.rmse(),
        options.cap,
        t.nasa,
        100.0 * t.coverage(),
        100.0 * options.coverage,
        t.mean_width()
    );
    Ok(())
}
