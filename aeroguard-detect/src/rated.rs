//! Channel roles for any detector: sensors that drift slowly through the training rows (a temperature following
//! the day) are fed to it as their change over `lag` rows instead of their level, so a model fitted on the first
//! rows does not flag the drift that follows.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::alarm::slowness;
use crate::{Error, FittedDetector, Result, input, limits};

/// Which sensors are fed as rates, learned from training rows by [`RateRoles::learn`].
///
/// A sensor is slow when `var(diff) / (2 var)` over the training rows is below `slow_below` (white noise gives
/// 1, a drift near 0); a slow sensor's value at row `t` becomes `x[t] - x[t - lag]` (the first `lag` rows
/// against the first row). Causal: row `t` needs rows up to `t` only.
///
/// ```
/// use aeroguard_detect::{Detector, FittedDetector, IsolationForest, RateRoles};
/// use ndarray::Array2;
/// // Column 1 climbs steadily through the training rows.
/// let x = Array2::from_shape_fn((400, 2), |(i, j)| if j == 0 { ((i * 37) % 11) as f64 } else { i as f64 * 0.1 });
/// let roles = RateRoles::learn(x.view(), 0.3, 10)?;
/// assert_eq!(roles.rate(), &[false, true]);
/// let forest = IsolationForest::builder().seed(1).build()?.fit(roles.transform(x.view())?.view())?;
/// let mut model = roles.wrap(forest)?;
/// // Streaming the raw rows gives the scores of the transformed batch.
/// let batch = model.score(x.view())?;
/// for (i, row) in x.outer_iter().enumerate().take(30) {
///     assert_eq!(model.update(row)?, batch[i]);
/// }
/// # Ok::<(), aeroguard_detect::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RateRoles {
    rate: Vec<bool>,
    lag: usize,
}

impl RateRoles {
    /// Learns the roles from training rows: columns slower than `slow_below` (in `(0, 1]`) become rates over
    /// `lag` rows (1 to [`limits::MAX_WINDOW`]).
    pub fn learn(x: ArrayView2<f64>, slow_below: f64, lag: usize) -> Result<RateRoles> {
        if !(slow_below > 0.0 && slow_below <= 1.0) {
            return Err(Error::parameter("slow_below", slow_below, "lies in (0, 1]"));
        }
        if lag == 0 || lag > limits::MAX_WINDOW {
            return Err(Error::parameter("lag", lag, "lies in 1..=10000 rows"));
        }
        input::training("rate roles", x, 3)?;
        let rate = x
            .columns()
            .into_iter()
            .map(|c| slowness(&c.to_vec()) < slow_below)
            .collect();
        Ok(RateRoles { rate, lag })
    }

    /// Which columns are fed as rates.
    pub fn rate(&self) -> &[bool] {
        &self.rate
    }

    /// The rows a rate spans.
    pub fn lag(&self) -> usize {
        self.lag
    }

    /// `x` with its slow columns replaced by their rates (one sequence from its first row).
    pub fn transform(&self, x: ArrayView2<f64>) -> Result<Array2<f64>> {
        input::check("rows to transform", x, self.rate.len())?;
        if !self.rate.contains(&true) {
            return Ok(x.to_owned());
        }
        let mut out = x.to_owned();
        for (j, rate) in self.rate.iter().enumerate() {
            if *rate {
                for t in 0..x.nrows() {
                    out[[t, j]] = x[[t, j]] - x[[t.saturating_sub(self.lag), j]];
                }
            }
        }
        Ok(out)
    }

    /// A detector fitted on [`transform`](RateRoles::transform)ed rows, fed raw rows from now on.
    pub fn wrap<F: FittedDetector>(&self, inner: F) -> Result<FittedRated<F>> {
        if inner.n_features() != self.rate.len() {
            return Err(Error::Shape {
                what: "the wrapped model's columns",
                expected: self.rate.len(),
                got: inner.n_features(),
            });
        }
        Ok(FittedRated {
            roles: self.clone(),
            kept: Vec::new(),
            kept_rows: 0,
            next: 0,
            out: Scratch::default(),
            inner,
        })
    }
}

/// A buffer reused from row to row: no part of a model's identity or of its saved form.
#[derive(Debug, Clone, Default)]
struct Scratch(Vec<f64>);

impl PartialEq for Scratch {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// A detector behind [`RateRoles`]: takes raw rows, feeds the inner model their transform, and keeps the last
/// `lag` rows for streaming (in one ring of `lag × width` values, the transform in a reused buffer, so
/// streaming allocates nothing once the ring is full).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedRated<F> {
    roles: RateRoles,
    /// The kept rows, row after row (`kept_rows × width` values).
    kept: Vec<f64>,
    /// How many rows are kept (at most `lag`).
    kept_rows: usize,
    /// The slot the next row goes to once the ring is full (the oldest row's).
    next: usize,
    /// The last row's transform (reused, so streaming allocates nothing).
    #[serde(skip)]
    out: Scratch,
    inner: F,
}

impl<F> FittedRated<F> {
    /// The roles.
    pub fn roles(&self) -> &RateRoles {
        &self.roles
    }

    /// The model behind the roles.
    pub fn inner(&self) -> &F {
        &self.inner
    }

    pub(crate) fn map_inner<G>(self, f: impl FnOnce(F) -> G) -> FittedRated<G> {
        FittedRated {
            roles: self.roles,
            kept: self.kept,
            kept_rows: self.kept_rows,
            next: self.next,
            out: self.out,
            inner: f(self.inner),
        }
    }

    /// Checks a loaded wrapper: roles, lag and the kept rows fit the width the inner model takes.
    pub(crate) fn check(&self, inner_width: usize) -> Result<()> {
        let width = self.roles.rate.len();
        let ok = width == inner_width
            && (1..=limits::MAX_WINDOW).contains(&self.roles.lag)
            && self.kept_rows <= self.roles.lag
            && self.kept.len() == self.kept_rows * width
            && self.next < self.roles.lag;
        if ok {
            Ok(())
        } else {
            Err(Error::Model {
                operation: "load",
                reason: "rate roles: the roles, the lag or the kept rows do not fit the model's width".into(),
                cause: None,
            })
        }
    }

    /// Puts the next raw row's transform in `out`, moving the kept rows forward; false when no sensor is a
    /// rate (the row goes to the inner model as it is, and nothing is kept).
    fn push(&mut self, row: ArrayView1<f64>) -> Result<bool> {
        input::check_row("row to score", row, self.roles.rate.len())?;
        if !self.roles.rate.contains(&true) {
            return Ok(false);
        }
        let width = self.roles.rate.len();
        // The row `lag` back: while the ring fills, the first row; once full, the slot about to be overwritten.
        let slot = if self.kept_rows < self.roles.lag {
            0
        } else {
            self.next
        };
        self.out.0.clear();
        if self.kept_rows == 0 {
            let first = row.iter().zip(&self.roles.rate);
            self.out
                .0
                .extend(first.map(|(v, rate)| if *rate { 0.0 } else { *v }));
        } else {
            let reference = &self.kept[slot * width..(slot + 1) * width];
            let pairs = row.iter().zip(&self.roles.rate).zip(reference);
            self.out
                .0
                .extend(pairs.map(|((v, rate), r)| if *rate { v - r } else { *v }));
        }
        if self.kept_rows < self.roles.lag {
            self.kept.extend(row.iter());
            self.kept_rows += 1;
            self.next = self.kept_rows % self.roles.lag;
        } else {
            for (k, v) in self.kept[slot * width..(slot + 1) * width]
                .iter_mut()
                .zip(row.iter())
            {
                *k = *v;
            }
            self.next = (self.next + 1) % self.roles.lag;
        }
        Ok(true)
    }
}

impl<F: FittedDetector> FittedDetector for FittedRated<F> {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn n_features(&self) -> usize {
        self.roles.rate.len()
    }
    fn threshold(&self) -> f64 {
        self.inner.threshold()
    }
    fn set_threshold(&mut self, threshold: f64) {
        self.inner.set_threshold(threshold);
    }
    fn score(&self, x: ArrayView2<f64>) -> Result<Array1<f64>> {
        if self.roles.rate.contains(&true) {
            self.inner.score(self.roles.transform(x)?.view())
        } else {
            input::check("rows to score", x, self.roles.rate.len())?;
            self.inner.score(x)
        }
    }
    fn update(&mut self, row: ArrayView1<f64>) -> Result<f64> {
        if self.push(row)? {
            self.inner.update(ArrayView1::from(&self.out.0[..]))
        } else {
            self.inner.update(row)
        }
    }
    fn update_at(&mut self, row: ArrayView1<f64>, at: aeroguard_core::Timestamp) -> Result<f64> {
        if self.push(row)? {
            self.inner.update_at(ArrayView1::from(&self.out.0[..]), at)
        } else {
            self.inner.update_at(row, at)
        }
    }
    fn reset(&mut self) {
        self.kept.clear();
        self.kept_rows = 0;
        self.next = 0;
        self.inner.reset();
    }
    /// The inner model's shares: each column of the transform is its input column (a rate or the value).
    fn explain(&self, row: ArrayView1<f64>) -> Option<Vec<f64>> {
        if self.roles.rate.contains(&true) && self.out.0.len() == row.len() {
            self.inner.explain(ArrayView1::from(&self.out.0[..]))
        } else {
            self.inner.explain(row)
        }
    }
}

#[cfg(test)]
mod tests {
    use ndarray::{Array2, array};

    use super::*;
    use crate::{Detector, EnsembleRecipe, IsolationForest, Model};

    /// Column 0 is noise, column 1 climbs through the rows.
    fn drifting(rows: usize) -> Array2<f64> {
        Array2::from_shape_fn((rows, 2), |(i, j)| {
            if j == 0 {
                ((i * 7919) % 13) as f64
            } else {
                100.0 + i as f64 * 0.2
            }
        })
    }

    #[test]
    fn rates_are_causal_and_streaming_matches_the_batch_after_a_reset() {
        let x = drifting(100);
        let roles = RateRoles::learn(x.view(), 0.3, 5).unwrap();
        assert_eq!(roles.rate(), &[false, true]);
        let t = roles.transform(x.view()).unwrap();
        assert_eq!(t[[0, 1]], 0.0);
        assert!((t[[3, 1]] - 0.6).abs() < 1e-9, "against row 0 before the lag");
        assert!((t[[50, 1]] - 1.0).abs() < 1e-9, "five rows of 0.2");
        assert_eq!(t.column(0), x.column(0));
        let forest = IsolationForest::builder()
            .seed(3)
            .build()
            .unwrap()
            .fit(t.view())
            .unwrap();
        let mut m = roles.wrap(forest).unwrap();
        let batch = m.score(x.view()).unwrap();
        for round in 0..2 {
            for (i, row) in x.outer_iter().enumerate() {
                assert_eq!(m.update(row).unwrap(), batch[i], "round {round}, row {i}");
            }
            m.reset();
        }
    }

    #[test]
    fn bad_parameters_and_input_are_typed_errors() {
        let x = drifting(50);
        for (r, lag, name) in [(0.0, 5, "slow_below"), (1.5, 5, "slow_below"), (0.3, 0, "lag")] {
            match RateRoles::learn(x.view(), r, lag) {
                Err(Error::InvalidParameter { name: n, .. }) => assert_eq!(n, name),
                other => panic!("{name}: {other:?}"),
            }
        }
        let mut bad = x.clone();
        bad[[4, 0]] = f64::NAN;
        assert!(matches!(
            RateRoles::learn(bad.view(), 0.3, 5),
            Err(Error::NonFinite { row: 4, .. })
        ));
        let roles = RateRoles::learn(x.view(), 0.3, 5).unwrap();
        let three = Array2::from_shape_fn((50, 3), |(i, j)| (i + j) as f64);
        let forest = IsolationForest::builder()
            .build()
            .unwrap()
            .fit(three.view())
            .unwrap();
        assert!(matches!(roles.wrap(forest), Err(Error::Shape { got: 3, .. })));
        let forest = IsolationForest::builder().build().unwrap().fit(x.view()).unwrap();
        let mut m = roles.wrap(forest).unwrap();
        assert!(matches!(
            m.update(array![1.0].view()),
            Err(Error::Shape { got: 1, .. })
        ));
        assert!(matches!(
            m.update(array![1.0, f64::INFINITY].view()),
            Err(Error::NonFinite { column: 1, .. })
        ));
    }

    #[test]
    fn the_full_recipe_feeds_slow_sensors_as_rates_and_saves_whole() {
        let x = drifting(400);
        let mut recipe = EnsembleRecipe::full();
        recipe.neural.training = crate::neural::Training {
            epochs: 2,
            ..Default::default()
        };
        let voter = recipe.fit(x.view()).unwrap();
        let names: Vec<&str> = voter.members().iter().map(|m| m.name()).collect();
        assert_eq!(
            names,
            [
                "rules",
                "kmeans",
                "isolation_forest",
                "conv_autoencoder",
                "lstm",
                "level_shift",
                "relations",
                "subspace"
            ]
        );
        for m in &voter.members()[..5] {
            assert!(
                matches!(m, Model::Rated(r) if r.roles().rate() == [false, true]),
                "{}",
                m.name()
            );
        }
        assert!(matches!(voter.members()[5], Model::LevelShift(_)));
        assert!(matches!(voter.members()[6], Model::Relations(_)));
        assert!(matches!(voter.members()[7], Model::Subspace(_)));
        // The k-means and neural members settle inside their rate roles.
        for i in [1, 3, 4] {
            assert!(
                matches!(&voter.members()[i], Model::Rated(r) if matches!(r.inner(), Model::Settled(_))),
                "{}",
                voter.members()[i].name()
            );
        }
        let json = voter.save().unwrap();
        let loaded = crate::Voter::<Model>::load(&json).unwrap();
        assert_eq!(loaded.decide(x.view()).unwrap(), voter.decide(x.view()).unwrap());
        // A damaged wrapper (its roles one column short) is refused on load.
        let damaged = json.replacen("\"rate\":[false,true]", "\"rate\":[false]", 1);
        assert_ne!(damaged, json);
        assert!(matches!(
            crate::Voter::<Model>::load(&damaged),
            Err(Error::Model { .. })
        ));
    }
}
