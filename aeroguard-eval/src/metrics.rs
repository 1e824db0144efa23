//! Scoring binary predictions against labels: the outlier metrics (F1, FAR, MAR) and the NAB-like changepoint
//! scores of the SKAB protocol (`shared/notes/skab-protocol.md`), pooled over files.

use serde::{Deserialize, Serialize};

/// Row-by-row counts, pooled over any number of files.
///
/// ```
/// use aeroguard_eval::metrics::Counts;
/// let mut c = Counts::default();
/// c.add(&[true, true, false, false], &[true, false, true, false]);
/// assert_eq!((c.tp, c.fp, c.fn_, c.tn), (1, 1, 1, 1));
/// assert_eq!(c.f1(), 0.5);
/// assert_eq!((c.far(), c.mar()), (50.0, 50.0));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Anomalous rows flagged.
    pub tp: u64,
    /// Normal rows flagged.
    pub fp: u64,
    /// Anomalous rows missed.
    #[serde(rename = "fn")]
    pub fn_: u64,
    /// Normal rows not flagged.
    pub tn: u64,
}

impl Counts {
    /// Adds one file's predictions and labels (same length; extra entries of the longer are ignored).
    pub fn add(&mut self, predicted: &[bool], actual: &[bool]) {
        for (&p, &a) in predicted.iter().zip(actual) {
            match (p, a) {
                (true, true) => self.tp += 1,
                (true, false) => self.fp += 1,
                (false, true) => self.fn_ += 1,
                (false, false) => self.tn += 1,
            }
        }
    }

    /// Adds another pool's counts.
    pub fn merge(&mut self, other: &Counts) {
        self.tp += other.tp;
        self.fp += other.fp;
        self.fn_ += other.fn_;
        self.tn += other.tn;
    }

    /// `TP / (TP + (FP + FN) / 2)`; 0 when there is nothing to find and nothing flagged.
    pub fn f1(&self) -> f64 {
        let d = self.tp as f64 + (self.fp + self.fn_) as f64 / 2.0;
        if d == 0.0 { 0.0 } else { self.tp as f64 / d }
    }

    /// False alarm rate, percent: `100 FP / (FP + TN)`.
    pub fn far(&self) -> f64 {
        let d = (self.fp + self.tn) as f64;
        if d == 0.0 { 0.0 } else { 100.0 * self.fp as f64 / d }
    }

    /// Missed alarm rate, percent: `100 FN / (FN + TP)`.
    pub fn mar(&self) -> f64 {
        let d = (self.fn_ + self.tp) as f64;
        if d == 0.0 {
            0.0
        } else {
            100.0 * self.fn_ as f64 / d
        }
    }
}

/// A NAB cost profile `(A_tp, A_fp, A_fn)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Profile {
    /// Reward of a hit at the window start.
    pub a_tp: f64,
    /// Cost of a false positive.
    pub a_fp: f64,
    /// Cost of a miss.
    pub a_fn: f64,
}

/// The three profiles of the protocol: standard, low false positives, low false negatives.
pub const PROFILES: [Profile; 3] = [
    Profile {
        a_tp: 1.0,
        a_fp: -0.11,
        a_fn: -1.0,
    },
    Profile {
        a_tp: 1.0,
        a_fp: -0.22,
        a_fn: -1.0,
    },
    Profile {
        a_tp: 1.0,
        a_fp: -0.11,
        a_fn: -2.0,
    },
];

impl Profile {
    /// The score of a hit at relative position `e` in [0, 999] of its window.
    pub fn hit(&self, e: u32) -> f64 {
        let e = f64::from(e.min(999));
        let pi = std::f64::consts::PI;
        let sigmoid = 1.0 - (-pi / 2.0 + e * pi / 999.0).tanh() / (pi / 2.0).tanh();
        (self.a_tp - self.a_fp) / 2.0 * sigmoid + self.a_fp
    }
}

/// What the changepoint metric needs of one file, pooled over files by [`Nab::add`].
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Nab {
    /// Raw score per profile.
    pub score: [f64; 3],
    /// Number of windows (true changepoints).
    pub windows: u64,
}

impl Nab {
    /// Adds one file: `times` in seconds, `predicted` alarms per row, `changepoints` true changepoint rows.
    /// Windows are 60 s to the right of each true changepoint, both ends inclusive; a window that would overlap
    /// the next shifts the next one to start where it ends.
    pub fn add(&mut self, times: &[f64], predicted: &[bool], changepoints: &[bool]) {
        let n = times.len().min(predicted.len()).min(changepoints.len());
        let mut windows: Vec<(f64, f64)> = Vec::new();
        for i in (0..n).filter(|&i| changepoints[i]) {
            let mut start = times[i];
            if let Some(&(_, prev_end)) = windows.last()
                && start < prev_end
            {
                start = prev_end;
            }
            windows.push((start, times[i] + 60.0));
        }
        // Predicted changepoints: c[0] = p[0], c[i] = p[i] != p[i-1].
        let predicted_cp = (0..n).filter(|&i| {
            if i == 0 {
                predicted[0]
            } else {
                predicted[i] != predicted[i - 1]
            }
        });
        let mut first_hit: Vec<Option<f64>> = vec![None; windows.len()];
        let mut false_positives = 0u64;
        for i in predicted_cp {
            let t = times[i];
            match windows.iter().position(|&(s, e)| s <= t && t <= e) {
                Some(w) => {
                    if first_hit[w].is_none() {
                        first_hit[w] = Some(t);
                    }
                }
                None => false_positives += 1,
            }
        }
        for (k, p) in PROFILES.iter().enumerate() {
            let mut s = false_positives as f64 * p.a_fp;
            for (w, hit) in first_hit.iter().enumerate() {
                let (start, end) = windows[w];
                s += match hit {
                    Some(t) => {
                        let span = (end - start).max(f64::MIN_POSITIVE);
                        p.hit(((1000.0 * (t - start) / span).floor().max(0.0) as u32).min(999))
                    }
                    None => p.a_fn,
                };
            }
            self.score[k] += s;
        }
        self.windows += windows.len() as u64;
    }

    /// The normalised scores `100 (S - S_null) / (S_perfect - S_null)` for the three profiles.
    pub fn normalised(&self) -> [f64; 3] {
        let w = self.windows as f64;
        let mut out = [0.0; 3];
        for (k, p) in PROFILES.iter().enumerate() {
            let (null, perfect) = (p.a_fn * w, p.a_tp * w);
            out[k] = if perfect == null {
                0.0
            } else {
                100.0 * (self.score[k] - null) / (perfect - null)
            };
        }
        out
    }
}

/// Majority of the last `width` predictions (trailing, causal): the benchmark's "rolling median" of a binary
/// series. The first `width - 1` rows have no full window and are not flagged.
pub fn rolling_median(p: &[bool], width: usize) -> Vec<bool> {
    let width = width.max(1);
    (0..p.len())
        .map(|i| i + 1 >= width && p[i + 1 - width..=i].iter().filter(|b| **b).count() * 2 > width)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hit_curve_ends() {
        let p = PROFILES[0];
        assert!((p.hit(0) - 1.0).abs() < 1e-12);
        assert!((p.hit(999) - p.a_fp).abs() < 1e-12);
        assert!(p.hit(100) > p.hit(500));
    }

    #[test]
    fn nab_perfect_null_and_false_positive() {
        let times: Vec<f64> = (0..200).map(f64::from).collect();
        let mut cp = vec![false; 200];
        cp[50] = true;
        cp[150] = true;
        // Null detector scores 0; a detector firing exactly at each changepoint scores 100.
        let mut null = Nab::default();
        null.add(&times, &[false; 200], &cp);
        assert_eq!(null.normalised(), [0.0; 3]);
        let mut perfect = Nab::default();
        let mut pred = vec![false; 200];
        pred[50..60].fill(true);
        pred[150..160].fill(true);
        perfect.add(&times, &pred, &cp);
        // Each alarm run starts (a hit at e = 0) and ends inside its window (ignored).
        for s in perfect.normalised() {
            assert!((s - 100.0).abs() < 1e-9, "{s}");
        }
        // One alarm outside any window costs A_fp: standard (-0.11 + 2 hits... ) is below 100.
        let mut fp = Nab::default();
        pred[10] = true;
        fp.add(&times, &pred, &cp);
        // Rising edge at 10 and falling edge at 11 are two false positives.
        let expect = 100.0 * (2.0 + 2.0 * -0.11 + 2.0) / 4.0;
        assert!(
            (fp.normalised()[0] - expect).abs() < 1e-9,
            "{:?}",
            fp.normalised()
        );
    }

    #[test]
    fn overlapping_windows_shift() {
        let times: Vec<f64> = (0..100).map(f64::from).collect();
        let mut cp = vec![false; 100];
        cp[10] = true;
        cp[40] = true; // its window [40, 100] starts where [10, 70] ends: [70, 100]
        let mut pred = vec![false; 100];
        pred[45] = true; // inside the first window only (the second now starts at 70)
        pred[46] = true;
        let mut n = Nab::default();
        n.add(&times, &pred, &cp);
        assert_eq!(n.windows, 2);
        // Hit in window 1 at e = floor(1000 * 35 / 60) = 583, window 2 missed; the fall at 47 is inside window 1.
        let p = PROFILES[0];
        assert!((n.score[0] - (p.hit(583) + p.a_fn)).abs() < 1e-12);
    }

    #[test]
    fn rolling_median_is_causal_majority() {
        let p = [true, true, false, true, false, false, true];
        assert_eq!(
            rolling_median(&p, 3),
            [false, false, true, true, false, false, false]
        );
    }
}
