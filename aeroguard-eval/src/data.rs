//! Where the benchmark data sets are. They are not part of the project (each keeps its own licence):
//! `scripts/data fetch` downloads them from their public sources at pinned commits and checks their checksums,
//! `scripts/data check DIR` checks a folder you downloaded yourself.
//!
//! A set's folder is `$AEROGUARD_<SET>_DIR` when that is set (`AEROGUARD_SKAB_DIR`, `AEROGUARD_NAB_DIR`,
//! `AEROGUARD_CMAPSS_DIR`), else `$AEROGUARD_DATA/<set>` (`skab`, `nab`, `cmapss`).
//!
//! ```
//! use aeroguard_eval::data::{DataSet, dir_from};
//! let dir = dir_from(DataSet::Nab, |name| match name {
//!     "AEROGUARD_DATA" => Some("/srv/benchmarks".into()),
//!     _ => None,
//! });
//! assert_eq!(dir.unwrap(), std::path::PathBuf::from("/srv/benchmarks/nab"));
//! let missing = dir_from(DataSet::Skab, |_| None).unwrap_err();
//! assert!(missing.to_string().contains("scripts/data fetch"));
//! ```

use std::ffi::OsString;
use std::path::PathBuf;

use crate::{Error, Result};

/// A benchmark data set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataSet {
    /// The Skoltech Anomaly Benchmark (GPL-3.0): `valve1/`, `valve2/`, `other/`, `anomaly-free/`.
    Skab,
    /// The Numenta Anomaly Benchmark (MIT): `data/realKnownCause/` and `labels/`.
    Nab,
    /// NASA's C-MAPSS turbofan run-to-failure data (US government work): `train_FD001.txt`.
    Cmapss,
}

impl DataSet {
    /// The set's folder name under `$AEROGUARD_DATA`.
    pub fn folder(self) -> &'static str {
        match self {
            DataSet::Skab => "skab",
            DataSet::Nab => "nab",
            DataSet::Cmapss => "cmapss",
        }
    }

    /// The variable naming the set's own folder.
    pub fn variable(self) -> &'static str {
        match self {
            DataSet::Skab => "AEROGUARD_SKAB_DIR",
            DataSet::Nab => "AEROGUARD_NAB_DIR",
            DataSet::Cmapss => "AEROGUARD_CMAPSS_DIR",
        }
    }
}

/// The folder of `set`, from the process's environment (see the module's docs).
pub fn dir(set: DataSet) -> Result<PathBuf> {
    dir_from(set, |name| std::env::var_os(name))
}

/// The folder of `set`, with `var` standing for the environment.
pub fn dir_from(set: DataSet, var: impl Fn(&str) -> Option<OsString>) -> Result<PathBuf> {
    let set_own = var(set.variable()).filter(|v| !v.is_empty());
    let all = var("AEROGUARD_DATA").filter(|v| !v.is_empty());
    match (set_own, all) {
        (Some(d), _) => Ok(PathBuf::from(d)),
        (None, Some(d)) => Ok(PathBuf::from(d).join(set.folder())),
        (None, None) => Err(Error::Data {
            path: set.folder().to_string(),
            line: 0,
            reason: format!(
                "no data folder: run `scripts/data fetch` (or set AEROGUARD_DATA, or {})",
                set.variable()
            ),
            cause: None,
        }),
    }
}
