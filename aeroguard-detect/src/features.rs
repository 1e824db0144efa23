//! Causal feature windows for streaming use: row `i` of the output uses input rows up to `i` only.

use std::collections::VecDeque;

use ndarray::{Array1, Array2, ArrayView1, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::limits;
use crate::{Error, Result, input};

/// Which features a [`FeatureWindow`] computes over the last `window` rows, per input column, in this order:
/// the raw value, the rolling mean, the rolling standard deviation (population), the least-squares slope per
/// row, then each lag. While fewer than `window` rows have been seen, the window is what there is (the first
/// row's std and slope are 0), and a lag reaching before the first row repeats the first row.
///
/// [`transform`](FeatureWindow::transform) on a batch and [`push`](FeatureState::push) row by row give the same
/// values: the batch is computed by the streaming code.
///
/// ```
/// use aeroguard_detect::FeatureWindow;
/// use ndarray::array;
/// let f = FeatureWindow::builder().window(3).raw(false).mean(true).slope(true).lags(vec![1]).build()?;
/// let out = f.transform(array![[1.0], [2.0], [3.0], [10.0]].view())?;
/// assert_eq!(out.row(3).to_vec(), vec![5.0, 4.0, 3.0]); // mean of 2, 3, 10; slope; the value one row back
/// assert_eq!(f.names(&["p"]), ["p.mean3", "p.slope3", "p.lag1"]);
/// # Ok::<(), aeroguard_detect::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureWindow {
    window: usize,
    raw: bool,
    mean: bool,
    std: bool,
    slope: bool,
    lags: Vec<usize>,
}

/// Builds a [`FeatureWindow`]; the default is the raw value and the rolling mean over 10 rows.
#[derive(Debug, Clone)]
pub struct FeatureWindowBuilder(FeatureWindow);

impl FeatureWindow {
    /// A builder with the raw value and the mean over 10 rows.
    pub fn builder() -> FeatureWindowBuilder {
        FeatureWindowBuilder(FeatureWindow {
            window: 10,
            raw: true,
            mean: true,
            std: false,
            slope: false,
            lags: vec![],
        })
    }

    /// Output columns per input column.
    pub fn per_column(&self) -> usize {
        usize::from(self.raw)
            + usize::from(self.mean)
            + usize::from(self.std)
            + usize::from(self.slope)
            + self.lags.len()
    }

    /// The window length in rows.
    pub fn window(&self) -> usize {
        self.window
    }

    /// Names of the output columns for these input names.
    pub fn names(&self, inputs: &[&str]) -> Vec<String> {
        let w = self.window;
        let mut out = Vec::new();
        for name in inputs {
            if self.raw {
                out.push(name.to_string());
            }
            if self.mean {
                out.push(format!("{name}.mean{w}"));
            }
            if self.std {
                out.push(format!("{name}.std{w}"));
            }
            if self.slope {
                out.push(format!("{name}.slope{w}"));
            }
            out.extend(self.lags.iter().map(|l| format!("{name}.lag{l}")));
        }
        out
    }

    /// A fresh streaming state for rows of `width` columns.
    pub fn state(&self, width: usize) -> FeatureState {
        let depth = self.window.max(self.lags.iter().max().map_or(0, |l| l + 1));
        FeatureState {
            spec: self.clone(),
            width,
            depth,
            rows: VecDeque::with_capacity(depth),
            first: None,
        }
    }

    /// The features of a batch, read as one sequence from a fresh state.
    pub fn transform(&self, x: ArrayView2<f64>) -> Result<Array2<f64>> {
        let mut state = self.state(x.ncols());
        let mut out = Array2::zeros((x.nrows(), x.ncols() * self.per_column()));
        for (i, r) in x.outer_iter().enumerate() {
            input::finite_row("rows to transform", r, i)?;
            state.push_into(r, out.row_mut(i).as_slice_mut().ok_or_else(layout)?);
        }
        Ok(out)
    }
}

fn layout() -> Error {
    Error::Fit {
        what: "feature window",
        reason: "output is not contiguous".into(),
        cause: None,
    }
}

impl FeatureWindowBuilder {
    /// Rows in the rolling window (at least 1).
    pub fn window(mut self, rows: usize) -> Self {
        self.0.window = rows;
        self
    }
    /// Include the value itself.
    pub fn raw(mut self, on: bool) -> Self {
        self.0.raw = on;
        self
    }
    /// Include the rolling mean.
    pub fn mean(mut self, on: bool) -> Self {
        self.0.mean = on;
        self
    }
    /// Include the rolling standard deviation.
    pub fn std(mut self, on: bool) -> Self {
        self.0.std = on;
        self
    }
    /// Include the least-squares slope per row over the window.
    pub fn slope(mut self, on: bool) -> Self {
        self.0.slope = on;
        self
    }
    /// Include the values this many rows back.
    pub fn lags(mut self, lags: Vec<usize>) -> Self {
        self.0.lags = lags;
        self
    }
    /// Validates: a window of at least one row, at least one feature, lags of at least 1.
    pub fn build(self) -> Result<FeatureWindow> {
        let f = self.0;
        if f.window == 0 {
            return Err(Error::parameter("window", 0, "must be at least 1 row"));
        }
        limits::at_most("window", f.window, limits::MAX_WINDOW)?;
        limits::at_most("lags (how many)", f.lags.len(), limits::MAX_LAGS)?;
        limits::at_most(
            "lag",
            f.lags.iter().copied().max().unwrap_or(0),
            limits::MAX_WINDOW,
        )?;
        if f.lags.contains(&0) {
            return Err(Error::parameter(
                "lags",
                &f.lags,
                "a lag is at least 1 row (lag 0 is `raw`)",
            ));
        }
        if f.per_column() == 0 {
            return Err(Error::parameter(
                "features",
                "none",
                "choose at least one of raw, mean, std, slope, lags",
            ));
        }
        Ok(f)
    }
}

/// The streaming state of a [`FeatureWindow`]: the last rows seen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureState {
    spec: FeatureWindow,
    width: usize,
    depth: usize,
    rows: VecDeque<Vec<f64>>,
    first: Option<Vec<f64>>,
}

impl FeatureState {
    /// Takes the next row and returns its features.
    pub fn push(&mut self, row: ArrayView1<f64>) -> Result<Array1<f64>> {
        input::check_row("row to transform", row, self.width)?;
        let mut out = vec![0.0; self.width * self.spec.per_column()];
        self.push_into(row, &mut out);
        Ok(Array1::from(out))
    }

    /// The window this state computes.
    pub(crate) fn spec(&self) -> &FeatureWindow {
        &self.spec
    }

    /// Checks a loaded state against the width it should take.
    pub(crate) fn check(&self, width: usize) -> Result<()> {
        limits::loaded_at_most("feature window columns", width, limits::MAX_COLUMNS)?;
        let spec = FeatureWindowBuilder(self.spec.clone()).build()?;
        let fresh = spec.state(width);
        let rows_ok =
            self.rows.iter().chain(&self.first).all(|r| r.len() == width) && self.rows.len() <= fresh.depth;
        if self.width != width || self.depth != fresh.depth || !rows_ok {
            return Err(Error::Model {
                operation: "load",
                reason: "feature window state does not fit its width".into(),
                cause: None,
            });
        }
        Ok(())
    }

    /// Forgets the rows seen.
    pub fn reset(&mut self) {
        self.rows.clear();
        self.first = None;
    }

    fn push_into(&mut self, row: ArrayView1<f64>, out: &mut [f64]) {
        let row = row.to_vec();
        if self.first.is_none() {
            self.first = Some(row.clone());
        }
        if self.rows.len() == self.depth {
            self.rows.pop_front();
        }
        self.rows.push_back(row);
        self.features_into(out);
    }

    /// The features of the last row taken (what [`push`](Self::push) returned for it), `None` before any.
    pub fn current(&self) -> Option<Vec<f64>> {
        if self.rows.is_empty() {
            return None;
        }
        let mut out = vec![0.0; self.width * self.spec.per_column()];
        self.features_into(&mut out);
        Some(out)
    }

    fn features_into(&self, out: &mut [f64]) {
        let n = self.rows.len();
        let w = self.spec.window.min(n);
        let mut k = 0;
        for c in 0..self.width {
            let recent = || self.rows.iter().skip(n - w).map(|r| r[c]);
            let mean = recent().sum::<f64>() / w as f64;
            if self.spec.raw {
                out[k] = self.rows[n - 1][c];
                k += 1;
            }
            if self.spec.mean {
                out[k] = mean;
                k += 1;
            }
            if self.spec.std {
                out[k] = (recent().map(|v| (v - mean).powi(2)).sum::<f64>() / w as f64).sqrt();
                k += 1;
            }
            if self.spec.slope {
                let tm = (w as f64 - 1.0) / 2.0;
                let (mut sxy, mut sxx) = (0.0, 0.0);
                for (t, v) in recent().enumerate() {
                    sxy += (t as f64 - tm) * (v - mean);
                    sxx += (t as f64 - tm).powi(2);
                }
                out[k] = if sxx > 0.0 { sxy / sxx } else { 0.0 };
                k += 1;
            }
            for &lag in &self.spec.lags {
                out[k] = match n.checked_sub(lag + 1) {
                    Some(i) => self.rows[i][c],
                    None => self.first.as_ref().map_or(0.0, |f| f[c]),
                };
                k += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn causal_and_streaming_equals_batch() {
        let f = FeatureWindow::builder()
            .window(4)
            .std(true)
            .slope(true)
            .lags(vec![1, 6])
            .build()
            .unwrap();
        let x = Array2::from_shape_fn((30, 2), |(i, j)| ((i * 7 + j * 3) % 11) as f64 - 0.5 * i as f64);
        let batch = f.transform(x.view()).unwrap();
        let mut s = f.state(2);
        for (i, r) in x.outer_iter().enumerate() {
            assert_eq!(s.push(r).unwrap(), batch.row(i));
        }
        // Causal: changing a later row leaves earlier features unchanged.
        let mut y = x.clone();
        y[[20, 0]] = 1e6;
        let changed = f.transform(y.view()).unwrap();
        for i in 0..20 {
            assert_eq!(changed.row(i), batch.row(i));
        }
        assert_ne!(changed.row(20), batch.row(20));
    }

    #[test]
    fn values_are_right() {
        let f = FeatureWindow::builder()
            .window(3)
            .raw(false)
            .std(true)
            .slope(true)
            .lags(vec![2])
            .build()
            .unwrap();
        let out = f.transform(array![[1.0], [3.0], [5.0], [5.0]].view()).unwrap();
        // Row 0: mean 1, std 0, slope 0, lag2 repeats the first row.
        assert_eq!(out.row(0).to_vec(), vec![1.0, 0.0, 0.0, 1.0]);
        // Row 2: window 1, 3, 5.
        let r = out.row(2);
        assert_eq!((r[0], r[2], r[3]), (3.0, 2.0, 1.0));
        assert!((r[1] - (8.0f64 / 3.0).sqrt()).abs() < 1e-12);
        // Row 3: window 3, 5, 5: slope 1.
        assert_eq!(out.row(3)[2], 1.0);
    }

    #[test]
    fn bad_parameters_and_input() {
        assert!(matches!(
            FeatureWindow::builder().window(0).build(),
            Err(Error::InvalidParameter { name: "window", .. })
        ));
        assert!(matches!(
            FeatureWindow::builder().lags(vec![0]).build(),
            Err(Error::InvalidParameter { name: "lags", .. })
        ));
        let none = FeatureWindow::builder().raw(false).mean(false).build();
        assert!(matches!(
            none,
            Err(Error::InvalidParameter { name: "features", .. })
        ));
        let f = FeatureWindow::builder().build().unwrap();
        assert!(matches!(
            f.transform(array![[1.0], [f64::INFINITY]].view()),
            Err(Error::NonFinite {
                row: 1,
                column: 0,
                ..
            })
        ));
        assert!(matches!(
            f.state(2).push(array![1.0].view()),
            Err(Error::Shape {
                expected: 2,
                got: 1,
                ..
            })
        ));
    }
}
