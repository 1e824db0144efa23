//! Reading NAB's files: `data/<category>/<name>.csv` (`timestamp,value`) and `labels/combined_windows.json`.

use std::collections::BTreeMap;
use std::path::Path;

use jiff::civil::DateTime;

use super::NabSeries;
use crate::{Error, Result};

/// The rows a series starts with that are not scored: 15 % of them, at most 750 (NAB's probation).
///
/// ```
/// assert_eq!(aeroguard_eval::nab::probation(2000), 300);
/// assert_eq!(aeroguard_eval::nab::probation(22695), 750);
/// ```
pub fn probation(rows: usize) -> usize {
    (rows * 15 / 100).min(750)
}

/// The largest file read (the biggest NAB series is under 2 MB).
const MAX_FILE_BYTES: u64 = 64 << 20;

fn read(path: &Path) -> Result<String> {
    let failed = |reason: String| Error::Data {
        path: path.display().to_string(),
        line: 0,
        reason,
        cause: None,
    };
    let io = |e: std::io::Error| Error::Data {
        path: path.display().to_string(),
        line: 0,
        reason: e.to_string(),
        cause: Some(aeroguard_core::Cause::new(e)),
    };
    let size = std::fs::metadata(path).map_err(io)?.len();
    if size > MAX_FILE_BYTES {
        return Err(failed(format!(
            "{size} bytes is over the {MAX_FILE_BYTES}-byte limit"
        )));
    }
    std::fs::read_to_string(path).map_err(io)
}

/// A civil time as NAB writes it, with or without fractional seconds.
fn parse_time(s: &str) -> Option<DateTime> {
    DateTime::strptime("%Y-%m-%d %H:%M:%S%.f", s)
        .or_else(|_| DateTime::strptime("%Y-%m-%d %H:%M:%S", s))
        .ok()
}

/// Parses one series' CSV text and places its windows (pairs of timestamps) on its rows.
pub(crate) fn parse_series(name: &str, text: &str, windows: &[(String, String)]) -> Result<NabSeries> {
    let bad = |line: u64, reason: String| Error::Data {
        path: name.to_string(),
        line,
        reason,
        cause: None,
    };
    let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let headers = reader.headers().map_err(|e| bad(1, e.to_string()))?.clone();
    if headers.iter().collect::<Vec<_>>() != ["timestamp", "value"] {
        return Err(bad(
            1,
            format!("expected the header timestamp,value, found {headers:?}"),
        ));
    }
    let (mut times, mut values) = (Vec::new(), Vec::new());
    for (i, record) in reader.records().enumerate() {
        let line = i as u64 + 2;
        let record = record.map_err(|e| bad(line, e.to_string()))?;
        let time =
            parse_time(&record[0]).ok_or_else(|| bad(line, format!("bad timestamp {:?}", &record[0])))?;
        let value: f64 = record[1]
            .trim()
            .parse()
            .map_err(|_| bad(line, format!("bad value {:?}", &record[1])))?;
        if !value.is_finite() {
            return Err(bad(line, format!("value {value} is not finite")));
        }
        times.push(time);
        values.push(value);
    }
    let row_of = |t: &str| -> Result<usize> {
        let at = parse_time(t).ok_or_else(|| bad(0, format!("bad window timestamp {t:?}")))?;
        // The first row with that time, as NAB takes it: some series repeat or step back a stretch of
        // timestamps (clock changes), and NAB scores rows in file order.
        times
            .iter()
            .position(|x| *x == at)
            .ok_or_else(|| bad(0, format!("window bound {t} is not one of the rows' timestamps")))
    };
    let rows = windows
        .iter()
        .map(|(start, end)| Ok((row_of(start)?, row_of(end)?)))
        .collect::<Result<Vec<_>>>()?;
    NabSeries::from_rows(name, values, rows)
}

/// Every series of `category` (`realKnownCause`, ...) in the NAB checkout at `dir` (holding `data/` and
/// `labels/`), with its windows, in name order.
pub fn load_category(dir: &Path, category: &str) -> Result<Vec<NabSeries>> {
    let labels_path = dir.join("labels").join("combined_windows.json");
    let labels: BTreeMap<String, Vec<(String, String)>> = serde_json::from_str(&read(&labels_path)?)
        .map_err(|e| Error::Data {
            path: labels_path.display().to_string(),
            line: e.line() as u64,
            reason: e.to_string(),
            cause: Some(aeroguard_core::Cause::new(e)),
        })?;
    let folder = dir.join("data").join(category);
    let mut names: Vec<String> = std::fs::read_dir(&folder)
        .map_err(|e| Error::Data {
            path: folder.display().to_string(),
            line: 0,
            reason: e.to_string(),
            cause: Some(aeroguard_core::Cause::new(e)),
        })?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".csv"))
        .collect();
    names.sort();
    names
        .iter()
        .map(|file| {
            let name = format!("{category}/{file}");
            let windows = labels.get(&name).ok_or_else(|| Error::Data {
                path: labels_path.display().to_string(),
                line: 0,
                reason: format!("no windows for {name}"),
                cause: None,
            })?;
            parse_series(&name, &read(&folder.join(file))?, windows)
        })
        .collect()
}
