//! One typed constructor per detector: the parameters scikit-learn users know, validated by the Rust builder.
//! A parameter left at None takes the builder's default, and `defaults()` reads those defaults back from the
//! builders, so they live in one place: the Python classes take their signatures from it.

use aeroguard_detect::neural::Training;
use aeroguard_detect::{
    Algorithm, Calibration, ClusterProfile, Detector, IsolationForest, LearnRules, MaxSamples, Model, Rule,
    RuleSet, Settle, Side,
};

mod neural;
mod relations;
mod shift;
mod surprise;

pub use neural::{AutoencoderParams, ConvAutoencoderParams, LstmParams};
use numpy::PyReadonlyArray2;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
pub use relations::RelationsParams;
pub use shift::LevelShiftParams;
pub use surprise::SurpriseParams;

use crate::ints::{Int, opt};
use crate::model::FittedModel;

/// Fits `d` on `x` without the GIL.
pub(crate) fn fit<D>(
    py: Python<'_>,
    d: &D,
    x: PyReadonlyArray2<'_, f64>,
) -> crate::errors::Result<FittedModel>
where
    D: Detector + Sync,
    D::Fitted: Into<Model> + Send,
{
    let view = x.as_array();
    let fitted = py.detach(|| d.fit(view))?;
    Ok(FittedModel::new(fitted.into()))
}

/// `settle=(peak_release, rearm, rows)`, a tuple or a list of three (a saved detector's parameters come back
/// from JSON as a list), as a [`Settle`]; `None` is none.
pub(crate) fn settle(v: Option<&Bound<'_, PyAny>>) -> crate::errors::Result<Option<Settle>> {
    let Some(v) = v.filter(|v| !v.is_none()) else {
        return Ok(None);
    };
    let shape =
        || PyValueError::new_err("settle must be (peak_release, rearm, rows), as (0.3, 1.0, 400), or None");
    let items: Vec<Bound<'_, PyAny>> = v.extract().map_err(|_| shape())?;
    let [peak, rearm, rows] = &items[..] else {
        return Err(shape().into());
    };
    let rows: Int<usize> = rows.extract()?;
    Ok(Some(Settle::new(peak.extract()?, rearm.extract()?, rows.0)?))
}

/// A [`Settle`] as Python sees it: `(peak_release, rearm, rows)` or None.
pub(crate) fn settle_tuple(s: Option<Settle>) -> Option<(f64, f64, usize)> {
    s.map(|s| (s.peak_release(), s.rearm(), s.rows()))
}

/// The calibration: scikit-learn's `contamination`, or a robust z threshold, else the builder's.
pub(crate) fn calibration(
    contamination: Option<f64>,
    threshold_z: Option<f64>,
    default: Calibration,
) -> PyResult<Calibration> {
    match (contamination, threshold_z) {
        (Some(_), Some(_)) => Err(PyValueError::new_err(
            "give contamination or threshold_z, not both",
        )),
        (Some(c), None) => Ok(Calibration::Contamination(c)),
        (None, Some(z)) => Ok(Calibration::RobustZ(z)),
        (None, None) => Ok(default),
    }
}

/// Training settings, each None taking `Training::default()`'s.
#[derive(Debug, Clone, Copy, Default)]
pub struct TrainingArgs {
    pub epochs: Option<usize>,
    pub batch_size: Option<usize>,
    pub learning_rate: Option<f64>,
    pub patience: Option<usize>,
    pub validation_fraction: Option<f64>,
}

impl TrainingArgs {
    pub(crate) fn build(self) -> Training {
        let d = Training::default();
        Training {
            epochs: self.epochs.unwrap_or(d.epochs),
            batch: self.batch_size.unwrap_or(d.batch),
            learning_rate: self.learning_rate.unwrap_or(d.learning_rate),
            patience: self.patience.unwrap_or(d.patience),
            validation: self.validation_fraction.unwrap_or(d.validation),
            verbose: false,
        }
    }
}

pub(crate) fn training_defaults(d: &Bound<'_, PyDict>, t: Training) -> PyResult<()> {
    d.set_item("epochs", t.epochs)?;
    d.set_item("batch_size", t.batch)?;
    d.set_item("learning_rate", t.learning_rate)?;
    d.set_item("patience", t.patience)?;
    d.set_item("validation_fraction", t.validation)?;
    Ok(())
}

/// The robust z of a calibration, for `defaults()`.
pub(crate) fn z_of(c: Calibration) -> Option<f64> {
    match c {
        Calibration::RobustZ(z) => Some(z),
        _ => None,
    }
}

/// Isolation forest parameters (scikit-learn's names).
#[pyclass(module = "aeroguard._aeroguard", frozen)]
pub struct IsolationForestParams {
    inner: IsolationForest,
}

#[pymethods]
impl IsolationForestParams {
    #[new]
    #[pyo3(signature = (*, n_estimators = None, max_samples = None, contamination = None, random_state = None, n_jobs = None))]
    fn new(
        n_estimators: Option<Int<usize>>,
        max_samples: Option<Bound<'_, PyAny>>,
        contamination: Option<Bound<'_, PyAny>>,
        random_state: Option<Int<u64>>,
        n_jobs: Option<Int<i64>>,
    ) -> crate::errors::Result<Self> {
        let (n_estimators, random_state, n_jobs) = (opt(n_estimators), opt(random_state), opt(n_jobs));
        let d = IsolationForest::builder().build()?;
        let mut b = IsolationForest::builder()
            .n_estimators(n_estimators.unwrap_or(d.n_estimators()))
            .seed(random_state.unwrap_or(d.seed()));
        b = b.max_samples(match max_samples {
            None => d.max_samples(),
            Some(m) if m.extract::<String>().is_ok_and(|s| s == "auto") => MaxSamples::Auto,
            Some(m) if m.is_instance_of::<pyo3::types::PyInt>() => {
                MaxSamples::Count(m.extract::<Int<usize>>()?.0)
            }
            Some(m) => MaxSamples::Fraction(m.extract().map_err(|_| {
                PyValueError::new_err(format!("max_samples: {m} is not \"auto\", a count or a fraction"))
            })?),
        });
        b = b.calibration(match contamination {
            None => d.calibration(),
            Some(c) if c.extract::<String>().is_ok_and(|s| s == "auto") => d.calibration(),
            Some(c) => Calibration::Contamination(c.extract().map_err(|_| {
                PyValueError::new_err(format!("contamination: {c} is not \"auto\" or a fraction"))
            })?),
        });
        if let Some(n) = n_jobs {
            b = b.threads(if n < 1 { 0 } else { n as usize });
        }
        Ok(IsolationForestParams { inner: b.build()? })
    }

    /// The builder's defaults, by parameter.
    #[staticmethod]
    fn defaults(py: Python<'_>) -> crate::errors::Result<Bound<'_, PyDict>> {
        let p = IsolationForest::builder().build()?;
        let d = PyDict::new(py);
        d.set_item("n_estimators", p.n_estimators())?;
        d.set_item("max_samples", "auto")?;
        d.set_item("contamination", "auto")?;
        d.set_item("random_state", p.seed())?;
        d.set_item("n_jobs", py.None())?;
        Ok(d)
    }

    /// Fits on the rows of `x` (without the GIL).
    fn fit(&self, py: Python<'_>, x: PyReadonlyArray2<'_, f64>) -> crate::errors::Result<FittedModel> {
        fit(py, &self.inner, x)
    }
}

/// Clustering profile parameters: k-means (`n_clusters`) or DBSCAN (`eps`, `min_samples`).
#[pyclass(module = "aeroguard._aeroguard", frozen)]
pub struct ClusterProfileParams {
    inner: ClusterProfile,
}

#[pymethods]
impl ClusterProfileParams {
    #[new]
    #[pyo3(signature = (*, algorithm = None, n_clusters = None, eps = None, min_samples = None, whiten = None, adapt = None, contamination = None, random_state = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        algorithm: Option<&str>,
        n_clusters: Option<Int<usize>>,
        eps: Option<f64>,
        min_samples: Option<Int<usize>>,
        whiten: Option<bool>,
        adapt: Option<f64>,
        contamination: Option<f64>,
        random_state: Option<Int<u64>>,
    ) -> crate::errors::Result<Self> {
        let (n_clusters, min_samples, random_state) = (opt(n_clusters), opt(min_samples), opt(random_state));
        let d = ClusterProfile::builder().build()?;
        let default_k = match d.algorithm() {
            Algorithm::KMeans { k } => k,
            Algorithm::Dbscan { .. } => 3,
        };
        let algorithm = match algorithm.unwrap_or("kmeans") {
            "kmeans" => Algorithm::KMeans {
                k: n_clusters.unwrap_or(default_k),
            },
            "dbscan" => Algorithm::Dbscan {
                eps: eps.unwrap_or(0.5),
                min_points: min_samples.unwrap_or(5),
            },
            other => {
                return Err(crate::errors::value_error(format!(
                    "algorithm {other:?}: \"kmeans\" or \"dbscan\""
                )));
            }
        };
        let inner = ClusterProfile::builder()
            .algorithm(algorithm)
            .whiten(whiten.unwrap_or(d.whiten()))
            .adapt(adapt.or(d.adapt()))
            .calibration(contamination.map_or(d.calibration(), Calibration::Contamination))
            .seed(random_state.unwrap_or(d.seed()))
            .build()?;
        Ok(ClusterProfileParams { inner })
    }

    /// The builder's defaults, by parameter.
    #[staticmethod]
    fn defaults(py: Python<'_>) -> crate::errors::Result<Bound<'_, PyDict>> {
        let p = ClusterProfile::builder().build()?;
        let d = PyDict::new(py);
        d.set_item("algorithm", "kmeans")?;
        d.set_item(
            "n_clusters",
            match p.algorithm() {
                Algorithm::KMeans { k } => k,
                Algorithm::Dbscan { .. } => 3,
            },
        )?;
        d.set_item("eps", 0.5)?;
        d.set_item("min_samples", 5)?;
        d.set_item("whiten", p.whiten())?;
        d.set_item("adapt", p.adapt())?;
        d.set_item("contamination", py.None())?;
        d.set_item("random_state", p.seed())?;
        Ok(d)
    }

    /// Fits on the rows of `x` (without the GIL).
    fn fit(&self, py: Python<'_>, x: PyReadonlyArray2<'_, f64>) -> crate::errors::Result<FittedModel> {
        fit(py, &self.inner, x)
    }
}

/// One rule from its dict: `{"rule": "range", "sensor": 0, "min": .., "max": ..}`,
/// `{"rule": "rate_of_change", "sensor": 0, "max_step": ..}` or
/// `{"rule": "persistence", "sensor": 0, "side": "above", "level": .., "clear": .., "rows": ..}`.
fn rule(i: usize, d: &Bound<'_, PyDict>) -> PyResult<Rule> {
    let field = |name: &str| -> PyResult<Bound<'_, PyAny>> {
        d.get_item(name)?
            .ok_or_else(|| PyValueError::new_err(format!("rules[{i}]: missing {name:?}")))
    };
    let bad = |name: &str, what: &str| PyValueError::new_err(format!("rules[{i}].{name}: {what}"));
    let num = |name: &str| -> PyResult<f64> { field(name)?.extract().map_err(|_| bad(name, "a number")) };
    let count = |name: &str| -> PyResult<usize> { field(name)?.extract().map_err(|_| bad(name, "a count")) };
    let kind: String = field("rule")?.extract().map_err(|_| bad("rule", "a string"))?;
    let sensor = count("sensor")?;
    Ok(match kind.as_str() {
        "range" => Rule::Range {
            sensor,
            min: num("min")?,
            max: num("max")?,
        },
        "rate_of_change" => Rule::RateOfChange {
            sensor,
            max_step: num("max_step")?,
        },
        "persistence" => Rule::Persistence {
            sensor,
            side: match field("side")?.extract::<String>().as_deref() {
                Ok("above") => Side::Above,
                Ok("below") => Side::Below,
                _ => return Err(bad("side", "\"above\" or \"below\"")),
            },
            level: num("level")?,
            clear: num("clear")?,
            rows: count("rows")?,
            seconds: match d.get_item("seconds")? {
                Some(v) if !v.is_none() => Some(v.extract().map_err(|_| bad("seconds", "a number"))?),
                _ => None,
            },
        },
        other => {
            return Err(bad(
                "rule",
                &format!("{other:?} is not \"range\", \"rate_of_change\" or \"persistence\""),
            ));
        }
    })
}

/// Physical rules, given (as dicts: see [`rule`]) or learned from normal rows.
#[pyclass(module = "aeroguard._aeroguard", frozen)]
pub struct RuleSetParams {
    rules: Option<RuleSet>,
    learn: LearnRules,
}

#[pymethods]
impl RuleSetParams {
    #[new]
    #[pyo3(signature = (*, rules = None, quantiles = None, margin = None, rows = None))]
    fn new(
        rules: Option<Vec<Bound<'_, PyDict>>>,
        quantiles: Option<(f64, f64)>,
        margin: Option<f64>,
        rows: Option<Int<usize>>,
    ) -> crate::errors::Result<Self> {
        let rows = opt(rows);
        let d = LearnRules::default();
        let rules = match rules {
            None => None,
            Some(list) => {
                let parsed = list
                    .iter()
                    .enumerate()
                    .map(|(i, d)| rule(i, d))
                    .collect::<PyResult<Vec<_>>>()?;
                Some(RuleSet::new(parsed)?)
            }
        };
        Ok(RuleSetParams {
            rules,
            learn: LearnRules {
                quantiles: quantiles.unwrap_or(d.quantiles),
                margin: margin.unwrap_or(d.margin),
                rows: rows.unwrap_or(d.rows),
            },
        })
    }
    /// The defaults of rule learning, by parameter.
    #[staticmethod]
    fn defaults(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
        let l = LearnRules::default();
        let d = PyDict::new(py);
        d.set_item("rules", py.None())?;
        d.set_item("quantiles", l.quantiles)?;
        d.set_item("margin", l.margin)?;
        d.set_item("rows", l.rows)?;
        Ok(d)
    }

    /// Checks the given rules against `x`, or learns them from its rows.
    fn fit(&self, py: Python<'_>, x: PyReadonlyArray2<'_, f64>) -> crate::errors::Result<FittedModel> {
        match &self.rules {
            Some(r) => fit(py, r, x),
            None => {
                let view = x.as_array();
                let learned = RuleSet::learn(view, self.learn)?;
                let fitted = learned.fit(view)?;
                Ok(FittedModel::new(fitted.into()))
            }
        }
    }
}
