//! A fitted booster flattened for scoring one cycle at a time: all the trees' nodes in one array, no allocation
//! per cycle, and a form that serialises with the model.

use forust_ml::GradientBooster;
/// One node: a split (`left < 0` marks a leaf, whose value is `value`).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Node {
    feature: u32,
    left: i32,
    right: u32,
    value: f64,
}

/// The trees of one booster, flattened.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Forest {
    base: f64,
    nodes: Vec<Node>,
    roots: Vec<u32>,
}

impl Forest {
    /// Flattens `booster`'s prediction trees.
    pub(crate) fn from_booster(booster: &GradientBooster) -> Forest {
        let mut forest = Forest {
            base: booster.base_score,
            nodes: Vec::new(),
            roots: Vec::new(),
        };
        for tree in &booster.trees {
            // A tree's nodes are numbered from its root, 0, in one vector.
            let start = forest.nodes.len();
            let slot = |id: usize| start + id;
            for n in &tree.nodes {
                forest.nodes.push(if n.is_leaf {
                    Node {
                        feature: 0,
                        left: -1,
                        right: 0,
                        value: f64::from(n.weight_value),
                    }
                } else {
                    Node {
                        feature: n.split_feature as u32,
                        left: slot(n.left_child) as i32,
                        right: slot(n.right_child) as u32,
                        value: n.split_value,
                    }
                });
            }
            forest.roots.push(slot(0) as u32);
        }
        forest
    }

    /// The prediction for one row of features (finite, as wide as the training rows).
    pub(crate) fn predict(&self, row: &[f64]) -> f64 {
        let mut sum = self.base;
        for &root in &self.roots {
            let mut i = root as usize;
            loop {
                let n = self.nodes[i];
                if n.left < 0 {
                    sum += n.value;
                    break;
                }
                i = if row[n.feature as usize] < n.value {
                    n.left as usize
                } else {
                    n.right as usize
                };
            }
        }
        sum
    }

    /// How many trees.
    pub(crate) fn trees(&self) -> usize {
        self.roots.len()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use forust_ml::objective::ObjectiveType;
    use forust_ml::{GradientBooster, Matrix};

    use super::Forest;

    /// The flattened trees predict exactly what the booster predicts.
    #[test]
    fn flattened_trees_predict_as_the_booster() {
        let rows = 400;
        let mut columns = vec![0.0; rows * 3];
        let mut y = vec![0.0; rows];
        for i in 0..rows {
            let (a, b, c) = (
                (i % 17) as f64,
                (i % 5) as f64 * 0.3,
                ((i * 7919) % 101) as f64 / 101.0,
            );
            columns[i] = a;
            columns[rows + i] = b;
            columns[2 * rows + i] = c;
            y[i] = a * a - 3.0 * b + if c > 0.5 { 10.0 } else { 0.0 };
        }
        let data = Matrix::new(&columns, rows, 3);
        let mut booster = GradientBooster::default()
            .set_objective_type(ObjectiveType::SquaredLoss)
            .set_iterations(40)
            .set_max_depth(4);
        booster.fit(&data, &y, &vec![1.0; rows], None).unwrap();
        let expected = booster.predict(&data, false);
        let forest = Forest::from_booster(&booster);
        assert_eq!(forest.trees(), 40);
        for i in 0..rows {
            let row = [columns[i], columns[rows + i], columns[2 * rows + i]];
            assert!((forest.predict(&row) - expected[i]).abs() < 1e-9, "row {i}");
        }
        let spread = expected.iter().cloned().fold(f64::NEG_INFINITY, f64::max)
            - expected.iter().cloned().fold(f64::INFINITY, f64::min);
        assert!(spread > 100.0, "the booster learnt nothing: spread {spread}");
    }
}
