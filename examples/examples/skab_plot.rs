//! Writes one SVG per SKAB file showing where and why the recommended ensemble alarmed: each sensor on its own
//! axis with its unit, every member's score against its threshold (log10 of score / threshold, so the dashed
//! line at 0 is the threshold), the ensemble's alarms, and the true anomaly segments shaded, over time.
//!
//! ```text
//! cargo run --release -p aeroguard-examples --example skab_plot -- [--data DIR] [--out DIR] [--files N] [--classic]
//! ```
//! The default output folder is `skab-plots/` under the system's temporary folder.

use std::path::PathBuf;
use std::process::ExitCode;

use aeroguard_detect::{EnsembleRecipe, FittedDetector};
use aeroguard_eval::skab::{self, TRAIN_ROWS};
use aeroguard_examples::plot::{Figure, Panel, Series};
use aeroguard_examples::{Error, Result};
use clap::Parser;

/// One SVG per SKAB file: sensors, each ensemble member's score against its threshold, the alarms, and the
/// true anomalies, over time.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    /// The folder holding SKAB's `valve1/`, `valve2/`, `other/` (default: the data folder,
    /// `$AEROGUARD_SKAB_DIR` or `$AEROGUARD_DATA/skab`; `scripts/data fetch` gets it).
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Where the SVGs go (default: `skab-plots/` in the temporary folder).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Plot only the first N files.
    #[arg(long, value_name = "N")]
    files: Option<usize>,
    /// The classic 3-member ensemble (default: the full 5-member recipe).
    #[arg(long)]
    classic: bool,
}

/// The unit of a SKAB sensor, from its column name.
fn unit(column: &str) -> &'static str {
    match column {
        c if c.starts_with("Accelerometer") => "g",
        "Current" => "A",
        "Pressure" => "bar",
        "Temperature" | "Thermocouple" => "°C",
        "Voltage" => "V",
        c if c.starts_with("Volume Flow Rate") => "L/min",
        _ => "",
    }
}

fn main() -> ExitCode {
    aeroguard_examples::init_tracing();
    match run(Cli::parse()) {
        Ok(n) => {
            println!("wrote {n} plots");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<usize> {
    let dir = match cli.data {
        Some(d) => d,
        None => aeroguard_eval::data::dir(aeroguard_eval::data::DataSet::Skab)?,
    };
    let out = cli.out.unwrap_or_else(|| std::env::temp_dir().join("skab-plots"));
    std::fs::create_dir_all(&out).map_err(|e| Error::io(format!("create {}", out.display()), e))?;
    let files = skab::load_dir(&dir)?;
    let limit = cli.files.unwrap_or(files.len());
    let recipe = if cli.classic {
        EnsembleRecipe::default()
    } else {
        EnsembleRecipe::full()
    };
    let mut written = 0;
    let bar = aeroguard_examples::progress(limit.min(files.len()) as u64, "plotting");
    for f in files.iter().take(limit) {
        bar.set_message(f.name());
        let voter = recipe.fit(f.train(TRAIN_ROWS))?;
        let verdicts = voter.decide(f.x.view())?;
        let rows = f.x.nrows();
        let start = f.times[0];
        let times: Vec<f64> = f.times.iter().map(|t| t - start).collect();
        let mut panels = Vec::new();
        for (j, col) in f.x.columns().into_iter().enumerate() {
            let name = f.columns.get(j).cloned().unwrap_or_default();
            panels.push(Panel {
                title: name.clone(),
                y_label: unit(&name).into(),
                height: 130,
                series: vec![Series {
                    label: String::new(),
                    values: col.to_vec(),
                }],
                shade: f.anomaly.clone(),
                ..Panel::default()
            });
        }
        for member in voter.members() {
            let scores = member.score(f.x.view())?;
            let t = member.threshold();
            let ratio = scores
                .iter()
                .map(|s| match (*s > 0.0, t > 0.0) {
                    (true, true) => (s / t).log10(),
                    // A rule's score is 0 while it holds and its threshold is 0: show holding and broken.
                    (false, _) => -2.0,
                    (true, false) => 2.0,
                })
                .collect();
            panels.push(Panel {
                title: format!("{}: score against its threshold", member.name()),
                y_label: "log10(score / threshold)".into(),
                height: 120,
                range: Some((-2.0, 2.0)),
                rules: vec![0.0],
                shade: f.anomaly.clone(),
                series: vec![Series {
                    label: member.name().to_string(),
                    values: ratio,
                }],
                ..Panel::default()
            });
        }
        panels.push(Panel {
            title: "ensemble alarms (orange) and true anomalies (red shading)".into(),
            y_label: "alarm".into(),
            height: 110,
            range: Some((0.0, 1.0)),
            shade: f.anomaly.clone(),
            strip: verdicts.iter().map(|v| v.alarm).collect(),
            ..Panel::default()
        });
        let name = f.name().replace(['/', '\\'], "_").replace(".csv", ".svg");
        let figure = Figure {
            title: format!("{} ({rows} rows; dashed grey line: end of training)", f.name()),
            x_label: "time since start (s)".into(),
            marker: times.get(TRAIN_ROWS.min(rows.saturating_sub(1))).copied(),
            times,
            panels,
        };
        let path = out.join(&name);
        std::fs::write(&path, figure.render()?)
            .map_err(|e| Error::io(format!("write {}", path.display()), e))?;
        written += 1;
        bar.inc(1);
    }
    bar.finish_and_clear();
    println!("plots in {}", out.display());
    Ok(written)
}
