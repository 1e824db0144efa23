//! Reading the SKAB benchmark's files and splitting them by its protocol (`shared/notes/skab-protocol.md`).
//!
//! A file is `;`-separated with a header row, CRLF or LF line endings:
//! `datetime;<8 sensors>;anomaly;changepoint`, `datetime` as `%Y-%m-%d %H:%M:%S` (a civil time, read as UTC).
//! The records are read by the `csv` crate and the times by `jiff`, so an impossible date (2020-02-31) is an
//! error naming its line. The data itself is not part of this crate (it is GPL-3.0): point [`load_dir`] at a copy.

use std::path::{Path, PathBuf};

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use ndarray::{Array2, ArrayView2, Axis, Slice};

use crate::{Error, Result};

/// Rows of each file used for training under the protocol.
pub const TRAIN_ROWS: usize = 400;

/// The labelled folders of the benchmark, in the order they are read.
pub const FOLDERS: [&str; 3] = ["valve1", "valve2", "other"];

/// The most rows one file may hold (the largest SKAB file has about 1,200).
pub const MAX_ROWS: usize = 10_000_000;

/// One experiment: sensor values, labels and times.
///
/// ```
/// use aeroguard_eval::skab::SkabFile;
/// let text = "datetime;a;b;anomaly;changepoint\r\n\
///             2020-03-09 10:14:33;1.0;2.0;0.0;0.0\r\n\
///             2020-03-09 10:14:35;1.5;2.5;1.0;1.0\r\n";
/// let f = SkabFile::parse("demo.csv", text)?;
/// assert_eq!(f.columns, ["a", "b"]);
/// assert_eq!(f.times[1] - f.times[0], 2.0);
/// assert_eq!((f.anomaly.clone(), f.changepoint.clone()), (vec![false, true], vec![false, true]));
///
/// let bad = "datetime;a;anomaly;changepoint\n2020-02-31 10:14:33;1.0;0;0\n";
/// assert!(SkabFile::parse("bad.csv", bad).unwrap_err().to_string().contains("line 2"));
/// # Ok::<(), aeroguard_eval::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SkabFile {
    /// Where it was read from, or the name given to [`SkabFile::parse`].
    pub path: PathBuf,
    /// Sensor column names.
    pub columns: Vec<String>,
    /// Seconds since the Unix epoch (the file's local time read as UTC).
    pub times: Vec<f64>,
    /// Sensor values: one row per sample.
    pub x: Array2<f64>,
    /// The `anomaly` label per row.
    pub anomaly: Vec<bool>,
    /// The `changepoint` label per row.
    pub changepoint: Vec<bool>,
}

impl SkabFile {
    /// Reads one file.
    pub fn read(path: impl AsRef<Path>) -> Result<SkabFile> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::Data {
            path: path.display().to_string(),
            line: 0,
            reason: e.to_string(),
            cause: Some(aeroguard_core::Cause::new(e)),
        })?;
        SkabFile::parse(path, &text)
    }

    /// Parses a file's text; `path` names it in errors.
    pub fn parse(path: impl AsRef<Path>, text: &str) -> Result<SkabFile> {
        let path = path.as_ref().to_path_buf();
        let err = |line: u64, reason: String| Error::Data {
            path: path.display().to_string(),
            line,
            reason,
            cause: None,
        };
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(b';')
            .has_headers(true)
            .flexible(false)
            .from_reader(text.as_bytes());
        let names: Vec<String> = reader
            .headers()
            .map_err(|e| err(1, e.to_string()))?
            .iter()
            .map(str::to_string)
            .collect();
        let width = names.len();
        if width < 4
            || names[0] != "datetime"
            || names[width - 2] != "anomaly"
            || names[width - 1] != "changepoint"
        {
            return Err(err(
                1,
                format!(
                    "header must be `datetime;<sensors>;anomaly;changepoint`, got `{}`",
                    names.join(";")
                ),
            ));
        }
        let sensors = width - 3;
        let (mut times, mut values, mut anomaly, mut changepoint) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for record in reader.records() {
            let record = record.map_err(|e| {
                let line = e.position().map_or(0, |p| p.line());
                let reason = match e.kind() {
                    csv::ErrorKind::UnequalLengths { len, .. } => format!("{len} fields, expected {width}"),
                    _ => e.to_string(),
                };
                err(line, reason)
            })?;
            let n = record.position().map_or(0, |p| p.line());
            if times.len() >= MAX_ROWS {
                return Err(err(n, format!("more than {MAX_ROWS} rows")));
            }
            let field = |k: usize| record.get(k).unwrap_or_default().trim();
            times.push(
                parse_datetime(field(0)).ok_or_else(|| err(n, format!("bad datetime `{}`", field(0))))?,
            );
            for (k, name) in names.iter().enumerate().take(sensors + 1).skip(1) {
                let f = field(k);
                let v: f64 = f
                    .parse()
                    .map_err(|_| err(n, format!("column `{name}`: bad number `{f}`")))?;
                if !v.is_finite() {
                    return Err(err(n, format!("column `{name}`: non-finite value `{f}`")));
                }
                values.push(v);
            }
            let label = |k: usize| match field(k) {
                "0" | "0.0" => Ok(false),
                "1" | "1.0" => Ok(true),
                other => Err(err(
                    n,
                    format!("column `{}`: label must be 0 or 1, got `{other}`", names[k]),
                )),
            };
            anomaly.push(label(width - 2)?);
            changepoint.push(label(width - 1)?);
        }
        if times.is_empty() {
            return Err(err(2, "no data rows".into()));
        }
        let x = Array2::from_shape_vec((times.len(), sensors), values).map_err(|e| err(0, e.to_string()))?;
        Ok(SkabFile {
            path,
            columns: names[1..=sensors].to_vec(),
            times,
            x,
            anomaly,
            changepoint,
        })
    }

    /// The first `rows` rows (training under the protocol: [`TRAIN_ROWS`]).
    pub fn train(&self, rows: usize) -> ArrayView2<'_, f64> {
        self.x
            .slice_axis(Axis(0), Slice::from(..rows.min(self.x.nrows())))
    }

    /// The name `folder/file.csv`.
    pub fn name(&self) -> String {
        let file = self
            .path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        match self.path.parent().and_then(|p| p.file_name()) {
            Some(dir) => format!("{}/{file}", dir.to_string_lossy()),
            None => file,
        }
    }

    /// The folder the file came from (`valve1`, `valve2`, `other`), for leave-one-folder-out splits.
    pub fn folder(&self) -> String {
        self.path
            .parent()
            .and_then(|p| p.file_name())
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
}

/// Reads every `*.csv` of the [`FOLDERS`] present under `dir`, in folder order and then numeric file order.
/// Fails if none is found.
pub fn load_dir(dir: impl AsRef<Path>) -> Result<Vec<SkabFile>> {
    let dir = dir.as_ref();
    let mut files = Vec::new();
    for folder in FOLDERS {
        let sub = dir.join(folder);
        let Ok(entries) = std::fs::read_dir(&sub) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "csv"))
            .collect();
        paths.sort_by_key(|p| {
            let stem = p
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            (stem.parse::<u64>().unwrap_or(u64::MAX), stem)
        });
        for p in paths {
            files.push(SkabFile::read(p)?);
        }
    }
    if files.is_empty() {
        return Err(Error::Data {
            path: dir.display().to_string(),
            line: 0,
            reason: format!("no SKAB files: expected CSVs under any of {FOLDERS:?}"),
            cause: None,
        });
    }
    Ok(files)
}

/// Parses `YYYY-MM-DD HH:MM:SS` (a civil time, read as UTC) to seconds since the Unix epoch.
fn parse_datetime(s: &str) -> Option<f64> {
    let civil = DateTime::strptime("%Y-%m-%d %H:%M:%S", s).ok()?;
    let at = civil.to_zoned(TimeZone::UTC).ok()?;
    Some(at.timestamp().as_millisecond() as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    #[test]
    fn datetimes() {
        assert_eq!(parse_datetime("1970-01-01 00:00:00"), Some(0.0));
        // date -u -d '2020-03-09 10:14:33' +%s
        assert_eq!(parse_datetime("2020-03-09 10:14:33"), Some(1_583_748_873.0));
        assert_eq!(parse_datetime("2020-02-29 00:00:01"), Some(1_582_934_401.0));
        for bad in [
            "2020-13-01 00:00:00",
            "2020-02-31 00:00:00",
            "2019-02-29 00:00:00",
            "2020-03-09",
            "2020-03-09 10:14",
            "x 10:14:33",
            "2020-03-09 25:00:00",
        ] {
            assert_eq!(parse_datetime(bad), None, "{bad}");
        }
    }

    #[test]
    fn malformed_files_name_the_line() {
        let head = "datetime;a;anomaly;changepoint\n";
        for (body, line, what) in [
            ("2020-03-09 10:14:33;1.0;0.0\n", 2, "fields"),
            ("2020-03-09 10:14:33;abc;0.0;0.0\n", 2, "bad number"),
            ("2020-03-09 10:14:33;NaN;0.0;0.0\n", 2, "non-finite"),
            (
                "2020-03-09 10:14:33;1;0.0;0.0\n2020-03-09 10:14:34;1;0.5;0.0\n",
                3,
                "label",
            ),
            ("bad;1;0.0;0.0\n", 2, "datetime"),
            ("2020-02-31 10:14:33;1;0.0;0.0\n", 2, "datetime"),
        ] {
            match SkabFile::parse("t.csv", &format!("{head}{body}")) {
                Err(Error::Data { line: l, reason, .. }) => {
                    assert_eq!(l, line, "{reason}");
                    assert!(reason.contains(what), "{reason}");
                }
                other => panic!("{body:?}: {other:?}"),
            }
        }
        assert!(SkabFile::parse("t.csv", "a;b\n").is_err());
        assert!(SkabFile::parse("t.csv", head).is_err());
        assert!(load_dir("/nonexistent/skab").is_err());
    }
}
