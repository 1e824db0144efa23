//! Writes one SVG per SKAB file showing where and why the recommended ensemble alarmed: the sensors
//! (each scaled to its own range), every member's score against its threshold (log10 of score / threshold, so
//! the dashed line at 0 is the threshold), the ensemble's alarms, and the true anomaly segments shaded.
//!
//! ```text
//! cargo run --release -p aeroguard-examples --example skab_plot -- [--data DIR] [--out DIR] [--files N] [--classic]
//! ```
//! The default output folder is `skab-plots/` under the system's temporary folder.

use std::process::ExitCode;

use aeroguard_detect::skab::{self, TRAIN_ROWS};
use aeroguard_detect::{EnsembleRecipe, FittedDetector};
use aeroguard_examples::arg_value;
use aeroguard_examples::svg::{Figure, Line, Panel};

const COLOURS: [&str; 8] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#17becf",
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
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

fn run(args: &[String]) -> Result<usize, Box<dyn std::error::Error>> {
    let dir = match arg_value::<String>(args, "--data") {
        Some(d) => d.into(),
        None => skab::default_dir().ok_or("no SKAB data found: pass --data DIR")?,
    };
    let out: std::path::PathBuf = arg_value::<String>(args, "--out")
        .map_or_else(|| std::env::temp_dir().join("skab-plots"), Into::into);
    std::fs::create_dir_all(&out)?;
    let files = skab::load_dir(&dir)?;
    let limit: usize = arg_value(args, "--files").unwrap_or(files.len());
    let recipe = if args.iter().any(|a| a == "--classic") {
        EnsembleRecipe::default()
    } else {
        EnsembleRecipe::full()
    };
    let mut written = 0;
    for f in files.iter().take(limit) {
        let voter = recipe.fit(f.train(TRAIN_ROWS))?;
        let verdicts = voter.decide(f.x.view())?;
        let rows = f.x.nrows();
        let mut sensors = Panel {
            title: "sensors (scaled)".into(),
            height: 160.0,
            range: (0.0, 1.0),
            shade: f.anomaly.clone(),
            ..Panel::default()
        };
        for (j, col) in f.x.columns().into_iter().enumerate() {
            let (lo, hi) = col
                .iter()
                .fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(*v), b.max(*v)));
            sensors.lines.push(Line {
                label: f
                    .columns
                    .get(j)
                    .cloned()
                    .unwrap_or_default()
                    .chars()
                    .take(16)
                    .collect(),
                colour: COLOURS[j % COLOURS.len()].into(),
                values: col.iter().map(|v| (v - lo) / (hi - lo).max(1e-12)).collect(),
            });
        }
        let mut panels = vec![sensors];
        for (k, member) in voter.members().iter().enumerate() {
            let scores = member.score(f.x.view())?;
            let t = member.threshold();
            panels.push(Panel {
                title: format!("{} score / threshold (log10)", member.name()),
                height: 70.0,
                range: (-2.0, 2.0),
                rules: vec![0.0],
                shade: f.anomaly.clone(),
                lines: vec![Line {
                    label: String::new(),
                    colour: COLOURS[k % COLOURS.len()].into(),
                    values: scores
                        .iter()
                        .map(|s| {
                            if *s > 0.0 && t > 0.0 {
                                (s / t).log10()
                            } else {
                                f64::NAN
                            }
                        })
                        .collect(),
                }],
                ..Panel::default()
            });
        }
        panels.push(Panel {
            title: "ensemble alarms".into(),
            height: 26.0,
            range: (0.0, 1.0),
            shade: f.anomaly.clone(),
            strip: verdicts.iter().map(|v| v.alarm).collect(),
            ..Panel::default()
        });
        let name = f
            .path
            .strip_prefix(&dir)
            .unwrap_or(&f.path)
            .to_string_lossy()
            .replace(['/', '\\'], "_")
            .replace(".csv", ".svg");
        let figure = Figure {
            title: format!(
                "{} ({} rows; red shading: true anomalies)",
                f.path.display(),
                rows
            ),
            rows,
            marker: Some(TRAIN_ROWS.min(rows)),
            panels,
        };
        std::fs::write(out.join(&name), figure.render())?;
        written += 1;
    }
    println!("plots in {}", out.display());
    Ok(written)
}
