//! NASA's C-MAPSS turbofan data in its own layout: one row per cycle, 26 space-separated columns (unit, cycle,
//! three operational settings, 21 sensors), each unit's cycles in order from 1. Training files run every unit
//! to failure; test files stop each unit short, and a companion file gives, per unit in order, the cycles it
//! still had.
//!
//! ```
//! use aeroguard_eval::cmapss;
//! let row = |u, c| format!("{u} {c} {}\n", vec!["1.5"; 24].join(" "));
//! let text = row(1, 1) + &row(1, 2) + &row(2, 1);
//! let units = cmapss::parse("train.txt", &text)?;
//! assert_eq!(units.len(), 2);
//! assert_eq!((units[0].id, units[0].rows.nrows(), units[0].rows.ncols()), (1, 2, 24));
//! let lives = cmapss::parse_rul("rul.txt", "112\n98\n")?;
//! assert_eq!(lives, vec![112.0, 98.0]);
//! let bad = cmapss::parse("t.txt", &row(1, 2)).unwrap_err();
//! assert_eq!(bad.to_string(), "t.txt: line 1: unit 1 starts at cycle 2, not 1");
//! # Ok::<(), aeroguard_eval::Error>(())
//! ```

mod cv;

use std::path::Path;

use ndarray::Array2;

use crate::{Error, Result};

pub use cv::{Figures, Report, cross_validate, score_test};

/// Columns per row in NASA's layout.
pub const COLUMNS: usize = 26;
/// Values per cycle after the unit and cycle numbers: three settings, then sensors 1 to 21.
pub const VALUES: usize = COLUMNS - 2;

/// One unit's cycles.
#[derive(Debug, Clone, PartialEq)]
pub struct Unit {
    /// The unit's number in the file.
    pub id: u32,
    /// One row per cycle (from cycle 1), [`VALUES`] columns.
    pub rows: Array2<f64>,
}

/// Reads a file in NASA's layout.
pub fn read(path: &Path) -> Result<Vec<Unit>> {
    parse(&path.display().to_string(), &text_of(path)?)
}

fn text_of(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| Error::Data {
        path: path.display().to_string(),
        line: 0,
        reason: format!("cannot read: {e}"),
        cause: None,
    })
}

/// Parses text in NASA's layout (`name` names it in errors).
pub fn parse(name: &str, text: &str) -> Result<Vec<Unit>> {
    let fail = |line: usize, reason: String| Error::Data {
        path: name.into(),
        line: line as u64,
        reason,
        cause: None,
    };
    let mut units: Vec<(u32, Vec<f64>)> = Vec::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() != COLUMNS {
            return Err(fail(
                i + 1,
                format!("{} columns, expected {COLUMNS}", fields.len()),
            ));
        }
        let number = |k: usize, what: &str| {
            fields[k]
                .parse::<u32>()
                .map_err(|_| fail(i + 1, format!("{what} {:?} is not a whole number", fields[k])))
        };
        let (unit, cycle) = (number(0, "unit")?, number(1, "cycle")?);
        let next = match units.last() {
            Some((u, values)) if *u == unit => values.len() / VALUES + 1,
            Some((u, _)) if *u > unit => return Err(fail(i + 1, format!("unit {unit} after unit {u}"))),
            _ => {
                units.push((unit, Vec::new()));
                1
            }
        };
        if cycle as usize != next {
            let reason = if next == 1 {
                format!("unit {unit} starts at cycle {cycle}, not 1")
            } else {
                format!("unit {unit}: cycle {cycle} where {next} was due")
            };
            return Err(fail(i + 1, reason));
        }
        let values = &mut units.last_mut().ok_or_else(|| fail(i + 1, "no unit".into()))?.1;
        for (k, f) in fields[2..].iter().enumerate() {
            match f.parse::<f64>() {
                Ok(x) if x.is_finite() => values.push(x),
                _ => {
                    return Err(fail(
                        i + 1,
                        format!("column {} is {f:?}, not a finite number", k + 3),
                    ));
                }
            }
        }
    }
    if units.is_empty() {
        return Err(fail(0, "no rows".into()));
    }
    units
        .into_iter()
        .map(|(id, values)| {
            let rows = Array2::from_shape_vec((values.len() / VALUES, VALUES), values)
                .map_err(|e| fail(0, format!("unit {id}: {e}")))?;
            Ok(Unit { id, rows })
        })
        .collect()
}

/// Reads a file of true remaining lives, one per unit in order.
pub fn read_rul(path: &Path) -> Result<Vec<f64>> {
    parse_rul(&path.display().to_string(), &text_of(path)?)
}

/// Parses remaining lives, one non-negative number per line.
pub fn parse_rul(name: &str, text: &str) -> Result<Vec<f64>> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| match l.trim().parse::<f64>() {
            Ok(x) if x.is_finite() && x >= 0.0 => Ok(x),
            _ => Err(Error::Data {
                path: name.into(),
                line: i as u64 + 1,
                reason: format!(
                    "{:?} is not a remaining life (a number of cycles, 0 or more)",
                    l.trim()
                ),
                cause: None,
            }),
        })
        .collect()
}
