//! The remaining-useful-life model: gradient-boosted trees on causal features, one booster per fold of units,
//! their mean as the estimate, and the folds' out-of-sample errors as the conformal calibration.

use forust_ml::objective::ObjectiveType;
use forust_ml::{GradientBooster, Matrix};
use ndarray::ArrayView2;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

use super::conformal::Conformal;
use super::features::{FeatureSpec, Features};
use super::forest::Forest;
use super::options::check_options;
pub use super::options::{RulOptions, Trees};
use crate::{Error, Result};

/// A fitted model: stream a unit's cycles through [`RulModel::stream`]. (It does not deserialise: a model read
/// back must be checked before it scores, and that check is not written yet.)
#[derive(Debug, Clone, PartialEq)]
pub struct RulModel {
    spec: FeatureSpec,
    width: usize,
    cap: f64,
    forests: Vec<Forest>,
    conformal: Conformal,
}

/// One cycle's estimate of the remaining life, with its interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RulEstimate {
    /// The cycle (1 for a unit's first).
    pub cycle: usize,
    /// The estimate, in cycles.
    pub rul: f64,
    /// The interval's low end (never below 0).
    pub low: f64,
    /// The interval's high end (never above the cap).
    pub high: f64,
}

impl RulModel {
    /// Fits on run-to-failure histories: each unit's rows are its cycles in order, the last one its failure.
    pub fn fit(units: &[ArrayView2<'_, f64>], options: &RulOptions) -> Result<RulModel> {
        let width = check_units(units, options)?;
        let targets: Vec<Vec<f64>> = units
            .iter()
            .map(|u| {
                (0..u.nrows())
                    .map(|i| ((u.nrows() - 1 - i) as f64).min(options.cap))
                    .collect()
            })
            .collect();
        let columns = match &options.columns {
            Some(c) => c.clone(),
            None => correlated(units, &targets, options.min_correlation),
        };
        let (short, long, baseline) = options.windows;
        let spec = FeatureSpec {
            columns,
            short,
            long,
            baseline,
        };
        spec.check()?;
        let feats: Vec<Vec<Vec<f64>>> = units.iter().map(|u| featurise(&spec, u)).collect::<Result<_>>()?;
        let mut order: Vec<usize> = (0..units.len()).collect();
        order.shuffle(&mut Xoshiro256PlusPlus::seed_from_u64(options.seed));
        let fold_of = |u: usize| order.iter().position(|&o| o == u).unwrap_or(0) % options.folds;
        let (mut forests, mut pred, mut truth) = (Vec::new(), Vec::new(), Vec::new());
        for k in 0..options.folds {
            let train: Vec<usize> = (0..units.len()).filter(|&u| fold_of(u) != k).collect();
            let forest = fit_booster(
                &feats,
                &targets,
                &train,
                spec.width(),
                &options.trees,
                options.seed.wrapping_add(k as u64),
            )?;
            for u in (0..units.len()).filter(|&u| fold_of(u) == k) {
                for (row, &t) in feats[u].iter().zip(&targets[u]) {
                    pred.push(forest.predict(row).clamp(0.0, options.cap));
                    truth.push(t);
                }
            }
            forests.push(forest);
        }
        let conformal = Conformal::fit(&pred, &truth, options.coverage, options.bins)?;
        Ok(RulModel {
            spec,
            width,
            cap: options.cap,
            forests,
            conformal,
        })
    }

    /// A new unit to stream, cycle by cycle.
    pub fn stream(&self) -> RulStream<'_> {
        RulStream {
            model: self,
            features: Features::fresh(&self.spec),
        }
    }

    /// Every cycle's estimate for one unit's rows, as streaming them would give.
    pub fn predict_unit(&self, unit: ArrayView2<'_, f64>) -> Result<Vec<RulEstimate>> {
        let mut s = self.stream();
        unit.rows()
            .into_iter()
            .map(|r| s.push(r.as_slice().unwrap_or(&r.to_vec())))
            .collect()
    }

    /// The raw rows' width the model was fitted on.
    pub fn width(&self) -> usize {
        self.width
    }

    /// The feature spec chosen at fit (the columns kept).
    pub fn spec(&self) -> &FeatureSpec {
        &self.spec
    }

    /// Trees in all the fold boosters.
    pub fn trees(&self) -> usize {
        self.forests.iter().map(Forest::trees).sum()
    }

    /// The feature state of a new unit, for [`RulModel::push`].
    pub fn unit(&self) -> Features {
        Features::fresh(&self.spec)
    }

    /// Takes a unit's next cycle into `features` (made by [`RulModel::unit`]) and
    /// returns the estimate after it: [`RulStream`] without the borrow, for a unit kept elsewhere. A bad row
    /// is refused and changes nothing.
    pub fn push(&self, features: &mut Features, raw: &[f64]) -> Result<RulEstimate> {
        if raw.len() != self.width {
            return Err(Error::Shape {
                what: "a cycle's row",
                expected: self.width,
                got: raw.len(),
            });
        }
        let cycle = features.cycles() + 1;
        let f = features.push(raw)?;
        if f.len() != self.spec.width() {
            return Err(Error::Shape {
                what: "the features",
                expected: self.spec.width(),
                got: f.len(),
            });
        }
        Ok(self.estimate(cycle, f))
    }

    fn estimate(&self, cycle: usize, features: &[f64]) -> RulEstimate {
        let n = self.forests.len() as f64;
        let rul = (self.forests.iter().map(|f| f.predict(features)).sum::<f64>() / n).clamp(0.0, self.cap);
        let (lo, hi) = self.conformal.interval(rul);
        RulEstimate {
            cycle,
            rul,
            low: lo.max(0.0),
            high: hi.min(self.cap),
        }
    }
}

/// One unit's cycles streamed through a model.
///
/// ```no_run
/// # use aeroguard_prognostics::rul::RulModel;
/// # fn demo(model: &RulModel, cycles: &[Vec<f64>]) -> aeroguard_prognostics::Result<()> {
/// let mut unit = model.stream();
/// for raw in cycles {
///     let e = unit.push(raw)?;
///     println!("cycle {}: {:.0} cycles left ({:.0} to {:.0})", e.cycle, e.rul, e.low, e.high);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct RulStream<'m> {
    model: &'m RulModel,
    features: Features,
}

impl RulStream<'_> {
    /// Takes the unit's next cycle (a raw row as wide as the training rows) and returns the estimate after it.
    pub fn push(&mut self, raw: &[f64]) -> Result<RulEstimate> {
        if raw.len() != self.model.width {
            return Err(Error::Shape {
                what: "a cycle's row",
                expected: self.model.width,
                got: raw.len(),
            });
        }
        let cycle = self.features.cycles() + 1;
        let features = self.features.push(raw)?;
        Ok(self.model.estimate(cycle, features))
    }
}

fn check_units(units: &[ArrayView2<'_, f64>], options: &RulOptions) -> Result<usize> {
    check_options(options)?;
    if units.len() < options.folds {
        return Err(Error::TooFewUnits {
            what: "fitting with folds",
            needed: options.folds,
            got: units.len(),
        });
    }
    let width = units[0].ncols();
    let mut seen = 0;
    for u in units {
        if u.nrows() == 0 {
            return Err(Error::Empty {
                what: "a unit's history",
            });
        }
        if u.ncols() != width {
            return Err(Error::Shape {
                what: "a unit's history",
                expected: width,
                got: u.ncols(),
            });
        }
        for (i, row) in u.rows().into_iter().enumerate() {
            if let Some(c) = row.iter().position(|x| !x.is_finite()) {
                return Err(Error::NonFinite {
                    what: "cycle",
                    index: seen + i,
                    column: c,
                });
            }
        }
        seen += u.nrows();
    }
    if let Some(&c) = options.columns.iter().flatten().find(|&&c| c >= width) {
        let reason = "names a column past the rows' width";
        return Err(Error::InvalidParameter {
            name: "columns",
            value: c.to_string(),
            reason,
        });
    }
    if seen > MAX_CYCLES || seen.saturating_mul(width) > MAX_VALUES {
        let value = format!("{seen} cycles of {width} columns");
        return Err(Error::InvalidParameter {
            name: "units",
            value,
            reason: "at most 10 million cycles and 100 million values",
        });
    }
    Ok(width)
}

/// Most cycles, and values (cycles × columns), one fit takes.
pub const MAX_CYCLES: usize = 10_000_000;
/// See [`MAX_CYCLES`].
pub const MAX_VALUES: usize = 100_000_000;

/// The columns whose correlation with the remaining life is at least `min` in magnitude.
fn correlated(units: &[ArrayView2<'_, f64>], targets: &[Vec<f64>], min: f64) -> Vec<usize> {
    let width = units[0].ncols();
    let y: Vec<f64> = targets.iter().flatten().copied().collect();
    let y_mean = y.iter().sum::<f64>() / y.len() as f64;
    (0..width)
        .filter(|&c| {
            let x: Vec<f64> = units.iter().flat_map(|u| u.column(c).to_vec()).collect();
            let x_mean = x.iter().sum::<f64>() / x.len() as f64;
            let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
            for (a, b) in x.iter().zip(&y) {
                sxy += (a - x_mean) * (b - y_mean);
                sxx += (a - x_mean).powi(2);
                syy += (b - y_mean).powi(2);
            }
            sxx > 0.0 && syy > 0.0 && (sxy / (sxx * syy).sqrt()).abs() >= min
        })
        .collect()
}

fn featurise(spec: &FeatureSpec, unit: &ArrayView2<'_, f64>) -> Result<Vec<Vec<f64>>> {
    let mut f = Features::fresh(spec);
    unit.rows()
        .into_iter()
        .map(|r| Ok(f.push(&r.to_vec())?.to_vec()))
        .collect()
}

fn fit_booster(
    feats: &[Vec<Vec<f64>>],
    targets: &[Vec<f64>],
    train: &[usize],
    width: usize,
    trees: &Trees,
    seed: u64,
) -> Result<Forest> {
    let rows: Vec<&Vec<f64>> = train.iter().flat_map(|&u| feats[u].iter()).collect();
    let y: Vec<f64> = train.iter().flat_map(|&u| targets[u].iter().copied()).collect();
    let mut columns = vec![0.0; rows.len() * width];
    for (i, r) in rows.iter().enumerate() {
        for (j, &x) in r.iter().enumerate() {
            columns[j * rows.len() + i] = x;
        }
    }
    let data = Matrix::new(&columns, rows.len(), width);
    let mut booster = GradientBooster::default()
        .set_objective_type(ObjectiveType::SquaredLoss)
        .set_iterations(trees.iterations)
        .set_learning_rate(trees.learning_rate)
        .set_max_depth(trees.max_depth)
        .set_min_leaf_weight(trees.min_leaf_weight)
        .set_subsample(trees.subsample)
        .set_seed(seed);
    let weights = vec![1.0; y.len()];
    booster
        .fit(&data, &y, &weights, None)
        .map_err(|e| Error::Training(e.to_string()))?;
    Ok(Forest::from_booster(&booster))
}
