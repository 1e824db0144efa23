//! The trees of the forest: growing one on a sample, and walking a row down it.

use ndarray::ArrayView2;
use rand::Rng;
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

use super::average_path_length;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(super) struct Node {
    /// Split value; for a leaf, the path length it contributes (depth + c(size)).
    pub value: f64,
    pub feature: u32,
    pub left: u32,
    pub right: u32,
}

pub(super) struct Grower<'a> {
    pub x: ArrayView2<'a, f64>,
    pub max_depth: usize,
    pub rng: Xoshiro256PlusPlus,
    pub nodes: Vec<Node>,
    pub features: Vec<usize>,
}

impl Grower<'_> {
    pub fn grow(&mut self, idx: &mut [usize], depth: usize) -> u32 {
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

/// One step down `tree` from node `i` for `row`.
#[inline(always)]
pub(super) fn step(tree: &[Node], i: u32, row: &[f64]) -> u32 {
    let n = &tree[i as usize];
    if row[n.feature as usize] <= n.value {
        n.left
    } else {
        n.right
    }
}

/// Refuses a forest whose trees would take more than
/// [`MAX_TRAINING_BYTES`](crate::limits::MAX_TRAINING_BYTES): each tree holds at most two nodes per sample drawn,
/// kept twice (as grown and flattened for scoring). Trees and samples are each bounded; their product is not.
pub(super) fn check_size(trees: usize, samples: usize) -> crate::Result<()> {
    let node = std::mem::size_of::<Node>() as u128;
    let bytes = (trees as u128) * 2 * (samples as u128) * node * 2;
    if bytes <= crate::limits::MAX_TRAINING_BYTES as u128 {
        return Ok(());
    }
    Err(crate::Error::InvalidParameter {
        name: "forest size",
        value: format!(
            "{trees} trees x {samples} samples: about {:.1} GiB (the limit is {} GiB)",
            bytes as f64 / f64::from(1u32 << 30),
            crate::limits::MAX_TRAINING_BYTES >> 30
        ),
        reason: "past its limit (aeroguard_detect::limits::MAX_TRAINING_BYTES): fewer trees or samples",
    })
}
