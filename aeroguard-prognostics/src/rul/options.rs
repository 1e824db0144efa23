//! The remaining-life model's settings, and their checks.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// How the model is fitted. The defaults are those the `cmapss` example measures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RulOptions {
    /// Remaining lives above this are taken as this (early cycles show no wear to tell them apart).
    pub cap: f64,
    /// The boosters' settings.
    pub trees: Trees,
    /// The share of outcomes the intervals are calibrated to cover.
    pub coverage: f64,
    /// Folds of units: one booster per fold, fitted on the others, whose errors on its fold calibrate.
    pub folds: usize,
    /// Bins of predicted value with intervals of their own.
    pub bins: usize,
    /// Columns kept: `None` keeps those whose correlation with the remaining life is at least `min_correlation`.
    pub columns: Option<Vec<usize>>,
    /// See `columns`.
    pub min_correlation: f64,
    /// Cycles in the short mean, the long mean and slope, and the unit's baseline ([`FeatureSpec`](super::FeatureSpec)).
    pub windows: (usize, usize, usize),
    /// The seed of the assignment of units to folds.
    pub seed: u64,
}

impl Default for RulOptions {
    fn default() -> Self {
        RulOptions {
            cap: 125.0,
            trees: Trees::default(),
            coverage: 0.9,
            folds: 5,
            bins: 4,
            columns: None,
            min_correlation: 0.05,
            windows: (5, 30, 15),
            seed: 7,
        }
    }
}

/// Gradient boosting's settings (XGBoost's meaning). Fixed before any data is seen: nothing here is tuned on
/// the units that score it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trees {
    /// Trees per booster.
    pub iterations: usize,
    /// Shrinkage of each tree.
    pub learning_rate: f32,
    /// Depth of each tree.
    pub max_depth: usize,
    /// Least hessian (here: rows) in a leaf.
    pub min_leaf_weight: f32,
    /// Share of rows each tree sees.
    pub subsample: f32,
}

impl Default for Trees {
    fn default() -> Self {
        Trees {
            iterations: 200,
            learning_rate: 0.05,
            max_depth: 5,
            min_leaf_weight: 20.0,
            subsample: 0.8,
        }
    }
}

pub(crate) fn check_options(o: &RulOptions) -> Result<()> {
    let t = &o.trees;
    let checks: [(&'static str, String, bool, &'static str); 7] = [
        ("folds", o.folds.to_string(), o.folds >= 2, "must be at least 2"),
        (
            "cap",
            o.cap.to_string(),
            o.cap.is_finite() && o.cap > 0.0,
            "must be a positive number of cycles",
        ),
        (
            "min_correlation",
            o.min_correlation.to_string(),
            (0.0..1.0).contains(&o.min_correlation),
            "must be in [0, 1)",
        ),
        (
            "trees.iterations",
            t.iterations.to_string(),
            (1..=10_000).contains(&t.iterations),
            "must be 1 to 10000",
        ),
        (
            "trees.learning_rate",
            t.learning_rate.to_string(),
            t.learning_rate > 0.0 && t.learning_rate <= 1.0,
            "must be in (0, 1]",
        ),
        (
            "trees.max_depth",
            t.max_depth.to_string(),
            (1..=16).contains(&t.max_depth),
            "must be 1 to 16",
        ),
        (
            "trees.subsample",
            t.subsample.to_string(),
            t.subsample > 0.0 && t.subsample <= 1.0,
            "must be in (0, 1]",
        ),
    ];
    for (name, value, ok, reason) in checks {
        if !ok {
            return Err(Error::InvalidParameter { name, value, reason });
        }
    }
    if !(t.min_leaf_weight >= 0.0 && t.min_leaf_weight.is_finite()) {
        let value = t.min_leaf_weight.to_string();
        return Err(Error::InvalidParameter {
            name: "trees.min_leaf_weight",
            value,
            reason: "must be 0 or more",
        });
    }
    Ok(())
}
