//! Causal features of a unit's cycles: each cycle's features use that cycle and the ones before it, never a later
//! one, so a unit streamed cycle by cycle gets the same features as its whole history scored at once.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Which columns feed the model and how far back the features look.
///
/// Per kept column: the mean of the last `short` cycles, the mean and least-squares slope of the last `long`,
/// and how far that mean has moved from the unit's own first `baseline` cycles (units start with different
/// wear); plus the cycle count.
///
/// ```
/// use aeroguard_prognostics::rul::{FeatureSpec, Features};
/// let spec = FeatureSpec { columns: vec![0], short: 2, long: 4, baseline: 2 };
/// let mut f = Features::new(&spec)?;
/// let mut row = Vec::new();
/// for x in [1.0, 2.0, 3.0, 4.0] {
///     row = f.push(&[x])?.to_vec();
/// }
/// // cycles, short mean, long mean, slope, drift from the first two cycles' mean (1.5)
/// assert_eq!(row, vec![4.0, 3.5, 2.5, 1.0, 1.0]);
/// # Ok::<(), aeroguard_prognostics::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureSpec {
    /// The input columns used (positions in a raw row).
    pub columns: Vec<usize>,
    /// Cycles in the short mean.
    pub short: usize,
    /// Cycles in the long mean and the slope.
    pub long: usize,
    /// Cycles in the unit's baseline.
    pub baseline: usize,
}

/// Features per kept column.
pub(crate) const PER_COLUMN: usize = 4;

impl FeatureSpec {
    /// How many features a cycle has.
    pub fn width(&self) -> usize {
        1 + PER_COLUMN * self.columns.len()
    }

    pub(crate) fn check(&self) -> Result<()> {
        let bad = |name, value: usize| Error::InvalidParameter {
            name,
            value: value.to_string(),
            reason: "must be at least 1",
        };
        if self.short == 0 {
            return Err(bad("short", 0));
        }
        if self.long < 2 {
            return Err(Error::InvalidParameter {
                name: "long",
                value: self.long.to_string(),
                reason: "must be at least 2 (a slope needs two cycles)",
            });
        }
        if self.baseline == 0 {
            return Err(bad("baseline", 0));
        }
        if self.columns.is_empty() {
            return Err(Error::Empty {
                what: "the feature columns",
            });
        }
        Ok(())
    }
}

/// One unit's feature state, fed one raw row per cycle.
#[derive(Debug, Clone)]
pub struct Features {
    spec: FeatureSpec,
    /// The last `long` kept values per column, oldest first (a ring per column, `head` marks the oldest).
    ring: Vec<f64>,
    head: usize,
    filled: usize,
    base_sum: Vec<f64>,
    cycles: usize,
    out: Vec<f64>,
}

impl Features {
    /// A new unit (no cycle seen); a spec with an empty column list or a window too short is refused.
    pub fn new(spec: &FeatureSpec) -> Result<Self> {
        spec.check()?;
        Ok(Features::fresh(spec))
    }

    /// A new unit for a spec already checked.
    pub(crate) fn fresh(spec: &FeatureSpec) -> Self {
        let k = spec.columns.len();
        Features {
            spec: spec.clone(),
            ring: vec![0.0; k * spec.long],
            head: 0,
            filled: 0,
            base_sum: vec![0.0; k],
            cycles: 0,
            out: vec![0.0; spec.width()],
        }
    }

    /// How many cycles this unit has seen.
    pub fn cycles(&self) -> usize {
        self.cycles
    }

    /// Takes the next cycle's raw row and returns its features. A row too short for the spec's columns, or
    /// with a non-finite value in one of them, is refused and changes nothing.
    pub fn push(&mut self, raw: &[f64]) -> Result<&[f64]> {
        let long = self.spec.long;
        for &c in &self.spec.columns {
            let x = *raw.get(c).ok_or(Error::Shape {
                what: "a cycle's row",
                expected: self.spec.columns.iter().max().map_or(0, |m| m + 1),
                got: raw.len(),
            })?;
            if !x.is_finite() {
                return Err(Error::NonFinite {
                    what: "cycle",
                    index: self.cycles,
                    column: c,
                });
            }
        }
        let slot = (self.head + self.filled) % long;
        for (j, &c) in self.spec.columns.iter().enumerate() {
            self.ring[j * long + slot] = raw[c];
            if self.cycles < self.spec.baseline {
                self.base_sum[j] += raw[c];
            }
        }
        if self.filled < long {
            self.filled += 1;
        } else {
            self.head = (self.head + 1) % long;
        }
        self.cycles += 1;
        self.compute();
        Ok(&self.out)
    }

    fn compute(&mut self) {
        let (long, n) = (self.spec.long, self.filled);
        let short = self.spec.short.min(n);
        let base_n = self.cycles.min(self.spec.baseline) as f64;
        self.out[0] = self.cycles as f64;
        // Least squares over t = 0..n: slope = Σ (t - t̄)(x - x̄) / Σ (t - t̄)².
        let t_mean = (n as f64 - 1.0) / 2.0;
        let t_var: f64 = (0..n).map(|t| (t as f64 - t_mean).powi(2)).sum();
        for j in 0..self.spec.columns.len() {
            let ring = &self.ring[j * long..(j + 1) * long];
            let at = |t: usize| ring[(self.head + t) % long];
            let mean = (0..n).map(at).sum::<f64>() / n as f64;
            let recent = (n - short..n).map(at).sum::<f64>() / short as f64;
            let slope = if n < 2 {
                0.0
            } else {
                (0..n).map(|t| (t as f64 - t_mean) * (at(t) - mean)).sum::<f64>() / t_var
            };
            let o = 1 + j * PER_COLUMN;
            self.out[o] = recent;
            self.out[o + 1] = mean;
            self.out[o + 2] = slope;
            self.out[o + 3] = mean - self.base_sum[j] / base_n;
        }
    }
}
