//! Isolation forest with scikit-learn's semantics.
//!
//! Each tree is grown on `max_samples` rows drawn without replacement (default `min(256, n)`), splitting on a
//! random non-constant feature at a uniform random value between its minimum and maximum, down to a height
//! limit of `ceil(log2(max_samples))`. A row's path length in a tree is the depth of its leaf plus `c(m)`, the
//! average path length of an unsuccessful search in a binary search tree of the `m` training rows left in that
//! leaf; the anomaly score is `2^(-E[h(x)] / c(max_samples))`, in (0, 1], higher is more anomalous. scikit-learn's
//! `score_samples` is its negation. With [`Calibration::Contamination`] the threshold is set as scikit-learn's
//! `offset_` is, and `score > threshold` is scikit-learn's `predict == -1`.

use ndarray::{Array1, ArrayView1, ArrayView2};
use rand::{RngCore, SeedableRng, seq::index};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::limits;
use crate::{Calibration, Detector, Error, FittedDetector, Result, input};

mod builder;
mod flat;
mod tree;

pub use builder::IsolationForestBuilder;

use tree::{Grower, Node, check_size, step};

const EULER_GAMMA: f64 = 0.577_215_664_901_532_9;

/// `c(n)`: the average path length of an unsuccessful search in a binary search tree of `n` points.
pub fn average_path_length(n: usize) -> f64 {
    match n {
        0 | 1 => 0.0,
        2 => 1.0,
        n => {
            let n = n as f64;
            2.0 * ((n - 1.0).ln() + EULER_GAMMA) - 2.0 * (n - 1.0) / n
        }
    }
}

/// How many rows each tree is grown on.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum MaxSamples {
    /// `min(256, n)`, scikit-learn's `"auto"`.
    Auto,
    /// A number of rows (capped at `n`).
    Count(usize),
    /// A fraction of the rows, in (0, 1].
    Fraction(f64),
}

/// Isolation forest parameters, validated by [`IsolationForestBuilder::build`].
///
/// ```
/// use aeroguard_detect::{Detector, FittedDetector, IsolationForest};
/// use ndarray::{Array2, array};
/// let normal = Array2::from_shape_fn((300, 2), |(i, j)| ((i * 7 + j * 13) % 17) as f64 / 17.0);
/// let model = IsolationForest::builder().seed(7).contamination(0.01).build()?.fit(normal.view())?;
/// let s = model.score(array![[0.5, 0.5], [40.0, -40.0]].view())?;
/// assert!(s[1] > model.threshold() && s[1] > s[0]);
/// # Ok::<(), aeroguard_detect::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IsolationForest {
    pub(super) n_estimators: usize,
    pub(super) max_samples: MaxSamples,
    pub(super) seed: u64,
    pub(super) calibration: Calibration,
    pub(super) threads: usize,
}

impl IsolationForest {
    /// The number of trees.
    pub fn n_estimators(&self) -> usize {
        self.n_estimators
    }

    /// Rows each tree is grown on.
    pub fn max_samples(&self) -> MaxSamples {
        self.max_samples
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// How the threshold is set.
    pub fn calibration(&self) -> Calibration {
        self.calibration
    }

    /// How batches are split for scoring (see [`IsolationForestBuilder::threads`]).
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// scikit-learn's defaults: 100 trees, `max_samples = "auto"`, threshold 0.5 (`contamination = "auto"`),
    /// seed 0, scoring on every core.
    pub fn builder() -> IsolationForestBuilder {
        IsolationForestBuilder(IsolationForest {
            n_estimators: 100,
            max_samples: MaxSamples::Auto,
            seed: 0,
            calibration: Calibration::Fixed(0.5),
            threads: 0,
        })
    }
}

/// A fitted isolation forest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedIsolationForest {
    params: IsolationForest,
    n_features: usize,
    max_samples: usize,
    trees: Vec<Vec<Node>>,
    threshold: f64,
    /// Each feature's 10th, 30th, 50th, 70th and 90th percentiles over the training rows: the typical values
    /// `explain` tries in a feature's place.
    #[serde(default)]
    typical: Vec<[f64; 5]>,
    /// The trees in flat arrays for scoring (derived, never saved).
    #[serde(skip)]
    flat: flat::Compiled,
}

impl Detector for IsolationForest {
    type Fitted = FittedIsolationForest;

    fn fit(&self, x: ArrayView2<f64>) -> Result<FittedIsolationForest> {
        let p = IsolationForestBuilder(self.clone()).build()?;
        input::training("isolation forest", x, 2)?;
        let n = x.nrows();
        let max_samples = match p.max_samples {
            MaxSamples::Auto => n.min(256),
            MaxSamples::Count(c) => c.min(n),
            MaxSamples::Fraction(f) => ((f * n as f64) as usize).clamp(1, n),
        };
        check_size(p.n_estimators, max_samples)?;
        let max_depth = (max_samples.max(2) as f64).log2().ceil() as usize;
        let mut master = Xoshiro256PlusPlus::seed_from_u64(p.seed);
        let mut trees = Vec::with_capacity(p.n_estimators);
        for _ in 0..p.n_estimators {
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(master.next_u64());
            let mut idx = index::sample(&mut rng, n, max_samples).into_vec();
            let mut g = Grower {
                x,
                max_depth,
                rng,
                nodes: Vec::new(),
                features: (0..x.ncols()).collect(),
            };
            g.grow(&mut idx, 0);
            trees.push(g.nodes);
        }
        let mut model = FittedIsolationForest {
            params: p,
            n_features: x.ncols(),
            max_samples,
            trees,
            threshold: 0.0,
            typical: x
                .columns()
                .into_iter()
                .map(|c| {
                    let mut v = c.to_vec();
                    v.sort_by(f64::total_cmp);
                    [0.1, 0.3, 0.5, 0.7, 0.9].map(|q| crate::quantile_sorted(&v, q))
                })
                .collect(),
            flat: flat::Compiled::default(),
        };
        let train = model.score(x)?;
        model.threshold = model
            .params
            .calibration
            .threshold(train.as_slice().unwrap_or(&train.to_vec()))?;
        Ok(model)
    }
}

impl FittedIsolationForest {
    fn score_row(&self, row: &[f64]) -> f64 {
        let depth = self.depth();
        if let Some(flat) = self.flat.get(&self.trees, depth) {
            return 2f64.powf(-flat.path_length(row) / self.norm());
        }
        let mut total = 0.0;
        // Eight trees walked in lockstep: eight independent chains of loads the CPU overlaps. The path lengths
        // are added in tree order, as the batch path adds them, so both give the same score to the bit.
        for group in self.trees.chunks(8) {
            let mut at = [0u32; 8];
            for _ in 0..depth {
                for (i, tree) in at.iter_mut().zip(group) {
                    *i = step(tree, *i, row);
                }
            }
            for (i, tree) in at.iter().zip(group) {
                total += tree[*i as usize].value;
            }
        }
        2f64.powf(-total / self.norm())
    }

    /// Scores rows in blocks, tree by tree, so each tree stays in cache while a block of rows walks it.
    fn score_rows(&self, x: ArrayView2<f64>, out: &mut [f64]) {
        const BLOCK: usize = 128;
        let d = x.ncols();
        let norm = self.norm();
        let depth = self.depth();
        let flat = self.flat.get(&self.trees, depth);
        // Rows of up to `PAD` features are copied straight into padded arrays (the flat walk's fast path);
        // others into one row-major buffer.
        let pad = flat.is_some() && d <= flat::PAD;
        let mut padded = vec![[0.0; flat::PAD]; if pad { BLOCK } else { 0 }];
        let mut rows = vec![0.0; if pad { 0 } else { BLOCK * d }];
        for (start, chunk) in (0..).step_by(BLOCK).zip(out.chunks_mut(BLOCK)) {
            for (k, r) in x.outer_iter().skip(start).take(chunk.len()).enumerate() {
                let to = if pad {
                    &mut padded[k][..d]
                } else {
                    &mut rows[k * d..(k + 1) * d]
                };
                to.iter_mut().zip(r.iter()).for_each(|(a, b)| *a = *b);
            }
            chunk.iter_mut().for_each(|o| *o = 0.0);
            if let Some(flat) = flat {
                if pad {
                    flat.add_padded(&padded[..chunk.len()], chunk);
                } else {
                    flat.add_path_lengths(&rows[..chunk.len() * d], d, chunk);
                }
                chunk.iter_mut().for_each(|o| *o = 2f64.powf(-*o / norm));
                continue;
            }
            for tree in &self.trees {
                // Eight rows walk the tree in lockstep: independent loads the CPU overlaps.
                for (g, group) in chunk.chunks_mut(8).enumerate() {
                    let base = g * 8;
                    let mut at = [0u32; 8];
                    for _ in 0..depth {
                        for (k, i) in at.iter_mut().enumerate().take(group.len()) {
                            let r = (base + k) * d;
                            *i = step(tree, *i, &rows[r..r + d]);
                        }
                    }
                    for (o, i) in group.iter_mut().zip(at) {
                        *o += tree[i as usize].value;
                    }
                }
            }
            chunk.iter_mut().for_each(|o| *o = 2f64.powf(-*o / norm));
        }
    }

    /// The scores by the pointer walk alone (what the flat layout must reproduce to the bit).
    #[cfg(test)]
    fn score_by_walk(&self, row: &[f64]) -> f64 {
        let depth = self.depth();
        let mut total = 0.0;
        for tree in &self.trees {
            let mut i = 0;
            for _ in 0..depth {
                i = step(tree, i, row);
            }
            total += tree[i as usize].value;
        }
        2f64.powf(-total / self.norm())
    }

    /// Checks a loaded model: trees present, every child index inside its tree, every feature a column.
    pub(crate) fn check(&self) -> Result<()> {
        let bad = |reason: &str| {
            Err(Error::Model {
                operation: "load",
                reason: format!("isolation forest: {reason}"),
                cause: None,
            })
        };
        if self.trees.is_empty() || self.n_features == 0 || self.max_samples == 0 {
            return bad("no trees, features or samples");
        }
        limits::loaded_at_most("isolation forest trees", self.trees.len(), limits::MAX_TREES)?;
        limits::loaded_at_most("isolation forest columns", self.n_features, limits::MAX_COLUMNS)?;
        limits::loaded_at_most("isolation forest samples", self.max_samples, limits::MAX_SAMPLES)?;
        for tree in &self.trees {
            let n = tree.len() as u32;
            if n == 0
                || tree
                    .iter()
                    .any(|t| t.left >= n || t.right >= n || t.feature as usize >= self.n_features)
            {
                return bad("a node points outside its tree or its features");
            }
        }
        IsolationForestBuilder(self.params.clone()).build().map(|_| ())
    }

    /// The height limit of every tree: `ceil(log2(max_samples))`.
    fn depth(&self) -> usize {
        (self.max_samples.max(2) as f64).log2().ceil() as usize
    }

    /// `c(max_samples)` times the number of trees: the score is `2^(-total path / norm)`.
    fn norm(&self) -> f64 {
        average_path_length(self.max_samples).max(f64::MIN_POSITIVE) * self.trees.len() as f64
    }

    /// The number of trees.
    pub fn n_trees(&self) -> usize {
        self.trees.len()
    }
}

impl FittedDetector for FittedIsolationForest {
    fn name(&self) -> &str {
        "isolation_forest"
    }

    fn n_features(&self) -> usize {
        self.n_features
    }

    fn threshold(&self) -> f64 {
        self.threshold
    }

    fn set_threshold(&mut self, threshold: f64) {
        self.threshold = threshold;
    }

    fn score(&self, x: ArrayView2<f64>) -> Result<Array1<f64>> {
        input::check("rows to score", x, self.n_features)?;
        let n = x.nrows();
        let mut out = vec![0.0; n];
        // Small batches stay on this thread: handing work to the pool costs more than scoring a few rows.
        let parts = match self.params.threads {
            _ if n < 1024 => 1,
            0 => rayon::current_num_threads() * 4,
            t => t,
        };
        if parts <= 1 {
            self.score_rows(x, &mut out);
        } else {
            // Blocks of whole rows on rayon's pool; each row's score is computed exactly as on one thread.
            let chunk = n.div_ceil(parts).max(256);
            out.par_chunks_mut(chunk).enumerate().for_each(|(k, part)| {
                let rows = x.slice_axis(
                    ndarray::Axis(0),
                    ndarray::Slice::from(k * chunk..k * chunk + part.len()),
                );
                self.score_rows(rows, part);
            });
        }
        Ok(Array1::from(out))
    }

    fn update(&mut self, row: ArrayView1<f64>) -> Result<f64> {
        input::check_row("row to score", row, self.n_features)?;
        Ok(match row.as_slice() {
            Some(r) => self.score_row(r),
            None => self.score_row(&row.to_vec()),
        })
    }

    fn reset(&mut self) {}

    /// What each feature adds to the score: how far the score falls when that feature alone takes the typical
    /// training value (of five percentiles) that fits the rest of the row best. A model saved without those
    /// values cannot tell.
    fn explain(&self, row: ArrayView1<f64>) -> Option<Vec<f64>> {
        let d = self.n_features;
        if row.len() != d || self.typical.len() != d || !row.iter().all(|v| v.is_finite()) {
            return None;
        }
        let whole = self.score_row(&row.to_vec());
        // Every (feature, typical value) variant of the row, scored in one batch.
        let tried = ndarray::Array2::from_shape_fn((d * 5, d), |(k, j)| {
            if j == k / 5 {
                self.typical[j][k % 5]
            } else {
                row[j]
            }
        });
        let mut scores = vec![0.0; d * 5];
        self.score_rows(tried.view(), &mut scores);
        let by_feature = scores
            .chunks(5)
            .map(|c| whole - c.iter().copied().fold(f64::INFINITY, f64::min))
            .collect();
        crate::detector::shares(by_feature)
    }
}

#[cfg(test)]
mod tests;
