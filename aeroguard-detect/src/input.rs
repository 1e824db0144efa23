//! Validation of the matrices every detector takes: rows are samples, columns are sensors or features.

use ndarray::{ArrayView1, ArrayView2};

use crate::{Error, Result};

/// Fails unless every value is finite.
pub(crate) fn finite(what: &'static str, x: ArrayView2<f64>) -> Result<()> {
    for (row, r) in x.outer_iter().enumerate() {
        finite_row(what, r, row)?;
    }
    Ok(())
}

/// Fails unless every value of one row is finite.
pub(crate) fn finite_row(what: &'static str, r: ArrayView1<f64>, row: usize) -> Result<()> {
    match r.iter().position(|v| !v.is_finite()) {
        Some(column) => Err(Error::NonFinite {
            what,
            row,
            column,
            value: r[column],
        }),
        None => Ok(()),
    }
}

/// Fails unless `x` has `width` columns and only finite values.
pub(crate) fn check(what: &'static str, x: ArrayView2<f64>, width: usize) -> Result<()> {
    if x.ncols() != width {
        return Err(Error::Shape {
            what,
            expected: width,
            got: x.ncols(),
        });
    }
    finite(what, x)
}

/// Fails unless one row has `width` finite values.
pub(crate) fn check_row(what: &'static str, r: ArrayView1<f64>, width: usize) -> Result<()> {
    if r.len() != width {
        return Err(Error::Shape {
            what,
            expected: width,
            got: r.len(),
        });
    }
    finite_row(what, r, 0)
}

/// Fails unless there are at least `needed` rows and one column, all finite.
pub(crate) fn training(what: &'static str, x: ArrayView2<f64>, needed: usize) -> Result<()> {
    if x.nrows() < needed {
        return Err(Error::NotEnoughRows {
            what,
            needed,
            got: x.nrows(),
        });
    }
    if x.ncols() == 0 {
        return Err(Error::Shape {
            what: "training rows",
            expected: 1,
            got: 0,
        });
    }
    finite("training rows", x)
}
