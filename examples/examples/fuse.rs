//! Redundant sensors, some of them faulty, fused with every strategy.
//!
//! Eight temperature transmitters measure one vessel (true temperature a slow sine around 72 °C). Five are
//! healthy (σ = 0.15 °C); `tt-6` is stuck at its first value, `tt-7` drifts by +0.05 °C per second, and `tt-8`
//! spikes by +40 °C on one sample in five. A triplex channel set `tt-1`, `tt-2`, `tt-8` feeds mid-value select.
//! The fault-tolerant strategies are asked to tolerate f = 3.
//!
//! ```text
//! cargo run -p aeroguard-examples --example fuse -- [--steps N] [--seed N]   # --help for more
//! ```
//! It prints, for the last step, each strategy's estimate, interval, used and excluded readings with the
//! reason, then each strategy's mean absolute error over the whole run.

use std::time::Duration;

use aeroguard_core::fusion::{Estimate, FusionConfig, Screen, StrategyKind};
use aeroguard_core::{Reading, SensorId, Timestamp};
use clap::Parser;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;
use rand_xoshiro::Xoshiro256PlusPlus;

const SENSORS: usize = 8;
const HALF_WIDTH: f64 = 0.5;

fn truth(t: f64) -> f64 {
    72.0 + 3.0 * (t / 30.0).sin()
}

fn measure(rng: &mut Xoshiro256PlusPlus, step: u64, stuck_at: f64) -> Vec<Reading> {
    let t = step as f64;
    let now = Timestamp::from_millis(step as i64 * 1000);
    (1..=SENSORS)
        .map(|i| {
            let z: f64 = rng.sample(StandardNormal);
            let noise = 0.15 * z;
            let value = match i {
                6 => stuck_at,
                7 => truth(t) + noise + 0.05 * t,
                8 if step % 5 == 4 => truth(t) + noise + 40.0,
                _ => truth(t) + noise,
            };
            let id = SensorId::new(format!("tt-{i}")).unwrap();
            Reading::new(id, value, now).with_half_width(HALF_WIDTH)
        })
        .collect()
}

fn strategies() -> Vec<(StrategyKind, usize)> {
    vec![
        (StrategyKind::Mean, 0),
        (StrategyKind::WeightedMean, 0),
        (StrategyKind::Median, 3),
        (StrategyKind::TrimmedMean, 3),
        (StrategyKind::MidValueSelect, 1),
        (StrategyKind::Marzullo, 3),
        (StrategyKind::BrooksIyengar, 3),
    ]
}

fn inputs_for(kind: StrategyKind, readings: &[Reading]) -> Vec<Reading> {
    if kind == StrategyKind::MidValueSelect {
        readings
            .iter()
            .filter(|r| matches!(r.sensor.as_str(), "tt-1" | "tt-2" | "tt-8"))
            .cloned()
            .collect()
    } else {
        readings.to_vec()
    }
}

fn describe(e: &Estimate) -> (String, String, String) {
    let interval = e
        .interval
        .map(|i| format!("[{:.2}, {:.2}]", i.lo, i.hi))
        .unwrap_or_else(|| "-".into());
    let used = e
        .used
        .iter()
        .map(|s| s.as_str().trim_start_matches("tt-"))
        .collect::<Vec<_>>()
        .join(",");
    let excluded = e
        .excluded
        .iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join("; ");
    (
        interval,
        used,
        if excluded.is_empty() { "-".into() } else { excluded },
    )
}

/// Eight redundant temperature transmitters, three of them faulty (stuck, drifting, spiking), fused with
/// every strategy: each one's estimate, interval and exclusions for the last step, and its error over the run.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    /// Samples to simulate (one per second).
    #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    steps: u64,
    /// Seed of the measurement noise.
    #[arg(long, default_value_t = 7)]
    seed: u64,
}

fn main() {
    let Cli { steps, seed } = Cli::parse();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let screen = Screen::default().with_max_age(Duration::from_secs(5));
    let fusers: Vec<_> = strategies()
        .into_iter()
        .map(|(kind, f)| {
            let mut cfg = FusionConfig::new(kind, f);
            cfg.screen = screen;
            (kind, cfg.build().unwrap())
        })
        .collect();

    let stuck_at = truth(0.0);
    let mut abs_err = vec![0.0; fusers.len()];
    let mut failures = vec![0usize; fusers.len()];
    let mut last = Vec::new();
    for step in 0..steps.max(1) {
        let readings = measure(&mut rng, step, stuck_at);
        let now = Timestamp::from_millis(step as i64 * 1000);
        let target = truth(step as f64);
        last.clear();
        for (k, (kind, fusion)) in fusers.iter().enumerate() {
            let result = fusion.fuse(&inputs_for(*kind, &readings), now);
            match &result {
                Ok(e) => abs_err[k] += (e.value - target).abs(),
                Err(_) => failures[k] += 1,
            }
            last.push((*kind, fusion.fault_tolerance(), result));
        }
    }

    let final_step = steps.max(1) - 1;
    println!(
        "Eight transmitters, ±{HALF_WIDTH} °C: tt-6 stuck at {stuck_at:.2}, tt-7 drifting +0.05 °C/s, \
         tt-8 spiking +40 °C one sample in five; mid-value select sees tt-1, tt-2, tt-8."
    );
    println!(
        "Step {final_step} (t = {final_step} s), true value {:.3} °C:\n",
        truth(final_step as f64)
    );
    println!(
        "{:<17} {:>2} {:>9} {:>16}  {:<15} excluded (why)",
        "strategy", "f", "estimate", "interval", "used"
    );
    for (kind, f, result) in &last {
        match result {
            Ok(e) => {
                let (interval, used, excluded) = describe(e);
                println!(
                    "{:<17} {:>2} {:>9.3} {:>16}  {:<15} {}",
                    kind.name(),
                    f,
                    e.value,
                    interval,
                    used,
                    excluded
                );
            }
            Err(err) => println!(
                "{:<17} {:>2} {:>9} {:>16}  {:<15} error: {err}",
                kind.name(),
                f,
                "-",
                "-",
                "-"
            ),
        }
    }
    println!(
        "\nOver {} steps: mean absolute error against the true value",
        steps.max(1)
    );
    println!("{:<17} {:>10} {:>8}", "strategy", "MAE °C", "errors");
    for (k, (kind, _)) in fusers.iter().enumerate() {
        let ok = steps.max(1) as usize - failures[k];
        let mae = if ok > 0 { abs_err[k] / ok as f64 } else { f64::NAN };
        println!("{:<17} {:>10.3} {:>8}", kind.name(), mae, failures[k]);
    }
}
