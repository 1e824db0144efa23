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
use rand::{Rng, RngCore, SeedableRng, seq::index};
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

use crate::{Calibration, Detector, Error, FittedDetector, Result, input};

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
    n_estimators: usize,
    max_samples: MaxSamples,
    seed: u64,
    calibration: Calibration,
    threads: usize,
}

/// Builds [`IsolationForest`] parameters; every setter's name is the parameter's name in errors.
#[derive(Debug, Clone)]
pub struct IsolationForestBuilder(IsolationForest);

impl IsolationForest {
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

impl IsolationForestBuilder {
    /// The number of trees.
    pub fn n_estimators(mut self, n: usize) -> Self {
        self.0.n_estimators = n;
        self
    }
    /// Rows per tree.
    pub fn max_samples(mut self, m: MaxSamples) -> Self {
        self.0.max_samples = m;
        self
    }
    /// The seed: the same seed and data give the same model.
    pub fn seed(mut self, seed: u64) -> Self {
        self.0.seed = seed;
        self
    }
    /// How the threshold is set from the training scores.
    pub fn calibration(mut self, c: Calibration) -> Self {
        self.0.calibration = c;
        self
    }
    /// scikit-learn's `contamination`: the expected fraction of anomalies in the training data.
    pub fn contamination(self, c: f64) -> Self {
        self.calibration(Calibration::Contamination(c))
    }
    /// Threads for batch scoring (0: one per core).
    pub fn threads(mut self, n: usize) -> Self {
        self.0.threads = n;
        self
    }
    /// Validates the parameters.
    pub fn build(self) -> Result<IsolationForest> {
        let p = self.0;
        if p.n_estimators == 0 {
            return Err(Error::parameter(
                "n_estimators",
                p.n_estimators,
                "must be at least 1",
            ));
        }
        match p.max_samples {
            MaxSamples::Count(0) => return Err(Error::parameter("max_samples", 0, "must be at least 1")),
            MaxSamples::Fraction(f) if !(f > 0.0 && f <= 1.0) => {
                return Err(Error::parameter("max_samples", f, "a fraction lies in (0, 1]"));
            }
            _ => {}
        }
        p.calibration.validate()?;
        Ok(p)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct Node {
    /// Split value; for a leaf, the path length it contributes (depth + c(size)).
    value: f64,
    feature: u32,
    left: u32,
    right: u32,
}

/// A fitted isolation forest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedIsolationForest {
    params: IsolationForest,
    n_features: usize,
    max_samples: usize,
    trees: Vec<Vec<Node>>,
    threshold: f64,
}

struct Grower<'a> {
    x: ArrayView2<'a, f64>,
    max_depth: usize,
    rng: Xoshiro256PlusPlus,
    nodes: Vec<Node>,
    features: Vec<usize>,
}

impl Grower<'_> {
    fn grow(&mut self, idx: &mut [usize], depth: usize) -> u32 {
        let me = self.nodes.len() as u32;
        // A leaf points to itself both ways, so a walk of exactly `depth limit` steps ends on it (no branch on
        // leaf-ness in the scoring loop).
        self.nodes.push(Node {
            value: 0.0,
            feature: 0,
            left: me,
            right: me,
        });
        let leaf = |g: &mut Self| {
            g.nodes[me as usize].value = depth as f64 + average_path_length(idx.len());
            me
        };
        if idx.len() <= 1 || depth >= self.max_depth {
            return leaf(self);
        }
        // Draw features at random until one is not constant here (scikit-learn's random splitter).
        let mut remaining = self.features.len();
        let split = loop {
            if remaining == 0 {
                break None;
            }
            let pick = self.rng.gen_range(0..remaining);
            self.features.swap(pick, remaining - 1);
            remaining -= 1;
            let f = self.features[remaining];
            let (lo, hi) = idx
                .iter()
                .map(|&i| self.x[[i, f]])
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                    (a.min(v), b.max(v))
                });
            if hi > lo {
                let mut t = lo + (hi - lo) * self.rng.r#gen::<f64>();
                if t >= hi {
                    t = lo;
                }
                break Some((f, t));
            }
        };
        let Some((f, t)) = split else { return leaf(self) };
        let mut mid = 0;
        for k in 0..idx.len() {
            if self.x[[idx[k], f]] <= t {
                idx.swap(k, mid);
                mid += 1;
            }
        }
        let (l, r) = idx.split_at_mut(mid);
        let left = self.grow(l, depth + 1);
        let right = self.grow(r, depth + 1);
        self.nodes[me as usize] = Node {
            value: t,
            feature: f as u32,
            left,
            right,
        };
        me
    }
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
        };
        let train = model.score(x)?;
        model.threshold = model
            .params
            .calibration
            .threshold(train.as_slice().unwrap_or(&train.to_vec()))?;
        Ok(model)
    }
}

/// One step down `tree` from node `i` for `row`.
#[inline(always)]
fn step(tree: &[Node], i: u32, row: &[f64]) -> u32 {
    let n = &tree[i as usize];
    if row[n.feature as usize] <= n.value {
        n.left
    } else {
        n.right
    }
}

/// The path length of `row` in `tree`: its leaf's depth plus `c(leaf size)`.
#[inline]
fn path(tree: &[Node], depth: usize, row: &[f64]) -> f64 {
    let mut i = 0;
    for _ in 0..depth {
        i = step(tree, i, row);
    }
    tree[i as usize].value
}

impl FittedIsolationForest {
    fn score_row(&self, row: &[f64]) -> f64 {
        let depth = self.depth();
        let total: f64 = self.trees.iter().map(|t| path(t, depth, row)).sum();
        2f64.powf(-total / self.norm())
    }

    /// Scores rows in blocks, tree by tree, so each tree stays in cache while a block of rows walks it.
    fn score_rows(&self, x: ArrayView2<f64>, out: &mut [f64]) {
        const BLOCK: usize = 128;
        let d = x.ncols();
        let norm = self.norm();
        let mut rows = vec![0.0; BLOCK * d];
        for (start, chunk) in (0..).step_by(BLOCK).zip(out.chunks_mut(BLOCK)) {
            for (k, r) in x.outer_iter().skip(start).take(chunk.len()).enumerate() {
                rows[k * d..(k + 1) * d]
                    .iter_mut()
                    .zip(r.iter())
                    .for_each(|(a, b)| *a = *b);
            }
            chunk.iter_mut().for_each(|o| *o = 0.0);
            let depth = self.depth();
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

    /// Checks a loaded model: trees present, every child index inside its tree, every feature a column.
    pub(crate) fn check(&self) -> Result<()> {
        let bad = |reason: &str| {
            Err(Error::Model {
                operation: "load",
                reason: format!("isolation forest: {reason}"),
            })
        };
        if self.trees.is_empty() || self.n_features == 0 || self.max_samples == 0 {
            return bad("no trees, features or samples");
        }
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
        // Small batches stay on this thread, and ask nothing of the OS: `available_parallelism` reads cgroup
        // files, which costs more than scoring a few rows.
        let threads = match self.params.threads {
            _ if n < 1024 => 1,
            0 => std::thread::available_parallelism().map_or(1, |t| t.get()),
            t => t,
        };
        if threads <= 1 {
            self.score_rows(x, &mut out);
        } else {
            let chunk = n.div_ceil(threads);
            std::thread::scope(|s| {
                for (k, part) in out.chunks_mut(chunk).enumerate() {
                    let rows = x.slice_axis(
                        ndarray::Axis(0),
                        ndarray::Slice::from(k * chunk..k * chunk + part.len()),
                    );
                    s.spawn(move || self.score_rows(rows, part));
                }
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array2, array};

    fn data() -> Array2<f64> {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
        Array2::from_shape_fn((500, 3), |_| rng.r#gen::<f64>())
    }

    #[test]
    fn c_of_n_matches_scikit_learn() {
        // sklearn.ensemble._iforest._average_path_length([256]) == 10.244770920116851
        assert!((average_path_length(256) - 10.244_770_920_116_851).abs() < 1e-9);
        assert_eq!(average_path_length(2), 1.0);
    }

    #[test]
    fn outliers_score_higher_and_seed_is_deterministic() {
        let x = data();
        let p = IsolationForest::builder().seed(3).build().unwrap();
        let a = p.fit(x.view()).unwrap();
        let b = p.fit(x.view()).unwrap();
        assert_eq!(a, b);
        let s = a.score(array![[0.5, 0.5, 0.5], [5.0, -3.0, 9.0]].view()).unwrap();
        assert!(s[1] > 0.6 && s[0] < 0.5, "{s}");
        let c = IsolationForest::builder()
            .seed(4)
            .build()
            .unwrap()
            .fit(x.view())
            .unwrap();
        assert_ne!(a, c);
    }

    #[test]
    fn contamination_flags_that_fraction_of_training_rows() {
        let x = data();
        let m = IsolationForest::builder()
            .contamination(0.05)
            .build()
            .unwrap()
            .fit(x.view())
            .unwrap();
        let flagged = m.is_anomaly(x.view()).unwrap().iter().filter(|a| **a).count();
        assert!((20..=30).contains(&flagged), "{flagged}");
    }

    #[test]
    fn parallel_and_streaming_agree_with_serial() {
        let x = data();
        let serial = IsolationForest::builder()
            .threads(1)
            .build()
            .unwrap()
            .fit(x.view())
            .unwrap();
        let mut parallel = serial.clone();
        parallel.params.threads = 2;
        let big = Array2::from_shape_fn((3000, 3), |(i, j)| ((i * 31 + j * 7) % 101) as f64 / 50.0);
        assert_eq!(
            serial.score(big.view()).unwrap(),
            parallel.score(big.view()).unwrap()
        );
        let batch = serial.score(big.view()).unwrap();
        for (i, r) in big.outer_iter().enumerate().take(50) {
            assert_eq!(parallel.update(r).unwrap(), batch[i]);
        }
    }

    #[test]
    fn bad_input_is_typed() {
        assert!(matches!(
            IsolationForest::builder().n_estimators(0).build(),
            Err(Error::InvalidParameter {
                name: "n_estimators",
                ..
            })
        ));
        assert!(matches!(
            IsolationForest::builder()
                .max_samples(MaxSamples::Fraction(2.0))
                .build(),
            Err(Error::InvalidParameter {
                name: "max_samples",
                ..
            })
        ));
        let p = IsolationForest::builder().build().unwrap();
        assert!(matches!(
            p.fit(Array2::zeros((1, 3)).view()),
            Err(Error::NotEnoughRows { .. })
        ));
        let mut bad = data();
        bad[[7, 1]] = f64::NAN;
        assert!(matches!(
            p.fit(bad.view()),
            Err(Error::NonFinite {
                row: 7,
                column: 1,
                ..
            })
        ));
        let m = p.fit(data().view()).unwrap();
        assert!(matches!(
            m.score(Array2::zeros((2, 4)).view()),
            Err(Error::Shape {
                expected: 3,
                got: 4,
                ..
            })
        ));
    }
}
