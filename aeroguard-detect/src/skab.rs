//! Reading the SKAB benchmark's files and splitting them by its protocol (`shared/notes/skab-protocol.md`).
//!
//! A file is `;`-separated with a header row, CRLF or LF line endings:
//! `datetime;<8 sensors>;anomaly;changepoint`, `datetime` as `%Y-%m-%d %H:%M:%S`. The data itself is not part of
//! this crate (it is GPL-3.0): point [`load_dir`] at a copy.

use std::path::{Path, PathBuf};

use ndarray::{Array2, ArrayView2, Axis, Slice};

use crate::metrics::{Counts, Nab};
use crate::{Error, Result};

/// Rows of each file used for training under the protocol.
pub const TRAIN_ROWS: usize = 400;

/// The labelled folders of the benchmark, in the order they are read.
pub const FOLDERS: [&str; 3] = ["valve1", "valve2", "other"];

/// One experiment: sensor values, labels and times.
///
/// ```
/// use aeroguard_detect::skab::SkabFile;
/// let text = "datetime;a;b;anomaly;changepoint\r\n\
///             2020-03-09 10:14:33;1.0;2.0;0.0;0.0\r\n\
///             2020-03-09 10:14:35;1.5;2.5;1.0;1.0\r\n";
/// let f = SkabFile::parse("demo.csv", text)?;
/// assert_eq!(f.columns, ["a", "b"]);
/// assert_eq!(f.times[1] - f.times[0], 2.0);
/// assert_eq!((f.anomaly.clone(), f.changepoint.clone()), (vec![false, true], vec![false, true]));
/// # Ok::<(), aeroguard_detect::Error>(())
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
        })?;
        SkabFile::parse(path, &text)
    }

    /// Parses a file's text; `path` names it in errors.
    pub fn parse(path: impl AsRef<Path>, text: &str) -> Result<SkabFile> {
        let path = path.as_ref().to_path_buf();
        let err = |line: usize, reason: String| Error::Data {
            path: path.display().to_string(),
            line,
            reason,
        };
        let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
        let (_, header) = lines.next().ok_or_else(|| err(1, "empty file".into()))?;
        let names: Vec<&str> = header.trim_end_matches('\r').split(';').collect();
        let width = names.len();
        if width < 4
            || names[0] != "datetime"
            || names[width - 2] != "anomaly"
            || names[width - 1] != "changepoint"
        {
            return Err(err(
                1,
                format!("header must be `datetime;<sensors>;anomaly;changepoint`, got `{header}`"),
            ));
        }
        let sensors = width - 3;
        let (mut times, mut values, mut anomaly, mut changepoint) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (i, line) in lines {
            let n = i + 1;
            let fields: Vec<&str> = line.trim_end_matches('\r').split(';').collect();
            if fields.len() != width {
                return Err(err(n, format!("{} fields, expected {width}", fields.len())));
            }
            times.push(
                parse_datetime(fields[0]).ok_or_else(|| err(n, format!("bad datetime `{}`", fields[0])))?,
            );
            for (k, f) in fields[1..=sensors].iter().enumerate() {
                let v: f64 = f
                    .trim()
                    .parse()
                    .map_err(|_| err(n, format!("column `{}`: bad number `{f}`", names[k + 1])))?;
                if !v.is_finite() {
                    return Err(err(
                        n,
                        format!("column `{}`: non-finite value `{f}`", names[k + 1]),
                    ));
                }
                values.push(v);
            }
            let label = |k: usize| match fields[k].trim() {
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
        let columns = names[1..=sensors].iter().map(|s| s.to_string()).collect();
        Ok(SkabFile {
            path,
            columns,
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
        });
    }
    Ok(files)
}

/// Where the SKAB data is: `$AEROGUARD_SKAB_DIR` if set, else the first `shared/data/skab` found beside the
/// current directory or any of its ancestors (the layout of the AeroGuard workplace: `../shared/data/skab`).
pub fn default_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("AEROGUARD_SKAB_DIR") {
        return Some(PathBuf::from(d));
    }
    let cwd = std::env::current_dir().ok()?;
    cwd.ancestors()
        .map(|a| a.join("shared/data/skab"))
        .find(|p| p.is_dir())
}

/// The protocol's scores of one detector, pooled over files.
///
/// ```
/// use aeroguard_detect::skab::{Evaluation, SkabFile};
/// let mut text = String::from("datetime;a;anomaly;changepoint\n");
/// for i in 0..410 {
///     let bad = i >= 405;
///     text += &format!("2020-03-09 10:{:02}:{:02};1.0;{};{}\n", i / 60, i % 60, bad as u8, (i == 405) as u8);
/// }
/// let f = SkabFile::parse("x.csv", &text)?;
/// let mut e = Evaluation::new("perfect");
/// e.add(&f, &f.anomaly[400..])?;
/// let s = e.summary();
/// assert_eq!((s.f1, s.far, s.mar, s.tp, s.tn), (1.0, 0.0, 0.0, 5, 5));
/// assert_eq!(s.nab_standard, 100.0);
/// # Ok::<(), aeroguard_detect::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// The detector's name.
    pub name: String,
    /// Row counts.
    pub counts: Counts,
    /// Changepoint scores.
    pub nab: Nab,
}

/// The figures the protocol reports for one detector (rates in percent, scores in [-inf, 100]).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Summary {
    /// The detector.
    pub name: String,
    /// F1.
    pub f1: f64,
    /// False alarm rate, %.
    pub far: f64,
    /// Missed alarm rate, %.
    pub mar: f64,
    /// True positives.
    pub tp: u64,
    /// False positives.
    pub fp: u64,
    /// False negatives.
    #[serde(rename = "fn")]
    pub fn_: u64,
    /// True negatives.
    pub tn: u64,
    /// NAB-like score, standard profile.
    pub nab_standard: f64,
    /// NAB-like score, low false positive profile.
    pub nab_low_fp: f64,
    /// NAB-like score, low false negative profile.
    pub nab_low_fn: f64,
}

impl Evaluation {
    /// An empty evaluation.
    pub fn new(name: impl Into<String>) -> Self {
        Evaluation {
            name: name.into(),
            counts: Counts::default(),
            nab: Nab::default(),
        }
    }

    /// Adds one file's predictions for its test rows (every row after the first [`TRAIN_ROWS`]).
    pub fn add(&mut self, file: &SkabFile, predicted: &[bool]) -> Result<()> {
        let start = TRAIN_ROWS.min(file.times.len());
        let expected = file.times.len() - start;
        if predicted.len() != expected {
            return Err(Error::Shape {
                what: "predictions (as columns of one row)",
                expected,
                got: predicted.len(),
            });
        }
        self.counts.add(predicted, &file.anomaly[start..]);
        self.nab
            .add(&file.times[start..], predicted, &file.changepoint[start..]);
        Ok(())
    }

    /// The reported figures, rounded to two decimals.
    pub fn summary(&self) -> Summary {
        let r = |v: f64| (v * 100.0).round() / 100.0;
        let nab = self.nab.normalised();
        let c = self.counts;
        Summary {
            name: self.name.clone(),
            f1: r(c.f1()),
            far: r(c.far()),
            mar: r(c.mar()),
            tp: c.tp,
            fp: c.fp,
            fn_: c.fn_,
            tn: c.tn,
            nab_standard: r(nab[0]),
            nab_low_fp: r(nab[1]),
            nab_low_fn: r(nab[2]),
        }
    }
}

/// Parses `YYYY-MM-DD HH:MM:SS` to seconds since the Unix epoch, read as UTC.
fn parse_datetime(s: &str) -> Option<f64> {
    let (date, time) = s.trim().split_once(' ')?;
    let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let mut t = time.split(':').map(|p| p.parse::<f64>().ok());
    let (h, min, sec) = (t.next()??, t.next()??, t.next()??);
    if d.next().is_some() || t.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&day) {
        return None;
    }
    if !(0.0..24.0).contains(&h) || !(0.0..60.0).contains(&min) || !(0.0..61.0).contains(&sec) {
        return None;
    }
    Some(days_from_civil(y, m, day) as f64 * 86_400.0 + h * 3600.0 + min * 60.0 + sec)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes() {
        assert_eq!(parse_datetime("1970-01-01 00:00:00"), Some(0.0));
        // date -u -d '2020-03-09 10:14:33' +%s
        assert_eq!(parse_datetime("2020-03-09 10:14:33"), Some(1_583_748_873.0));
        assert_eq!(parse_datetime("2020-02-29 00:00:01"), Some(1_582_934_401.0));
        for bad in [
            "2020-13-01 00:00:00",
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
