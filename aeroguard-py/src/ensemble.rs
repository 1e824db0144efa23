//! The M-of-N ensemble from Python, with every member's vote record.

use aeroguard_detect::{FittedDetector, Model, Voter};

use crate::member::{Member, members_of};
use crate::verdict::{Integrity, Verdict, verdict};
use numpy::{PyReadonlyArray1, PyReadonlyArray2};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::ints::{Int, opt};

/// The M-of-N ensemble: the recommended recipe fitted on normal rows, or members of your choosing.
#[pyclass(module = "aeroguard._aeroguard")]
pub struct Ensemble {
    voter: Voter<Member>,
}

impl Ensemble {
    /// Bad input is a `ValueError` here, not a failed member voting yes (which is what the voter's fail-safe
    /// mode would make of it).
    fn check(&self, width: usize, finite: bool) -> PyResult<()> {
        let n = self.voter.members().first().map_or(0, |m| m.n_features());
        if width != n {
            return Err(PyValueError::new_err(format!(
                "rows have {width} columns, the ensemble was fitted on {n}"
            )));
        }
        if !finite {
            return Err(PyValueError::new_err("rows contain NaN or infinite values"));
        }
        Ok(())
    }
}

#[pymethods]
impl Ensemble {
    /// Fits the recommended ensemble on normal rows `x`: the three classic members, or with `neural=True` the
    /// eight of `EnsembleRecipe::full` (rules, k-means, isolation forest, convolutional autoencoder and LSTM
    /// weighing 1 each; the level shift, the relations and the subspace member weighing 3 each; 5 needed). `m`
    /// overrides the votes needed; `recipe`, any other parameter, as a dict shaped as `Ensemble.recipe()`'s
    /// (`{"classic": {"forest_z": 4.0}, "voting": {"k_of": 2}}`).
    #[staticmethod]
    #[pyo3(signature = (x, *, neural = false, m = None, random_state = 0, recipe = None))]
    fn fit(
        py: Python<'_>,
        x: PyReadonlyArray2<'_, f64>,
        neural: bool,
        m: Option<f64>,
        random_state: u64,
        recipe: Option<Bound<'_, PyAny>>,
    ) -> crate::errors::Result<Ensemble> {
        let mut r = crate::recipe::base(neural);
        if let Some(over) = recipe {
            r = crate::recipe::with_overrides(r, &over)?;
        }
        r.seed = random_state;
        if let Some(m) = m {
            r.voting.m = m;
        }
        let x = x.as_array().to_owned();
        let voter = py.detach(|| r.fit(x.view()))?;
        Ok(Ensemble {
            voter: voter.map_members(Member::Native),
        })
    }

    /// The recommended recipe's parameters as a dict (`neural=True`: the eight-member recipe), the shape
    /// `fit(recipe=...)` takes.
    #[staticmethod]
    #[pyo3(signature = (neural = false))]
    fn recipe(py: Python<'_>, neural: bool) -> PyResult<Bound<'_, PyAny>> {
        crate::recipe::to_dict(py, &crate::recipe::base(neural))
    }

    /// An ensemble of fitted members: AeroGuard's detectors (`FittedModel`s, or fitted AeroGuard estimators),
    /// and any other model or rule, wrapped in `aeroguard.Member` (a scikit-learn or PyOD model, an object with
    /// `score_samples`, a plain callable returning a score or a boolean per row). An alarm needs the weighted yes
    /// votes to reach `m` (default: a majority), and with `k_of` and `window`, `k_of` alarms in the last
    /// `window` rows; with `k_of_seconds` and `window_seconds`, the vote passed for at least `k_of_seconds` of
    /// the last `window_seconds` (by the times given to `update(row, at_ms=...)`).
    #[staticmethod]
    #[pyo3(signature = (members, *, m = None, weights = None, k_of = None, window = None, k_of_seconds = None,
                        window_seconds = None))]
    #[allow(clippy::too_many_arguments)]
    fn of(
        py: Python<'_>,
        members: Vec<Bound<'_, PyAny>>,
        m: Option<f64>,
        weights: Option<Vec<f64>>,
        k_of: Option<Int<usize>>,
        window: Option<Int<usize>>,
        k_of_seconds: Option<f64>,
        window_seconds: Option<f64>,
    ) -> crate::errors::Result<Ensemble> {
        let (k_of, window) = (opt(k_of), opt(window));
        let models = members_of(py, &members)?;
        let n = models.len() as f64;
        let mut b = Voter::builder(models).m(m.unwrap_or((n / 2.0).floor() + 1.0));
        if let Some(w) = weights {
            b = b.weights(w);
        }
        match (k_of, window) {
            (Some(k), Some(w)) => b = b.k_of_window(k, w),
            (None, None) => {}
            _ => return Err(crate::errors::value_error("give k_of and window together")),
        }
        match (k_of_seconds, window_seconds) {
            (Some(k), Some(w)) => {
                let seconds = |name: &str, v: f64| {
                    std::time::Duration::try_from_secs_f64(v).map_err(|_| {
                        PyValueError::new_err(format!("{name}: a finite number of seconds >= 0, got {v}"))
                    })
                };
                b = b.k_of_duration(seconds("k_of_seconds", k)?, seconds("window_seconds", w)?);
            }
            (None, None) => {}
            _ => {
                return Err(crate::errors::value_error(
                    "give k_of_seconds and window_seconds together",
                ));
            }
        }
        Ok(Ensemble { voter: b.build()? })
    }

    /// Whether one member can force or suppress the alarm, the vote's needs now and its time degraded.
    #[getter]
    fn integrity(&self) -> Integrity {
        let i = self.voter.integrity();
        Integrity {
            holds: i.holds(),
            warnings: i.warnings(),
            m: i.m,
            total: i.total,
            forcing: i.forcing,
            suppressing: i.suppressing,
            effective_m: i.effective_m,
            available: i.available,
            left_out: i.left_out,
            degraded_rows: i.degraded_rows,
            degraded_ms: i.degraded_ms,
        }
    }

    /// The members' names.
    #[getter]
    fn members(&self) -> Vec<String> {
        self.voter
            .members()
            .iter()
            .map(|m| m.name().to_string())
            .collect()
    }

    /// Decides every row of `x` (one sequence from a fresh state), without the GIL.
    fn decide(&self, py: Python<'_>, x: PyReadonlyArray2<'_, f64>) -> crate::errors::Result<Vec<Verdict>> {
        let view = x.as_array();
        self.check(view.ncols(), view.iter().all(|v| v.is_finite()))?;
        let voter = &self.voter;
        let out = py.detach(|| voter.decide(view))?;
        Ok(out.into_iter().map(verdict).collect())
    }

    /// Decides the next row of a stream, measured at `at_ms` (ms since the epoch) when given: rules and votes
    /// that persist in seconds need it.
    #[pyo3(signature = (row, at_ms = None))]
    fn update(&mut self, row: PyReadonlyArray1<'_, f64>, at_ms: Option<i64>) -> PyResult<Verdict> {
        let row = row.as_array();
        self.check(row.len(), row.iter().all(|v| v.is_finite()))?;
        Ok(verdict(match at_ms {
            Some(at) => self
                .voter
                .update_at(row, aeroguard_core::Timestamp::from_millis(at)),
            None => self.voter.update(row),
        }))
    }

    /// The ensemble as JSON (`ModelError` if a member is a Python object: those are saved by their own
    /// library).
    fn save(&self) -> crate::errors::Result<String> {
        if let Some(name) = self.voter.members().iter().find_map(Member::python_name) {
            return Err(crate::errors::ModelError::new_err(format!(
                "member {name} is a Python object: AeroGuard saves its own members only \
                 (save that one with its library)"
            ))
            .into());
        }
        serde_json::to_string(&self.voter)
            .map_err(|e| crate::errors::ModelError::new_err(format!("model save failed: {e}")).into())
    }

    /// An ensemble from `save()`'s JSON (checked).
    #[staticmethod]
    fn load(json: &str) -> crate::errors::Result<Ensemble> {
        Ok(Ensemble {
            voter: Voter::<Model>::load(json)?.map_members(Member::Native),
        })
    }

    /// Pickling: the ensemble travels as its checked JSON.
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<(Bound<'py, PyAny>, (String,))> {
        let restore = py.import("aeroguard.detect")?.getattr("_restore_ensemble")?;
        Ok((restore, (self.save()?,)))
    }
}
