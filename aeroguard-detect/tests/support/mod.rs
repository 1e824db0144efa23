//! What the voter's tests share: a member whose every vote the test chooses.

use aeroguard_detect::{Error, FittedDetector};
use ndarray::{Array1, ArrayView1, ArrayView2};

/// A detector whose score for a row is the value in its own column (an infinite value is an error): lets a
/// test choose every vote.
#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    pub column: usize,
    pub width: usize,
}

impl FittedDetector for Column {
    fn name(&self) -> &str {
        &self.name
    }
    fn n_features(&self) -> usize {
        self.width
    }
    fn threshold(&self) -> f64 {
        0.5
    }
    fn set_threshold(&mut self, _: f64) {}
    fn score(&self, x: ArrayView2<f64>) -> aeroguard_detect::Result<Array1<f64>> {
        Ok(x.column(self.column).to_owned())
    }
    fn update(&mut self, row: ArrayView1<f64>) -> aeroguard_detect::Result<f64> {
        let v = row[self.column];
        if v.is_infinite() {
            return Err(Error::NonFinite {
                what: "row",
                row: 0,
                column: self.column,
                value: v,
            });
        }
        Ok(v)
    }
    fn reset(&mut self) {}
}

pub fn members(n: usize) -> Vec<Column> {
    (0..n)
        .map(|c| Column {
            name: format!("m{c}"),
            column: c,
            width: n,
        })
        .collect()
}
