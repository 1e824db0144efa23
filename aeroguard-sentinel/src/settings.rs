//! The service's settings: flags, a TOML file (`--config`) with the same names, and the defaults, in that order.

use std::path::{Path, PathBuf};

use aeroguard_consensus::deployment::Backend;
use aeroguard_sentinel::{Role, SeriesModel};
use clap::Parser;
use serde::Deserialize;

/// The analysis service: fused readings in on `POST /ingest`, the M-of-N ensemble's verdicts out on
/// `GET /verdicts`, the history on `GET /history`, Prometheus metrics on `GET /metrics`. Every route but
/// `/health` needs an API key from `--keys` (make them with `--keygen`) unless started `--insecure`.
/// Every setting can also come from a TOML file (`--config`) under the flag's name (`train-rows = 300`);
/// a flag given on the command line wins.
#[derive(Debug, Parser)]
#[command(name = "aeroguard-sentinel", version)]
pub struct Cli {
    /// A TOML file of settings, named as the flags are (`listen`, `keys`, `redis`, `cluster`, `model`, ...).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The address to listen on [default: 127.0.0.1:8080].
    #[arg(long, value_name = "HOST:PORT")]
    listen: Option<String>,
    /// The keys file: one `identity role sha256:<digest>` line per caller.
    #[arg(long, value_name = "FILE")]
    keys: Option<PathBuf>,
    /// Serve without keys: anyone who can reach the port may post and read. Only for a closed test network.
    #[arg(long, conflicts_with = "keys")]
    insecure: bool,
    /// Make a key for IDENTITY, append its digest to the `--keys` file, print the key, and exit.
    #[arg(long, value_name = "IDENTITY", requires = "keys")]
    keygen: Option<String>,
    /// The role of the `--keygen` identity.
    #[arg(long, value_enum, default_value = "node", requires = "keygen")]
    role: RoleArg,
    /// Keep the history in Redis (through the deployment's Sentinels, as the service's own ACL user, under
    /// the key prefix aeroguard-svc), not in memory.
    #[arg(long)]
    redis: bool,
    /// Check posted tokens against the current grants of the cluster's elections on this backend
    /// (zookeeper or redis).
    #[arg(long, value_name = "BACKEND")]
    cluster: Option<Backend>,
    /// The election of a series, with `{series}` for its name [default: {series}].
    #[arg(long, value_name = "TEMPLATE")]
    election: Option<String>,
    /// Readings per series that train its model before verdicts begin [default: 200].
    #[arg(long, value_parser = clap::value_parser!(u64).range(50..=1_000_000))]
    train_rows: Option<u64>,
    /// The most series the service holds (and labels in its metrics) [default: 1000].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    max_series: Option<u64>,
    /// How far ahead of this service's clock a reading's time may be, in ms; further is refused (422)
    /// [default: 5000].
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(100..=3_600_000))]
    max_ahead_ms: Option<u64>,
    /// Requests a second each API key may make (and each address calling without a key); over it, 429
    /// with `Retry-After` [default: 500].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    rate_per_key: Option<u64>,
    /// Requests a key may send at once before its rate applies [default: twice --rate-per-key].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    rate_burst: Option<u64>,
    /// Open connections from one address at most; more from it are closed at once [default: 64].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=100_000))]
    max_per_address: Option<u64>,
    /// What each series fits: `classic` (rules, k-means, isolation forest, 2 of 3), `full` (adds the
    /// convolutional autoencoder, the LSTM, the level shift, the relations and the subspace member), both for a plant's
    /// several sensors; or `surprise` (the surprise detector alone, for single metrics whose faults are spikes
    /// and sudden changes; at least 131 training rows; about 140 KB a series of one value once streamed, so
    /// size --max-series with it) [default: classic].
    #[arg(long, alias = "ensemble", value_enum)]
    model: Option<ModelArg>,
}

/// What each series fits (`--model`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ModelArg {
    /// Rules, k-means and the isolation forest, 2 of 3.
    Classic,
    /// The classic members with the neural ones, the level shift, the relations and the subspace member.
    Full,
    /// The surprise detector alone.
    Surprise,
}

impl ModelArg {
    /// The model a series fits.
    pub fn series_model(self) -> SeriesModel {
        match self {
            ModelArg::Classic => SeriesModel::Ensemble(aeroguard_detect::EnsembleRecipe::default()),
            ModelArg::Full => SeriesModel::Ensemble(aeroguard_detect::EnsembleRecipe::full()),
            ModelArg::Surprise => SeriesModel::Surprise(aeroguard_detect::Surprise::default()),
        }
    }

    /// The name `--model` takes.
    pub fn name(self) -> &'static str {
        match self {
            ModelArg::Classic => "classic",
            ModelArg::Full => "full",
            ModelArg::Surprise => "surprise",
        }
    }
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum RoleArg {
    Node,
    Reader,
}

/// The settings a `--config` file may hold: the flags' names, nothing else.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct FileSettings {
    listen: Option<String>,
    keys: Option<PathBuf>,
    insecure: Option<bool>,
    redis: Option<bool>,
    cluster: Option<String>,
    election: Option<String>,
    train_rows: Option<u64>,
    max_series: Option<u64>,
    max_ahead_ms: Option<u64>,
    rate_per_key: Option<u64>,
    rate_burst: Option<u64>,
    max_per_address: Option<u64>,
    model: Option<ModelArg>,
}

/// The largest settings file read.
const MAX_CONFIG_BYTES: u64 = 64 * 1024;

impl FileSettings {
    fn load(path: &Path) -> Result<Self, String> {
        let what = |e: &dyn std::fmt::Display| format!("--config {}: {e}", path.display());
        let size = std::fs::metadata(path).map_err(|e| what(&e))?.len();
        if size > MAX_CONFIG_BYTES {
            return Err(what(&format!(
                "{size} bytes, more than the {MAX_CONFIG_BYTES} accepted"
            )));
        }
        let text = std::fs::read_to_string(path).map_err(|e| what(&e))?;
        toml::from_str(&text).map_err(|e| what(&e))
    }
}

/// The settings in force: each from its flag, else the file, else its default.
#[derive(Debug)]
pub struct Settings {
    pub listen: String,
    pub keys: Option<PathBuf>,
    pub insecure: bool,
    pub keygen: Option<String>,
    pub role: Role,
    pub redis: bool,
    pub cluster: Option<Backend>,
    pub election: String,
    pub train_rows: usize,
    pub max_series: usize,
    pub max_ahead: std::time::Duration,
    pub rate: aeroguard_sentinel::RateLimit,
    pub max_per_address: usize,
    pub model: ModelArg,
}

impl Settings {
    /// Flags over the file over the defaults; a file value is checked as its flag would be.
    pub fn resolve(cli: Cli) -> Result<Self, String> {
        let file = match &cli.config {
            Some(path) => FileSettings::load(path)?,
            None => FileSettings::default(),
        };
        let cluster = match (cli.cluster, file.cluster) {
            (Some(b), _) => Some(b),
            (None, Some(name)) => Some(name.parse().map_err(|e| format!("--config: cluster: {e}"))?),
            (None, None) => None,
        };
        let train_rows = cli.train_rows.or(file.train_rows).unwrap_or(200);
        if !(50..=1_000_000).contains(&train_rows) {
            return Err(format!("--config: train-rows {train_rows}: want 50 to 1000000"));
        }
        let max_series = cli.max_series.or(file.max_series).unwrap_or(1000);
        if !(1..=100_000).contains(&max_series) {
            return Err(format!("--config: max-series {max_series}: want 1 to 100000"));
        }
        let max_ahead_ms = cli.max_ahead_ms.or(file.max_ahead_ms).unwrap_or(5_000);
        if !(100..=3_600_000).contains(&max_ahead_ms) {
            return Err(format!(
                "--config: max-ahead-ms {max_ahead_ms}: want 100 to 3600000"
            ));
        }
        let rate = cli.rate_per_key.or(file.rate_per_key).unwrap_or(500);
        let burst = cli
            .rate_burst
            .or(file.rate_burst)
            .unwrap_or(rate.saturating_mul(2));
        let rate = aeroguard_sentinel::RateLimit::new(rate as f64, u32::try_from(burst).unwrap_or(u32::MAX))
            .map_err(|e| format!("--config: {e}"))?;
        let max_per_address = cli.max_per_address.or(file.max_per_address).unwrap_or(64);
        if max_per_address == 0 {
            return Err("--config: max-per-address 0: want at least 1".into());
        }
        let keys = cli.keys.or(file.keys);
        let insecure = cli.insecure || file.insecure.unwrap_or(false);
        if insecure && keys.is_some() {
            return Err("keys and insecure exclude each other".into());
        }
        Ok(Settings {
            listen: cli
                .listen
                .or(file.listen)
                .unwrap_or_else(|| "127.0.0.1:8080".into()),
            keys,
            insecure,
            keygen: cli.keygen,
            role: match cli.role {
                RoleArg::Node => Role::Node,
                RoleArg::Reader => Role::Reader,
            },
            redis: cli.redis || file.redis.unwrap_or(false),
            cluster,
            election: cli
                .election
                .or(file.election)
                .unwrap_or_else(|| "{series}".into()),
            train_rows: train_rows as usize,
            max_series: max_series as usize,
            max_ahead: std::time::Duration::from_millis(max_ahead_ms),
            rate,
            max_per_address: usize::try_from(max_per_address).unwrap_or(usize::MAX),
            model: cli.model.or(file.model).unwrap_or(ModelArg::Classic),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> tempfile_path::TempPath {
        tempfile_path::TempPath::with(text)
    }

    /// A file under the system's temp folder, removed on drop.
    mod tempfile_path {
        pub struct TempPath(pub std::path::PathBuf);
        impl TempPath {
            pub fn with(text: &str) -> Self {
                let n = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos());
                let path = std::env::temp_dir().join(format!("ag-settings-{}-{n}.toml", std::process::id()));
                std::fs::write(&path, text).unwrap();
                TempPath(path)
            }
        }
        impl Drop for TempPath {
            fn drop(&mut self) {
                let _ = std::fs::remove_file(&self.0);
            }
        }
    }

    fn cli(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("aeroguard-sentinel").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn a_file_sets_what_flags_leave_and_flags_win() {
        let f = file(
            "listen = \"127.0.0.1:9\"\ntrain-rows = 300\nmodel = \"surprise\"\ninsecure = true\ncluster = \"zk\"\n",
        );
        let path = f.0.to_str().unwrap();
        let s = Settings::resolve(cli(&["--config", path, "--train-rows", "400"])).unwrap();
        assert_eq!(s.listen, "127.0.0.1:9");
        assert_eq!(s.train_rows, 400);
        assert_eq!(s.model, ModelArg::Surprise);
        assert!(s.insecure);
        assert_eq!(s.cluster, Some(Backend::ZooKeeper));
        let d = Settings::resolve(cli(&[])).unwrap();
        assert_eq!(
            (d.listen.as_str(), d.train_rows, d.max_series),
            ("127.0.0.1:8080", 200, 1000)
        );
    }

    #[test]
    fn a_bad_file_is_refused_naming_what_was_wrong() {
        for (text, says) in [
            ("listne = \"x\"\n", "unknown field `listne`"),
            ("train-rows = 10\n", "train-rows 10"),
            ("cluster = \"etcd\"\n", "unknown backend"),
            ("model = \"deep\"\n", "deep"),
            ("insecure = true\nkeys = \"k.txt\"\n", "exclude"),
            ("listen = [", "--config"),
            ("rate-burst = 0\n", "burst"),
            ("max-per-address = 0\n", "max-per-address"),
        ] {
            let f = file(text);
            let e = Settings::resolve(cli(&["--config", f.0.to_str().unwrap()])).unwrap_err();
            assert!(e.contains(says), "{text:?}: {e}");
        }
        let e = Settings::resolve(cli(&["--config", "/nonexistent/s.toml"])).unwrap_err();
        assert!(e.contains("/nonexistent/s.toml"), "{e}");
    }
}
