//! Scores AeroGuard's detectors on the Numenta Anomaly Benchmark's `realKnownCause` series, by NAB's own rules
//! (`aeroguard_eval::nab`): windows, the scaled sigmoid, probation, one threshold per detector and profile over
//! the corpus, normalised so the null detector scores 0 and the perfect one 100.
//!
//! ```text
//! cargo run --release -p aeroguard-examples --example nab -- [--data DIR] [--category NAME] [--json]
//! ```
//!
//! DIR is a NAB checkout with `data/` and `labels/` (default: `$AEROGUARD_NAB_DIR` or `$AEROGUARD_DATA/nab`;
//! `scripts/data fetch` gets it).
//! Each detector learns from a series' probation rows only (its first 15 %, at most 750), then scores every row
//! causally. Scores are divided by the threshold each detector calibrated on its training rows, so one
//! corpus-wide threshold means the same on every series.

use std::path::PathBuf;
use std::process::ExitCode;

use aeroguard_detect::{
    Detector, FeatureWindow, FittedDetector, IsolationForest, LevelShift, Settle, Surprise, Windowed,
};
use aeroguard_eval::nab::{self, NabResult, NabSeries, PROFILES};
use aeroguard_examples::{Error, Result};
use clap::Parser;
use ndarray::Array2;

/// Scores AeroGuard's detectors on NAB (`realKnownCause` by default) with NAB's three profiles.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    /// The NAB checkout holding `data/` and `labels/` (default: `$AEROGUARD_NAB_DIR` or
    /// `$AEROGUARD_DATA/nab`; `scripts/data fetch` gets it).
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// The category (a folder under `data/`).
    #[arg(long, default_value = "realKnownCause")]
    category: String,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    json: bool,
}

/// A detector for NAB: learns from the training rows, scores every row of the series.
type Scorer = fn(&[f64], usize) -> Result<Vec<f64>>;

fn column(values: &[f64]) -> Result<Array2<f64>> {
    Array2::from_shape_vec((values.len(), 1), values.to_vec()).map_err(|e| Error::Run(e.to_string()))
}

/// Scores relative to the detector's own threshold (1 = at it), so one threshold fits every series.
fn relative(scores: &[f64], threshold: f64) -> Vec<f64> {
    scores
        .iter()
        .map(|s| {
            if threshold > 0.0 {
                s / threshold
            } else {
                s - threshold + 1.0
            }
        })
        .collect()
}

/// An isolation forest over a causal window of `rows` (means and standard deviations).
fn forest(values: &[f64], train: usize, rows: usize) -> Result<Vec<f64>> {
    let features = FeatureWindow::builder().window(rows).std(true).build()?;
    let forest = IsolationForest::builder().contamination(0.01).seed(7).build()?;
    let x = column(values)?;
    let training = x.slice_axis(ndarray::Axis(0), ndarray::Slice::from(..train));
    let model = Windowed::new("forest", features, forest).fit(training)?;
    Ok(relative(&model.score(x.view())?.to_vec(), model.threshold()))
}

fn forest_12(values: &[f64], train: usize) -> Result<Vec<f64>> {
    forest(values, train, 12)
}

fn forest_48(values: &[f64], train: usize) -> Result<Vec<f64>> {
    forest(values, train, 48)
}

/// The level shift: the 12-row mean against its training level, in training scatters (alarm above z 10, held
/// to 5).
fn level_shift(values: &[f64], train: usize) -> Result<Vec<f64>> {
    shift(values, train, None)
}

/// The level shift with its alarms settling after a fault as in the SKAB recipe ([`Settle::RECOMMENDED`]).
fn level_shift_settling(values: &[f64], train: usize) -> Result<Vec<f64>> {
    shift(values, train, Some(Settle::RECOMMENDED))
}

fn shift(values: &[f64], train: usize, settle: Option<Settle>) -> Result<Vec<f64>> {
    let x = column(values)?;
    let training = x.slice_axis(ndarray::Axis(0), ndarray::Slice::from(..train));
    let model = LevelShift::builder()
        .window(12)
        .slow_below(None)
        .settle(settle)
        .build()?
        .fit(training)?;
    Ok(relative(&model.score(x.view())?.to_vec(), model.threshold()))
}

/// The surprise detector with its defaults: Numenta's anomaly likelihood over each value's distance from its
/// running mean and each change against the training rows' mean change, and the range check. Its score is a
/// probability already, the same on every series.
fn surprise(values: &[f64], train: usize) -> Result<Vec<f64>> {
    surprise_with(values, train, Surprise::builder().build()?)
}

/// The same without the range check.
fn surprise_no_range(values: &[f64], train: usize) -> Result<Vec<f64>> {
    surprise_with(values, train, Surprise::builder().spatial(None).build()?)
}

/// The same without the likelihood's red filter: a lasting change alarms on every row until the history
/// absorbs it.
fn surprise_no_filter(values: &[f64], train: usize) -> Result<Vec<f64>> {
    let likelihood = aeroguard_detect::Likelihood::builder().filter(false).build()?;
    surprise_with(values, train, Surprise::builder().likelihood(likelihood).build()?)
}

fn surprise_with(values: &[f64], train: usize, detector: Surprise) -> Result<Vec<f64>> {
    let x = column(values)?;
    let training = x.slice_axis(ndarray::Axis(0), ndarray::Slice::from(..train));
    let model = detector.fit(training)?;
    let rest = x.slice_axis(ndarray::Axis(0), ndarray::Slice::from(train..));
    // The training rows are probation (never scored); the rest is scored as one stream from the fitted state.
    let mut scores = vec![0.0; train];
    scores.extend(model.score(rest)?);
    Ok(scores)
}

/// A windowed Gaussian in the manner of NAB's baseline (our code): how many standard deviations of the last
/// 6,400 rows the value lies from their mean, with the window started on the training rows.
fn windowed_gaussian(values: &[f64], _train: usize) -> Result<Vec<f64>> {
    const WINDOW: usize = 6400;
    let mut out = Vec::with_capacity(values.len());
    let (mut sum, mut sq) = (0.0, 0.0);
    for (i, &v) in values.iter().enumerate() {
        let n = i.min(WINDOW) as f64;
        let score = if n < 2.0 {
            0.0
        } else {
            let mean = sum / n;
            let std = (sq / n - mean * mean).max(0.0).sqrt();
            if std > 0.0 { (v - mean).abs() / std } else { 0.0 }
        };
        out.push(score);
        sum += v;
        sq += v * v;
        if i >= WINDOW {
            let old = values[i - WINDOW];
            sum -= old;
            sq -= old * old;
        }
    }
    Ok(out)
}

/// NAB's reference points: detections at the first row of every window, and none at all.
fn perfect(series: &NabSeries) -> Vec<f64> {
    let mut s = vec![0.0; series.values.len()];
    for &(start, _) in &series.windows {
        s[start] = 1.0;
    }
    s
}

const DETECTORS: [(&str, Scorer); 8] = [
    ("surprise", surprise),
    ("surprise, no range check", surprise_no_range),
    ("surprise, no filter", surprise_no_filter),
    ("forest(window 12)", forest_12),
    ("forest(window 48)", forest_48),
    ("shift(window 12)", level_shift),
    ("shift(window 12, settling)", level_shift_settling),
    ("windowed gaussian", windowed_gaussian),
];

fn run(cli: &Cli) -> Result<()> {
    let dir = match &cli.data {
        Some(d) => d.clone(),
        None => aeroguard_eval::data::dir(aeroguard_eval::data::DataSet::Nab)?,
    };
    let series = nab::load_category(&dir, &cli.category)?;
    if series.is_empty() {
        return Err(Error::Run(format!(
            "no series in {}/data/{}",
            dir.display(),
            cli.category
        )));
    }
    let mut rows: Vec<(String, Vec<NabResult>)> = Vec::new();
    let score_all = |scores: &[Vec<f64>]| -> Result<Vec<NabResult>> {
        PROFILES
            .iter()
            .map(|p| Ok(nab::score_corpus(&series, scores, p)?))
            .collect()
    };
    rows.push((
        "perfect".into(),
        score_all(&series.iter().map(perfect).collect::<Vec<_>>())?,
    ));
    rows.push((
        "null".into(),
        score_all(
            &series
                .iter()
                .map(|s| vec![0.0; s.values.len()])
                .collect::<Vec<_>>(),
        )?,
    ));
    for (name, scorer) in DETECTORS {
        let scores = series
            .iter()
            .map(|s| scorer(&s.values, nab::probation(s.values.len())))
            .collect::<Result<Vec<_>>>()?;
        rows.push((name.to_string(), score_all(&scores)?));
    }
    let windows: usize = series.iter().map(|s| s.windows.len()).sum();
    if cli.json {
        let json = serde_json::json!({
            "category": cli.category,
            "series": series.len(),
            "windows": windows,
            "detectors": rows.iter().map(|(name, results)| serde_json::json!({
                "name": name,
                "profiles": results.iter().map(|r| serde_json::json!({
                    "profile": r.profile, "score": r.score, "raw": r.raw, "threshold": r.threshold,
                    "tp": r.tp, "fp": r.fp, "fn": r.fn_,
                })).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        });
        println!("{json}");
        return Ok(());
    }
    println!(
        "NAB {} ({} series, {windows} windows), normalised scores (null 0, perfect 100)",
        cli.category,
        series.len()
    );
    println!(
        "{:<27} {:>9} {:>12} {:>12}   {:>24}",
        "detector", "standard", "low FP", "low FN", "standard: tp / fp / fn"
    );
    for (name, r) in &rows {
        println!(
            "{:<27} {:>9.1} {:>12.1} {:>12.1}   {:>24}",
            name,
            r[0].score,
            r[1].score,
            r[2].score,
            format!("{} / {} / {}", r[0].tp, r[0].fp, r[0].fn_)
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("nab: {e}");
            ExitCode::from(2)
        }
    }
}
