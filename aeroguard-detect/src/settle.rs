//! What an alarm does after a fault: it ends once the score has fallen far below the fault's peak, and for a
//! while after, a new alarm must pass a level set by that peak. A plant rarely comes back exactly to where it
//! was trained (a pump runs a little hotter, a valve seats a little differently), so an alarm that waits for
//! the training level to return holds through the whole after-effect. The latch here is what the level-shift
//! and relations detectors keep between rows.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Most rows the re-arm level can take to fall back (a million rows: eleven days at one a second).
pub const MAX_SETTLE_ROWS: usize = 1_000_000;

/// How an alarm ends after a fault and how soon another may start, validated by [`Settle::new`].
///
/// - An alarm ends once the raw score falls to `peak_release` of the highest score it reached (or to
///   `z · release`, whichever is higher). A fault that drove the score to 600 ends when it falls under 60 at
///   0.1, though the plant may sit at 15 for good after it.
/// - Right after an alarm ends, a new one must pass `rearm` of that alarm's peak (never less than `z`). That
///   level falls back to `z` exponentially, with a time constant of `rows` rows. So the after-effect does not
///   raise the alarm again, while a second fault as large as the first still does.
///
/// A small fault (peak near `z`) changes nothing: both levels stay at `z · release` and `z`.
///
/// ```
/// use aeroguard_detect::{Detector, FittedDetector, LevelShift, Settle};
/// use ndarray::Array2;
/// let noise = |i: usize| ((i * 7919) % 13) as f64 / 13.0;
/// let x = Array2::from_shape_fn((400, 1), |(i, _)| 5.0 + noise(i));
/// let settle = Settle::new(0.1, 0.5, 400)?;
/// let mut m = LevelShift::builder().window(5).z(10.0).settle(Some(settle)).build()?.fit(x.view())?;
/// // The rows' alarms while the sensor reads `level` (plus the noise) for `rows` rows.
/// let mut run = |level: f64, rows: usize| -> aeroguard_detect::Result<Vec<bool>> {
///     (0..rows)
///         .map(|i| Ok(m.update(ndarray::array![level + noise(i)].view())? > m.threshold()))
///         .collect()
/// };
/// // A fault lifts the sensor by 60; when it ends the sensor stays 3 above where it was trained.
/// assert!(run(65.0, 40)?[5..].iter().all(|a| *a));
/// assert!(run(8.0, 200)?[10..].iter().all(|a| !*a), "the after-effect raises no alarm");
/// # Ok::<(), aeroguard_detect::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Settle {
    peak_release: f64,
    rearm: f64,
    rows: usize,
}

impl Settle {
    /// What [`EnsembleRecipe::full`](crate::EnsembleRecipe::full) uses: an alarm ends under 0.3 of its peak,
    /// and a new one must pass the last one's peak, falling back to `z` over 400 rows. On SKAB, where several
    /// experiments end with the plant away from its training level, it cut the relations member's false-alarm
    /// rate at z 10 from 28 % to 9 % in the `other` folder and from 11.5 % to 3.8 % over all 26 files, at the
    /// same F1 (0.78).
    ///
    /// ```
    /// use aeroguard_detect::Settle;
    /// assert_eq!(Settle::RECOMMENDED, Settle::new(0.3, 1.0, 400)?);
    /// # Ok::<(), aeroguard_detect::Error>(())
    /// ```
    pub const RECOMMENDED: Settle = Settle {
        peak_release: 0.3,
        rearm: 1.0,
        rows: 400,
    };

    /// An alarm ends under `peak_release` of its peak (in `[0, 1)`; 0: only `z · release` ends it); a new one
    /// must pass `rearm` of the last one's peak (finite, at least 0; 0: `z` alone), falling back to `z` over
    /// `rows` rows (1 to [`MAX_SETTLE_ROWS`]).
    pub fn new(peak_release: f64, rearm: f64, rows: usize) -> Result<Settle> {
        let s = Settle {
            peak_release,
            rearm,
            rows,
        };
        s.check()?;
        Ok(s)
    }

    /// The fraction of an alarm's peak it ends under.
    pub fn peak_release(&self) -> f64 {
        self.peak_release
    }

    /// The fraction of the last alarm's peak a new one must pass, right after it ended.
    pub fn rearm(&self) -> f64 {
        self.rearm
    }

    /// The time constant, in rows, of the re-arm level's fall back to `z`.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Checks the three parameters (also after loading).
    pub(crate) fn check(&self) -> Result<()> {
        if !(0.0..1.0).contains(&self.peak_release) {
            return Err(Error::parameter(
                "peak_release",
                self.peak_release,
                "lies in [0, 1)",
            ));
        }
        if !(self.rearm.is_finite() && self.rearm >= 0.0) {
            return Err(Error::parameter("rearm", self.rearm, "is finite and at least 0"));
        }
        if !(1..=MAX_SETTLE_ROWS).contains(&self.rows) {
            return Err(Error::parameter("rows", self.rows, "lies in 1..=1000000 rows"));
        }
        Ok(())
    }
}

/// An alarm's state between rows: whether it holds, the peak of the running (or last) alarm, and the rows
/// since the last one ended. Saved with a fitted model; a model saved before there was a peak loads with none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Latch {
    pub(crate) latched: bool,
    #[serde(default)]
    peak: f64,
    #[serde(default)]
    since: u64,
}

impl Latch {
    /// The raw level the latch turns at now: the release level while an alarm holds, the start level otherwise.
    fn level(&self, on: f64, release: f64, settle: Option<&Settle>) -> f64 {
        match (self.latched, settle) {
            (true, None) => on * release,
            (true, Some(s)) => (on * release).max(s.peak_release * self.peak),
            (false, None) => on,
            (false, Some(s)) => {
                let start = (s.rearm * self.peak).max(on);
                on + (start - on) * (-(self.since as f64) / s.rows as f64).exp()
            }
        }
    }

    /// Moves the latch for a raw score and gives the score with the latch in it: `on · raw / level`, with
    /// `level` the raw level the latch turns at. So the score passes `on` exactly when an alarm holds after
    /// this row, and where the threshold is drawn does not change the score.
    pub(crate) fn step(&mut self, raw: f64, on: f64, release: f64, settle: Option<&Settle>) -> f64 {
        if !self.latched {
            self.since = self.since.saturating_add(1);
        }
        let level = self.level(on, release, settle);
        if self.latched {
            if raw > level {
                self.peak = self.peak.max(raw);
            } else {
                self.latched = false;
                self.since = 0;
            }
        } else if raw > level {
            self.latched = true;
            self.peak = raw;
        }
        on * raw / level
    }
}

/// For the detectors' tests: on `later` (a fault on rows 20-79, an after-effect from row 80), both models flag
/// the fault, the plain one holds through the after-effect and the settled one does not, and the settled one
/// streams the batch's scores.
#[cfg(test)]
pub(crate) fn assert_settles<M: crate::FittedDetector + Clone>(
    plain: &M,
    settled: &M,
    later: ndarray::ArrayView2<f64>,
) {
    let alarms = |m: &M| -> Vec<bool> {
        let t = m.threshold();
        m.score(later).unwrap().iter().map(|s| *s > t).collect()
    };
    let (p, s) = (alarms(plain), alarms(settled));
    assert!(
        p[25..80].iter().all(|a| *a) && s[25..80].iter().all(|a| *a),
        "both flag the fault"
    );
    assert!(
        p[90..].iter().all(|a| *a),
        "the plain alarm holds through the after-effect"
    );
    assert!(s[90..].iter().all(|a| !*a), "the settled one does not");
    let batch = settled.score(later).unwrap();
    let mut m = settled.clone();
    for (i, row) in later.outer_iter().enumerate() {
        assert_eq!(m.update(row).unwrap(), batch[i], "row {i}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(raw: &[f64], settle: Option<&Settle>) -> Vec<bool> {
        let mut latch = Latch::default();
        raw.iter()
            .map(|r| latch.step(*r, 10.0, 0.5, settle) > 10.0)
            .collect()
    }

    #[test]
    fn without_settle_it_is_plain_hysteresis() {
        let raw = [1.0, 11.0, 6.0, 5.0, 9.0, 10.5, 4.0];
        assert_eq!(run(&raw, None), [false, true, true, false, false, true, false]);
        let mut latch = Latch::default();
        let scores: Vec<f64> = raw.iter().map(|r| latch.step(*r, 10.0, 0.5, None)).collect();
        assert_eq!(scores, [1.0, 11.0, 12.0, 10.0, 9.0, 10.5, 8.0]);
    }

    #[test]
    fn a_large_fault_ends_under_its_peak_and_its_after_effect_stays_quiet() {
        let s = Settle::new(0.1, 0.5, 100).unwrap();
        let mut raw = vec![600.0; 20];
        raw.extend([40.0, 15.0, 15.0, 12.0]);
        let with = run(&raw, Some(&s));
        assert!(with[..20].iter().all(|a| *a));
        assert!(with[20..].iter().all(|a| !*a), "{with:?}");
        let without = run(&raw, None);
        assert!(
            without[20..].iter().all(|a| *a),
            "plain hysteresis holds through it"
        );
    }

    #[test]
    fn a_second_fault_as_large_still_alarms_and_the_rearm_level_decays() {
        let s = Settle::new(0.1, 0.5, 10).unwrap();
        let mut raw = vec![100.0; 5];
        raw.extend([5.0, 60.0]);
        let a = run(&raw, Some(&s));
        assert!(a[6], "60 passes half the peak (50) right after");
        let mut raw = vec![100.0; 5];
        raw.extend([5.0, 40.0]);
        assert!(!run(&raw, Some(&s))[6], "40 does not");
        let mut raw = vec![100.0; 5];
        raw.extend(vec![5.0; 60]);
        raw.push(11.0);
        assert!(
            run(&raw, Some(&s))[65],
            "six time constants on, z alone counts again"
        );
    }

    #[test]
    fn small_faults_are_unchanged() {
        let s = Settle::new(0.1, 0.5, 100).unwrap();
        let raw = [1.0, 11.0, 12.0, 6.0, 4.0, 10.5, 3.0];
        assert_eq!(run(&raw, Some(&s)), run(&raw, None));
    }

    #[test]
    fn bad_parameters_are_named() {
        for (p, r, rows, name) in [
            (1.0, 0.5, 10, "peak_release"),
            (f64::NAN, 0.5, 10, "peak_release"),
            (0.1, -1.0, 10, "rearm"),
            (0.1, f64::INFINITY, 10, "rearm"),
            (0.1, 0.5, 0, "rows"),
            (0.1, 0.5, MAX_SETTLE_ROWS + 1, "rows"),
        ] {
            match Settle::new(p, r, rows) {
                Err(Error::InvalidParameter { name: n, .. }) => assert_eq!(n, name),
                other => panic!("{p} {r} {rows}: {other:?}"),
            }
        }
    }
}
