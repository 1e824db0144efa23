//! Any member's alarm settled after a fault, as the level-shift and relations detectors settle their own: the
//! member's score passes its threshold while an alarm holds, the alarm ends once the score falls far under its
//! peak, and for a while after, a new alarm must pass a level set by that peak ([`Settle`]). A plant rarely
//! comes back exactly to where a model was trained, so a reconstruction error or a distance that stays a little
//! high after a fault no longer holds the alarm through the whole after-effect.

use ndarray::{Array1, ArrayView1, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::settle::Latch;
use crate::{Error, FittedDetector, Result, Settle};

/// The fraction of its threshold a settled member's alarm holds down to in
/// [`EnsembleRecipe::full`](crate::EnsembleRecipe::full).
pub const SETTLED_RELEASE: f64 = 0.5;

/// A fitted detector whose alarms settle after a fault ([`Settle`]), with hysteresis: an alarm starts above the
/// threshold and holds down to `release` of it. The score it gives is the inner score scaled so that it passes
/// the inner threshold exactly while an alarm holds (`threshold · raw / level`, with `level` the raw level the
/// alarm turns at), so a score that never alarmed is the inner score unchanged.
///
/// An inner threshold that is not finite and above 0, or a score that is not finite, passes through as it is.
///
/// ```
/// use aeroguard_detect::{
///     Calibration, ClusterProfile, Detector, FeatureWindow, FittedDetector, FittedSettled, Settle, Windowed,
/// };
/// use ndarray::Array2;
/// let noise = |i: usize| ((i * 7919) % 13) as f64 / 13.0;
/// let x = Array2::from_shape_fn((400, 1), |(i, _)| 5.0 + noise(i));
/// let mean = FeatureWindow::builder().window(5).raw(false).mean(true).build()?;
/// let profile = ClusterProfile::builder().calibration(Calibration::RobustZ(10.0)).build()?;
/// let plain = Windowed::new("kmeans", mean, profile).fit(x.view())?;
/// let settled = FittedSettled::new(plain.clone(), Settle::new(0.3, 1.0, 400)?, 0.5)?;
/// // A fault lifts the sensor by 60; after it the sensor stays 4 above where it was trained.
/// let later = Array2::from_shape_fn((200, 1), |(i, _)| noise(i) + if (20..80).contains(&i) { 65.0 } else if i >= 80 { 9.0 } else { 5.0 });
/// let alarms = |m: &dyn FittedDetector| -> Vec<bool> {
///     m.score(later.view()).unwrap().iter().map(|s| *s > m.threshold()).collect()
/// };
/// let (p, s) = (alarms(&plain), alarms(&settled));
/// assert!(p[30..80].iter().all(|a| *a) && s[30..80].iter().all(|a| *a), "both flag the fault");
/// assert!(p[100..].iter().all(|a| *a), "the plain alarm holds through the after-effect");
/// assert!(s[100..].iter().all(|a| !*a), "the settled one ends");
/// # Ok::<(), aeroguard_detect::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedSettled<F> {
    settle: Settle,
    release: f64,
    #[serde(default)]
    latch: Latch,
    inner: F,
}

impl<F: FittedDetector> FittedSettled<F> {
    /// `inner` with its alarms settled as `settle` says, holding down to `release` (in `(0, 1]`) of its
    /// threshold.
    pub fn new(inner: F, settle: Settle, release: f64) -> Result<FittedSettled<F>> {
        let s = FittedSettled {
            settle,
            release,
            latch: Latch::default(),
            inner,
        };
        s.check()?;
        Ok(s)
    }

    /// One raw score through the latch.
    fn step(latch: &mut Latch, raw: f64, on: f64, release: f64, settle: &Settle) -> f64 {
        if raw.is_finite() && on.is_finite() && on > 0.0 {
            latch.step(raw, on, release, Some(settle))
        } else {
            raw
        }
    }
}

impl<F> FittedSettled<F> {
    /// The model whose alarms are settled.
    pub fn inner(&self) -> &F {
        &self.inner
    }

    /// How its alarms settle.
    pub fn settle(&self) -> &Settle {
        &self.settle
    }

    /// The fraction of the threshold an alarm holds down to.
    pub fn release(&self) -> f64 {
        self.release
    }

    pub(crate) fn map_inner<G>(self, f: impl FnOnce(F) -> G) -> FittedSettled<G> {
        FittedSettled {
            settle: self.settle,
            release: self.release,
            latch: self.latch,
            inner: f(self.inner),
        }
    }

    /// Checks the settling and the release (also after loading).
    pub(crate) fn check(&self) -> Result<()> {
        if !(self.release > 0.0 && self.release <= 1.0) {
            return Err(Error::parameter("release", self.release, "lies in (0, 1]"));
        }
        self.settle.check()
    }
}

impl<F: FittedDetector> FittedDetector for FittedSettled<F> {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn n_features(&self) -> usize {
        self.inner.n_features()
    }
    fn threshold(&self) -> f64 {
        self.inner.threshold()
    }
    fn set_threshold(&mut self, threshold: f64) {
        self.inner.set_threshold(threshold);
    }
    /// The inner scores through a latch that starts afresh, as a stream from a reset model would give them.
    fn score(&self, x: ArrayView2<f64>) -> Result<Array1<f64>> {
        let (on, mut latch) = (self.inner.threshold(), Latch::default());
        let raw = self.inner.score(x)?;
        Ok(raw.mapv(|r| Self::step(&mut latch, r, on, self.release, &self.settle)))
    }
    fn update(&mut self, row: ArrayView1<f64>) -> Result<f64> {
        let raw = self.inner.update(row)?;
        let on = self.inner.threshold();
        Ok(Self::step(&mut self.latch, raw, on, self.release, &self.settle))
    }
    fn update_at(&mut self, row: ArrayView1<f64>, at: aeroguard_core::Timestamp) -> Result<f64> {
        let raw = self.inner.update_at(row, at)?;
        let on = self.inner.threshold();
        Ok(Self::step(&mut self.latch, raw, on, self.release, &self.settle))
    }
    fn reset(&mut self) {
        self.inner.reset();
        self.latch = Latch::default();
    }
    fn explain(&self, row: ArrayView1<f64>) -> Option<Vec<f64>> {
        self.inner.explain(row)
    }
}

#[cfg(test)]
mod tests {
    use ndarray::Array2;

    use super::*;
    use crate::{Calibration, ClusterProfile, Detector, FeatureWindow, Model, Windowed};

    fn noise(i: usize) -> f64 {
        ((i * 7919) % 13) as f64 / 13.0
    }

    fn fitted() -> crate::FittedWindowed<crate::FittedClusterProfile> {
        let x = Array2::from_shape_fn((400, 2), |(i, j)| 5.0 + j as f64 + noise(i + j));
        let mean = FeatureWindow::builder()
            .window(5)
            .raw(false)
            .mean(true)
            .build()
            .unwrap();
        let profile = ClusterProfile::builder()
            .calibration(Calibration::RobustZ(10.0))
            .build()
            .unwrap();
        Windowed::new("kmeans", mean, profile).fit(x.view()).unwrap()
    }

    /// A fault on rows 20-79 of both sensors, an after-effect from row 80.
    fn later() -> Array2<f64> {
        Array2::from_shape_fn((200, 2), |(i, j)| {
            5.0 + j as f64
                + noise(i + j)
                + match i {
                    20..80 => 60.0,
                    80.. => 4.0,
                    _ => 0.0,
                }
        })
    }

    #[test]
    fn the_after_effect_of_a_fault_raises_no_alarm_and_stream_and_batch_agree() {
        let plain: Model = fitted().into();
        let settled: Model = FittedSettled::new(fitted(), Settle::RECOMMENDED, 0.5)
            .unwrap()
            .into();
        crate::settle::assert_settles(&plain, &settled, later().view());
    }

    #[test]
    fn a_model_that_never_alarmed_scores_as_before() {
        let plain = fitted();
        let settled = FittedSettled::new(fitted(), Settle::RECOMMENDED, 0.5).unwrap();
        let quiet = Array2::from_shape_fn((100, 2), |(i, j)| 5.0 + j as f64 + noise(i + 3 * j));
        assert_eq!(
            plain.score(quiet.view()).unwrap(),
            settled.score(quiet.view()).unwrap()
        );
    }

    #[test]
    fn it_saves_loads_and_refuses_a_bad_release() {
        let settled = FittedSettled::new(fitted(), Settle::RECOMMENDED, 0.5).unwrap();
        let model: Model = settled.clone().into();
        let loaded = Model::load(&model.save().unwrap()).unwrap();
        let rows = later();
        assert_eq!(
            loaded.score(rows.view()).unwrap(),
            settled.score(rows.view()).unwrap()
        );
        for bad in [0.0, 1.5, f64::NAN] {
            assert!(matches!(
                FittedSettled::new(fitted(), Settle::RECOMMENDED, bad),
                Err(Error::InvalidParameter { name: "release", .. })
            ));
        }
        let json = model
            .save()
            .unwrap()
            .replace("\"release\":0.5", "\"release\":7.0");
        assert!(Model::load(&json).is_err());
    }

    #[test]
    fn non_finite_scores_and_thresholds_pass_through() {
        type S = FittedSettled<crate::FittedWindowed<crate::FittedClusterProfile>>;
        let mut latch = Latch::default();
        let s = Settle::RECOMMENDED;
        assert!(S::step(&mut latch, f64::NAN, 2.0, 0.5, &s).is_nan());
        assert_eq!(S::step(&mut latch, f64::INFINITY, 2.0, 0.5, &s), f64::INFINITY);
        assert_eq!(S::step(&mut latch, 9.0, 0.0, 0.5, &s), 9.0);
        assert_eq!(latch, Latch::default(), "nothing moved the latch");
        let mut m = FittedSettled::new(fitted(), s, 0.5).unwrap();
        m.set_threshold(0.0);
        let rows = later();
        assert_eq!(
            m.score(rows.view()).unwrap(),
            m.inner().score(rows.view()).unwrap()
        );
    }
}
