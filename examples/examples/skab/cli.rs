//! The skab example's command line, and the recipe it makes.

use std::path::PathBuf;

use aeroguard_detect::{EnsembleRecipe, Settle};
use aeroguard_examples::{Error, Result};
use clap::Parser;

/// Scores AeroGuard's detectors on the SKAB benchmark (`shared/notes/skab-protocol.md`): each detector alone,
/// every M of the ensembles, and the recommended ensemble, then deciding votes and error correlations.
/// Unset tuning flags keep the recipe's defaults.
#[derive(Debug, Parser)]
#[command(version)]
pub struct Cli {
    /// The folder holding SKAB's `valve1/`, `valve2/`, `other/` (default: the data folder,
    /// `$AEROGUARD_SKAB_DIR` or `$AEROGUARD_DATA/skab`; `scripts/data fetch` gets it).
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
    /// The classic 3-member ensemble as the recommended one (default: the full 7-member recipe).
    #[arg(long)]
    pub classic: bool,
    /// Rows of the causal feature window.
    #[arg(long, value_name = "ROWS", value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub window: Option<u64>,
    /// Robust z threshold of the k-means member.
    #[arg(long, value_name = "K")]
    pub z: Option<f64>,
    /// Robust z threshold of the isolation forest member.
    #[arg(long, value_name = "K")]
    pub forest_z: Option<f64>,
    /// Whether the forest sees window standard deviations too.
    #[arg(long, value_name = "BOOL")]
    pub forest_std: Option<bool>,
    /// Whether k-means whitens its features.
    #[arg(long, value_name = "BOOL")]
    pub whiten: Option<bool>,
    /// Member weights, comma separated.
    #[arg(long, value_name = "W,W,...", value_delimiter = ',')]
    pub weights: Option<Vec<f64>>,
    /// Votes needed for an alarm.
    #[arg(long, value_name = "VOTES")]
    pub m: Option<f64>,
    /// k-means clusters.
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u64).range(1..=1_000))]
    pub clusters: Option<u64>,
    /// Alarms needed within the last `--of-window` rows.
    #[arg(long, value_name = "K")]
    pub k_of: Option<usize>,
    /// Rows of the temporal vote window.
    #[arg(long, value_name = "W")]
    pub of_window: Option<usize>,
    /// Rows a rule's condition must persist.
    #[arg(long, value_name = "N")]
    pub rule_rows: Option<usize>,
    /// Margin of the learned rule bands, as a fraction of their width.
    #[arg(long, value_name = "F")]
    pub rule_margin: Option<f64>,
    /// Add the dense autoencoder with this robust z threshold.
    #[arg(long, value_name = "K")]
    pub ae_z: Option<f64>,
    /// Robust z threshold of the convolutional autoencoder.
    #[arg(long, value_name = "K")]
    pub conv_z: Option<f64>,
    /// Robust z threshold of the LSTM.
    #[arg(long, value_name = "K")]
    pub lstm_z: Option<f64>,
    /// Training epochs of the neural members.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub epochs: Option<u64>,
    /// Log each training epoch.
    #[arg(long)]
    pub verbose: bool,
    /// Print each file's fitting times to stderr.
    #[arg(long)]
    pub timing: bool,
    /// Rows over which the level shift's level follows normal operation (guarded by its alarm; 0: fixed).
    #[arg(long, value_name = "ROWS", value_parser = clap::value_parser!(u64).range(0..=1_000_000))]
    pub shift_follow: Option<u64>,
    /// Feed every member but the level-shift one the sensors slower than this through their training rows
    /// (`var(diff) / (2 var)`) as their change over `--rate-lag` rows (0: none).
    #[arg(long, value_name = "RATIO")]
    pub rate_below: Option<f64>,
    /// The level-shift member's alarm level (robust z of its rolling means); `0` leaves it out.
    #[arg(long, value_name = "Z")]
    pub shift_z: Option<f64>,
    /// Rows of the level-shift member's rolling mean.
    #[arg(long, value_name = "ROWS", value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub shift_window: Option<u64>,
    /// The fraction of the level-shift alarm level its alarm holds down to (1: no hysteresis).
    #[arg(long, value_name = "F")]
    pub shift_release: Option<f64>,
    /// Sensors slower than this through their training rows are left out of the level-shift member (0: none).
    #[arg(long, value_name = "RATIO")]
    pub slow_below: Option<f64>,
    /// Rows the rate of a slow sensor spans.
    #[arg(long, value_name = "ROWS", value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub rate_lag: Option<u64>,
    /// What a slow sensor's shift counts for in the level-shift member, in [0, 1] (0: left out).
    #[arg(long, value_name = "W")]
    pub shift_slow_weight: Option<f64>,
    /// The relations member's alarm level (each sensor's rolling mean predicted from the others', the miss in
    /// training scatters); `0` leaves it out of the recommended ensemble.
    #[arg(long, value_name = "Z")]
    pub relations_z: Option<f64>,
    /// The subspace member's alarm level (T² and Q of a PCA of the rolling means); `0` leaves it out of the
    /// recommended ensemble.
    #[arg(long, value_name = "Z")]
    pub subspace_z: Option<f64>,
    /// The short relations member's alarm level (a second relations member over `--short-window`-row means);
    /// `0` leaves it out of the recommended ensemble.
    #[arg(long, value_name = "Z")]
    pub short_relations_z: Option<f64>,
    /// Rows of the short relations member's rolling means.
    #[arg(long, value_name = "ROWS", value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub short_window: Option<u64>,
    /// Rows of the diagnosis' alarming-alone check (a member voting yes alone on half of them is left out).
    #[arg(long, value_name = "ROWS", value_parser = clap::value_parser!(u64).range(2..=100_000))]
    pub alone_window: Option<u64>,
    /// How the level-shift and relations alarms end after a fault: under PEAK of their peak score, and a new
    /// one must pass REARM of that peak, falling back to their z over ROWS rows; `0` ends them at their
    /// release level.
    #[arg(long, value_name = "PEAK,REARM,ROWS", value_parser = parse_settle)]
    pub settle: Option<SettleFlag>,
}

/// `--settle`'s value: off (`0`) or the three parameters.
#[derive(Debug, Clone, Copy)]
pub struct SettleFlag(Option<Settle>);

/// Parses `--settle`: `0`, or three numbers.
fn parse_settle(v: &str) -> std::result::Result<SettleFlag, String> {
    if v.trim() == "0" {
        return Ok(SettleFlag(None));
    }
    let parts: Vec<&str> = v.split(',').map(str::trim).collect();
    let [peak, rearm, rows] = parts[..] else {
        return Err("expected PEAK,REARM,ROWS (as 0.1,0.5,400) or 0".into());
    };
    let num = |name: &str, s: &str| {
        s.parse::<f64>()
            .map_err(|_| format!("{name} {s:?} is not a number"))
    };
    let rows = rows
        .parse::<usize>()
        .map_err(|_| format!("ROWS {rows:?} is not a whole number of rows"))?;
    Settle::new(num("PEAK", peak)?, num("REARM", rearm)?, rows)
        .map(|s| SettleFlag(Some(s)))
        .map_err(|e| e.to_string())
}

/// The recipe the flags make, checked ([`EnsembleRecipe::check`]) before any file is fitted.
pub fn recipe(cli: &Cli) -> Result<EnsembleRecipe> {
    let mut r = if cli.classic {
        EnsembleRecipe::default()
    } else {
        EnsembleRecipe::full()
    };
    r.inputs.window = cli.window.map_or(r.inputs.window, |w| w as usize);
    r.classic.kmeans_z = cli.z.unwrap_or(r.classic.kmeans_z);
    r.classic.forest_z = cli.forest_z.unwrap_or(r.classic.forest_z);
    r.classic.forest_std = cli.forest_std.unwrap_or(r.classic.forest_std);
    r.classic.whiten = cli.whiten.unwrap_or(r.classic.whiten);
    r.voting.weights = cli.weights.clone().unwrap_or(r.voting.weights);
    r.voting.m = cli.m.unwrap_or(r.voting.m);
    r.classic.k = cli.clusters.map_or(r.classic.k, |k| k as usize);
    r.voting.k_of = cli.k_of.unwrap_or(r.voting.k_of);
    r.voting.of_window = cli.of_window.unwrap_or(r.voting.of_window);
    r.classic.rules.rows = cli.rule_rows.unwrap_or(r.classic.rules.rows);
    r.classic.rules.margin = cli.rule_margin.unwrap_or(r.classic.rules.margin);
    r.neural.autoencoder_z = cli.ae_z.or(r.neural.autoencoder_z);
    r.neural.conv_z = cli.conv_z.or(r.neural.conv_z);
    r.neural.lstm_z = cli.lstm_z.or(r.neural.lstm_z);
    r.neural.training.epochs = cli.epochs.map_or(r.neural.training.epochs, |e| e as usize);
    r.neural.training.verbose = cli.verbose;
    r.levels.shift_z = zero_is_off(cli.shift_z, r.levels.shift_z);
    r.levels.window = cli.shift_window.map_or(r.levels.window, |w| w as usize);
    r.levels.release = cli.shift_release.unwrap_or(r.levels.release);
    r.levels.slow_below = zero_is_off(cli.slow_below, r.levels.slow_below);
    r.inputs.rate_below = zero_is_off(cli.rate_below, r.inputs.rate_below);
    r.levels.follow = match cli.shift_follow {
        Some(0) => None,
        Some(rows) => Some(rows as usize),
        None => r.levels.follow,
    };
    r.inputs.rate_lag = cli.rate_lag.map_or(r.inputs.rate_lag, |l| l as usize);
    r.levels.slow_weight = cli.shift_slow_weight.unwrap_or(r.levels.slow_weight);
    r.levels.relations_z = zero_is_off(cli.relations_z, r.levels.relations_z);
    r.levels.subspace_z = zero_is_off(cli.subspace_z, r.levels.subspace_z);
    r.levels.short_relations_z = zero_is_off(cli.short_relations_z, r.levels.short_relations_z);
    r.levels.short_window = cli.short_window.map_or(r.levels.short_window, |w| w as usize);
    r.levels.settle = cli.settle.map_or(r.levels.settle, |f| f.0);
    r.voting.alone_window = cli.alone_window.map_or(r.voting.alone_window, |w| w as usize);
    r.check().map_err(|e| {
        Error::Run(format!(
            "{e} (a `--...-z 0` switches a member off: pass --weights for those left, and --m)"
        ))
    })?;
    Ok(r)
}

/// A flag's value, where 0 switches the part off and no flag keeps the recipe's.
fn zero_is_off(flag: Option<f64>, recipe: Option<f64>) -> Option<f64> {
    flag.map_or(recipe, |v| (v != 0.0).then_some(v))
}
