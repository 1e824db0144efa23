//! What the level-shift and relations detectors share: sensor roles learned from the training rows, the rolling
//! means and their robust level and scatter, and the checks of the alarm parameters (the latch
//! they keep between rows is in `settle`).

use ndarray::{Array2, ArrayView2};

use crate::{Error, FeatureState, FeatureWindow, Result, Role, Settle, median_and_mad};

/// `var(diff) / (2 var)` of a column: 1 for white noise, near 0 for a drift; 1 for a constant column.
pub(crate) fn slowness(column: &[f64]) -> f64 {
    let n = column.len() as f64;
    if column.len() < 3 {
        return 1.0;
    }
    let mean = column.iter().sum::<f64>() / n;
    let var = column.iter().map(|y| (y - mean) * (y - mean)).sum::<f64>() / n;
    let dvar = column
        .windows(2)
        .map(|w| (w[1] - w[0]) * (w[1] - w[0]))
        .sum::<f64>()
        / (n - 1.0);
    if var > 0.0 && var.is_finite() && dvar.is_finite() {
        dvar / (2.0 * var)
    } else {
        1.0
    }
}

/// Each column's role: slow when its slowness is under `slow_below`. When every column is slow (smooth signals
/// sampled fast), leaving all out would score nothing, so none is.
pub(crate) fn roles(x: ArrayView2<f64>, slow_below: Option<f64>) -> Vec<Role> {
    let mut roles: Vec<Role> = x
        .columns()
        .into_iter()
        .map(|c| match slow_below {
            Some(r) if slowness(&c.to_vec()) < r => Role::Slow,
            _ => Role::Level,
        })
        .collect();
    if !roles.contains(&Role::Level) {
        roles.fill(Role::Level);
    }
    roles
}

/// The median and the robust scatter (1.4826 MAD, or the standard deviation when the MAD is 0, never 0).
pub(crate) fn level_and_scatter(values: &[f64]) -> (f64, f64) {
    let (median, mad) = median_and_mad(values);
    let mut s = 1.4826 * mad;
    if s.is_nan() || s <= 0.0 {
        let n = values.len().max(1) as f64;
        s = (values.iter().map(|v| (v - median) * (v - median)).sum::<f64>() / n).sqrt();
    }
    let floor = 1e-12 * median.abs().max(1.0);
    (median, if s.is_finite() { s.max(floor) } else { floor })
}

/// The rolling means of `window` rows, their training rows' means from the first full window on (the first
/// rows' means are over fewer rows and scatter more), and the window that makes them.
pub(crate) fn training_means(
    x: ArrayView2<f64>,
    window: usize,
) -> Result<(FeatureWindow, Array2<f64>, usize)> {
    let features = FeatureWindow::builder()
        .window(window)
        .raw(false)
        .mean(true)
        .build()?;
    let means = features.transform(x)?;
    let from = (window - 1).min(means.nrows().saturating_sub(1));
    Ok((features, means, from))
}

/// Checks the parameters every alarm of this kind has: the window, the alarm level, the fraction it holds down
/// to, the slowness threshold, and how it settles after a fault.
pub(crate) fn check(
    window: usize,
    z: f64,
    release: f64,
    slow_below: Option<f64>,
    settle: Option<&Settle>,
) -> Result<()> {
    if window == 0 || window > crate::limits::MAX_WINDOW {
        return Err(Error::parameter("window", window, "lies in 1..=10000 rows"));
    }
    if !(z.is_finite() && z > 0.0) {
        return Err(Error::parameter("z", z, "is finite and above 0"));
    }
    if !(release > 0.0 && release <= 1.0) {
        return Err(Error::parameter("release", release, "lies in (0, 1]"));
    }
    if let Some(r) = slow_below
        && !(r > 0.0 && r <= 1.0)
    {
        return Err(Error::parameter("slow_below", r, "lies in (0, 1]"));
    }
    settle.map_or(Ok(()), Settle::check)
}

/// The parts every loaded model that scores columns on their rolling means shares (the relations and subspace
/// detectors): one role, level and scatter per column, the alarm's levels, its settling and the rolling mean.
pub(crate) struct Loaded<'a> {
    /// The detector, as errors name it.
    pub what: &'static str,
    pub n_features: usize,
    pub roles: &'a [Role],
    pub center: &'a [f64],
    pub scale: &'a [f64],
    /// The most columns it may score on their level.
    pub most: usize,
    pub on: f64,
    pub release: f64,
    pub threshold: f64,
    pub settle: Option<&'a Settle>,
    pub state: &'a FeatureState,
    pub features: &'a FeatureWindow,
}

/// An error naming a loaded model and what is wrong with it.
pub(crate) fn damaged(what: &str, reason: &str) -> Error {
    Error::Model {
        operation: "load",
        reason: format!("{what}: {reason}"),
        cause: None,
    }
}

impl Loaded<'_> {
    /// Checks the shared parts of a loaded model; returns how many columns it scores on their level.
    pub(crate) fn check(&self) -> Result<usize> {
        let bad = |reason: &str| damaged(self.what, reason);
        let n = self.n_features;
        if self.roles.len() != n || self.center.len() != n || self.scale.len() != n {
            return Err(bad("roles, levels and scatters must have one entry per column"));
        }
        let taken = self.roles.iter().filter(|r| **r == Role::Level).count();
        if taken == 0 || taken > self.most {
            return Err(bad(&format!(
                "1 to {} columns must be scored on their level",
                self.most
            )));
        }
        if !(self.center.iter().all(|v| v.is_finite())
            && self.scale.iter().all(|s| s.is_finite() && *s > 0.0))
        {
            return Err(bad("levels must be finite and scatters finite and above 0"));
        }
        if !(self.on.is_finite() && self.on > 0.0 && self.threshold.is_finite()) {
            return Err(bad("z and the threshold must be finite"));
        }
        if !(self.release > 0.0 && self.release <= 1.0) {
            return Err(bad("release must lie in (0, 1]"));
        }
        if let Some(s) = self.settle {
            s.check()?;
        }
        self.state.check(n)?;
        if self.state.spec() != self.features || self.features.per_column() != 1 {
            return Err(bad("the rolling mean differs from its state's"));
        }
        Ok(taken)
    }
}
