//! Numenta's anomaly likelihood: how unusual the recent mean of a raw anomaly score is, against that mean's own
//! distribution over a long history.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The most rows of history a [`Likelihood`] keeps.
pub const MAX_LIKELIHOOD_HISTORY: usize = 100_000;

/// Tails at or under this are "red" (Numenta's 0.99999 likelihood), and a red row right after another is
/// reported at [`YELLOW`] when the filter is on.
const RED: f64 = 1e-5;
/// Numenta's "yellow" tail (0.999 likelihood).
const YELLOW: f64 = 1e-3;
/// Numenta's lower bounds on the fitted distribution, in raw-score units: a stream that has been flat (all
/// zeros) still has a distribution to be surprised against.
const MIN_MEAN: f64 = 0.03;
const MIN_VARIANCE: f64 = 0.0003;

/// Parameters of Numenta's anomaly likelihood (Ahmad, Lavin, Purdy and Agha, "Unsupervised real-time anomaly
/// detection for streaming data", Neurocomputing 2017), validated by [`Likelihood::builder`].
///
/// Each row, the mean of the last `average` raw scores is compared with a normal distribution fitted to that
/// mean over the last `history` rows (refitted every `reestimate` rows; the mean at least 0.03 and the variance
/// at least 0.0003, as Numenta's). Its upper tail `t` (the chance of a mean this high or higher) gives the
/// score `-log10(t + 1e-10) / 10`, in `[0, 1]`: 0.3 at a tail of 10⁻³, 0.5 at 10⁻⁵. With the filter on, a
/// row under 10⁻⁵ right after another is reported at 10⁻³ (0.3), so a lasting change raises one alarm at its
/// start, not one per row. A mean below the fitted one is not surprising (Numenta's is two-sided).
///
/// The score comes from a probability, not a distance: one threshold means the same on every stream, whatever
/// the raw score's scale.
///
/// ```
/// use aeroguard_detect::Likelihood;
/// let mut state = Likelihood::builder().history(500).build()?.state();
/// // A raw score that wavers between 1.0 and 1.2 for 500 rows, then jumps to 3.
/// let mut calm = 0.0f64;
/// for i in 0..500 {
///     calm = calm.max(state.push(1.0 + 0.2 * (i % 2) as f64)?);
/// }
/// let jump: Vec<f64> = (0..5).map(|_| state.push(3.0)).collect::<Result<_, _>>()?;
/// assert!(calm < 0.3, "{calm}");
/// // The jump alarms on its first row, and the filter reports the rows after at a tail of 10⁻³ (0.3).
/// assert!(jump[0] > 0.5, "{jump:?}");
/// assert!(jump[1..].iter().all(|s| (s - 0.3).abs() < 1e-6), "{jump:?}");
/// assert!(state.push(f64::NAN).is_err());
/// # Ok::<(), aeroguard_detect::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Likelihood {
    average: usize,
    history: usize,
    reestimate: usize,
    filter: bool,
}

impl Default for Likelihood {
    /// Numenta's: the mean of 10 rows, 8,640 rows of history, refitted every 100, the red filter on.
    fn default() -> Self {
        Likelihood {
            average: 10,
            history: 8640,
            reestimate: 100,
            filter: true,
        }
    }
}

/// Builds a [`Likelihood`]; [`build`](LikelihoodBuilder::build) checks every parameter.
#[derive(Debug, Clone)]
pub struct LikelihoodBuilder(Likelihood);

impl Likelihood {
    /// Numenta's defaults ([`Likelihood::default`]).
    pub fn builder() -> LikelihoodBuilder {
        LikelihoodBuilder(Likelihood::default())
    }

    /// Rows of the short mean.
    pub fn average(&self) -> usize {
        self.average
    }

    /// Rows of history the distribution is fitted on.
    pub fn history(&self) -> usize {
        self.history
    }

    /// Rows between refits (and before the first: until then every score is 0).
    pub fn reestimate(&self) -> usize {
        self.reestimate
    }

    /// Whether a red row right after another is reported as yellow.
    pub fn filter(&self) -> bool {
        self.filter
    }

    /// A fresh stream with these parameters.
    pub fn state(&self) -> LikelihoodState {
        LikelihoodState {
            spec: *self,
            recent: VecDeque::with_capacity(self.average),
            means: VecDeque::new(),
            fitted: None,
            since: 0,
            red: false,
        }
    }

    pub(crate) fn check(&self) -> Result<()> {
        if !(1..=crate::limits::MAX_WINDOW).contains(&self.average) {
            return Err(Error::parameter(
                "average",
                self.average,
                "lies in 1..=10000 rows",
            ));
        }
        if !(2..=MAX_LIKELIHOOD_HISTORY).contains(&self.history) {
            return Err(Error::parameter(
                "history",
                self.history,
                "lies in 2..=100000 rows",
            ));
        }
        if !(2..=self.history).contains(&self.reestimate) {
            return Err(Error::parameter(
                "reestimate",
                self.reestimate,
                "lies in 2..=history rows",
            ));
        }
        Ok(())
    }
}

impl LikelihoodBuilder {
    /// Rows of the short mean of the raw score (1 to [`limits::MAX_WINDOW`](crate::limits::MAX_WINDOW)).
    pub fn average(mut self, rows: usize) -> Self {
        self.0.average = rows;
        self
    }

    /// Rows of history the distribution is fitted on (2 to [`MAX_LIKELIHOOD_HISTORY`]).
    pub fn history(mut self, rows: usize) -> Self {
        self.0.history = rows;
        self
    }

    /// Rows between refits of the distribution (2 to `history`).
    pub fn reestimate(mut self, rows: usize) -> Self {
        self.0.reestimate = rows;
        self
    }

    /// Report a red row right after another as yellow (on by default).
    pub fn filter(mut self, on: bool) -> Self {
        self.0.filter = on;
        self
    }

    /// The parameters, checked.
    pub fn build(self) -> Result<Likelihood> {
        self.0.check()?;
        Ok(self.0)
    }
}

/// One stream's [`Likelihood`]: the recent raw scores, the history of their means and the fitted distribution.
/// Serialisable, so a saved model resumes where it stopped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LikelihoodState {
    spec: Likelihood,
    recent: VecDeque<f64>,
    means: VecDeque<f64>,
    /// The fitted mean and standard deviation, once there were `reestimate` means.
    fitted: Option<(f64, f64)>,
    since: usize,
    red: bool,
}

impl LikelihoodState {
    /// The parameters.
    pub fn spec(&self) -> &Likelihood {
        &self.spec
    }

    /// Whether the distribution has been fitted (before that, every score is 0).
    pub fn is_fitted(&self) -> bool {
        self.fitted.is_some()
    }

    /// Takes the next raw score (finite) and returns the row's likelihood score, in `[0, 1]`.
    pub fn push(&mut self, raw: f64) -> Result<f64> {
        if !raw.is_finite() {
            return Err(Error::parameter("raw score", raw, "is finite"));
        }
        // `while` and `max(1)`: a state deserialised with parameters never checked still stays bounded.
        while self.recent.len() >= self.spec.average.max(1) {
            self.recent.pop_front();
        }
        self.recent.push_back(raw);
        let mean = self.recent.iter().sum::<f64>() / self.recent.len() as f64;
        let score = match self.fitted {
            Some((m, s)) => {
                let tail = upper_tail((mean - m) / s);
                let red = tail <= RED;
                let shown = if self.spec.filter && red && self.red {
                    YELLOW
                } else {
                    tail
                };
                self.red = red;
                log_score(shown)
            }
            None => 0.0,
        };
        while self.means.len() >= self.spec.history.max(1) {
            self.means.pop_front();
        }
        self.means.push_back(mean);
        self.since += 1;
        if self.since >= self.spec.reestimate {
            self.refit();
        }
        Ok(score)
    }

    fn refit(&mut self) {
        let n = self.means.len() as f64;
        let m = self.means.iter().sum::<f64>() / n;
        let v = self.means.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n;
        self.fitted = Some((m.max(MIN_MEAN), v.max(MIN_VARIANCE).sqrt()));
        self.since = 0;
    }

    /// Checks a loaded state.
    pub(crate) fn check(&self) -> Result<()> {
        let bad = |reason: &str| Error::Model {
            operation: "load",
            reason: format!("likelihood: {reason}"),
            cause: None,
        };
        self.spec.check()?;
        if self.recent.len() > self.spec.average || self.means.len() > self.spec.history {
            return Err(bad("more rows kept than the parameters allow"));
        }
        if self.since > self.spec.reestimate {
            return Err(bad("rows since the last refit past `reestimate`"));
        }
        if !self.recent.iter().chain(&self.means).all(|x| x.is_finite()) {
            return Err(bad("scores must be finite"));
        }
        if let Some((m, s)) = self.fitted
            && !(m.is_finite() && s.is_finite() && s > 0.0)
        {
            return Err(bad(
                "the fitted distribution must be finite with a positive spread",
            ));
        }
        Ok(())
    }
}

/// The score of a tail probability: `-log10(t + 1e-10) / 10` (Numenta's log-likelihood), in `[0, 1]`.
pub(crate) fn log_score(tail: f64) -> f64 {
    (-(tail + 1e-10).log10() / 10.0).max(0.0)
}

/// The standard normal's upper tail `Q(z)`; 1 for `z <= 0` (a mean under the fitted one is not surprising).
fn upper_tail(z: f64) -> f64 {
    if z <= 0.0 {
        1.0
    } else {
        0.5 * erfc(z / std::f64::consts::SQRT_2)
    }
}

/// The complementary error function for `x >= 0`, with a relative error under 1.2e-7 (Numerical Recipes'
/// Chebyshev fit), which holds far into the tail.
fn erfc(x: f64) -> f64 {
    let t = 1.0 / (1.0 + 0.5 * x);
    let poly = -x * x - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    t * poly.exp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tail_matches_known_values() {
        // Q(z) = erfc(z / √2) / 2, from Python's math.erfc.
        for (z, q) in [
            (1.0, 0.158_655_253_931_457),
            (3.0, 1.349_898_031_630_095_7e-3),
            (4.264_890_794, 9.999_999_996_543_537e-6),
            (6.0, 9.865_876_450_377_012e-10),
        ] {
            let got = upper_tail(z);
            assert!((got - q).abs() / q < 2e-7, "Q({z}) = {got}, not {q}");
        }
        assert_eq!(upper_tail(-2.0), 1.0);
        assert!((log_score(1e-5) - 0.5).abs() < 1e-5);
        assert!((log_score(1e-3) - 0.3).abs() < 1e-6);
        assert_eq!(log_score(1.0), 0.0);
    }

    fn stream(l: Likelihood, raw: impl IntoIterator<Item = f64>) -> Vec<f64> {
        let mut s = l.state();
        raw.into_iter().map(|r| s.push(r).unwrap()).collect()
    }

    #[test]
    fn nothing_scores_before_the_first_fit_and_a_flat_stream_stays_quiet() {
        let l = Likelihood::builder().reestimate(50).history(200).build().unwrap();
        let scores = stream(l, std::iter::repeat_n(0.0, 400));
        assert!(scores[..50].iter().all(|s| *s == 0.0));
        // Flat at 0: the distribution's floors (mean 0.03, variance 0.0003) keep the tail at 1.
        assert!(scores.iter().all(|s| *s == 0.0), "{scores:?}");
    }

    #[test]
    fn a_lasting_jump_alarms_once_with_the_filter_and_on_every_row_without() {
        let raw = || (0..300).map(|i| if i < 200 { 1.0 + 0.1 * (i % 3) as f64 } else { 4.0 });
        let l = Likelihood::builder().history(300).build().unwrap();
        let filtered = stream(l, raw());
        let plain = stream(
            Likelihood::builder().history(300).filter(false).build().unwrap(),
            raw(),
        );
        let red = |s: &[f64]| s.iter().filter(|x| **x >= log_score(RED)).count();
        assert!(filtered[..200].iter().all(|s| *s < 0.3));
        assert_eq!(red(&filtered), 1, "{:?}", &filtered[195..215]);
        // Without the filter, every row until the next refit absorbs the jump is red.
        assert!(red(&plain) > 50, "{}", red(&plain));
        // The first red row is the same in both.
        let first = |s: &[f64]| s.iter().position(|x| *x >= log_score(RED));
        assert_eq!(first(&filtered), first(&plain));
        assert!(first(&plain).unwrap() >= 200);
    }

    #[test]
    fn the_history_forgets() {
        // After 300 rows at the new level with 100 rows of history, the jump is the normal.
        let l = Likelihood::builder().history(100).reestimate(20).build().unwrap();
        let scores = stream(
            l,
            (0..700).map(|i| {
                if i < 200 {
                    (i % 2) as f64
                } else {
                    5.0 + (i % 2) as f64
                }
            }),
        );
        assert!(scores[200..215].iter().any(|s| *s >= 0.5));
        assert!(scores[500..].iter().all(|s| *s < 0.3), "{:?}", &scores[500..520]);
    }

    #[test]
    fn bad_parameters_and_scores_are_named() {
        for (b, name) in [
            (Likelihood::builder().average(0), "average"),
            (Likelihood::builder().history(1), "history"),
            (
                Likelihood::builder().history(MAX_LIKELIHOOD_HISTORY + 1),
                "history",
            ),
            (Likelihood::builder().history(50).reestimate(51), "reestimate"),
            (Likelihood::builder().reestimate(1), "reestimate"),
        ] {
            match b.build() {
                Err(Error::InvalidParameter { name: n, .. }) => assert_eq!(n, name),
                other => panic!("{name}: {other:?}"),
            }
        }
        let mut s = Likelihood::default().state();
        assert!(s.push(f64::INFINITY).is_err());
        assert!(s.push(1.0).is_ok());
    }

    #[test]
    fn a_saved_state_resumes_and_a_damaged_one_is_refused() {
        let l = Likelihood::builder().history(100).reestimate(10).build().unwrap();
        let mut a = l.state();
        for i in 0..150 {
            a.push((i % 5) as f64).unwrap();
        }
        let json = serde_json::to_string(&a).unwrap();
        let mut b: LikelihoodState = serde_json::from_str(&json).unwrap();
        b.check().unwrap();
        for i in 0..50 {
            let r = if i == 20 { 30.0 } else { (i % 5) as f64 };
            assert_eq!(a.push(r).unwrap(), b.push(r).unwrap());
        }
        let mut damaged = b.clone();
        damaged.since = 11;
        assert!(damaged.check().is_err());
        let mut damaged = b;
        damaged.fitted = Some((1.0, 0.0));
        assert!(damaged.check().is_err());
    }

    #[test]
    fn a_state_with_unchecked_parameters_stays_bounded() {
        // Parameters no builder would pass, from JSON: every buffer still holds at most one value.
        let spec: Likelihood =
            serde_json::from_str(r#"{"average":0,"history":0,"reestimate":0,"filter":true}"#).unwrap();
        assert!(spec.check().is_err());
        let mut s = spec.state();
        for i in 0..1000 {
            let score = s.push(i as f64).unwrap();
            assert!((0.0..=1.0).contains(&score), "{score}");
        }
        assert_eq!((s.recent.len(), s.means.len()), (1, 1));
    }
}
