//! Cross-validated choice of a vote's settings: the members' scores are computed once per file, and each
//! fold's setting (threshold scale, votes needed, temporal rule) is chosen on the other folds' files only,
//! then applied to the held-out files. So the figures on the held-out files are out of sample: nothing about
//! them chose what scored them.

use crate::metrics::Counts;

/// How a member's threshold follows the setting's scale.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Baseline {
    /// `median + scale · z · 1.4826 · MAD` of the member's training scores.
    RobustZ {
        /// Median of the training scores.
        median: f64,
        /// Median absolute deviation of the training scores.
        mad: f64,
        /// The recipe's z.
        z: f64,
    },
    /// A threshold the scale does not move (the rules' 0).
    Fixed(f64),
    /// A threshold already in robust z units, which the scale multiplies (the level-shift member's).
    Scaled(f64),
}

impl Baseline {
    /// The threshold at `scale`.
    pub fn threshold(&self, scale: f64) -> f64 {
        match *self {
            Baseline::RobustZ { median, mad, z } => median + scale * z * 1.4826 * mad,
            Baseline::Fixed(t) => t,
            Baseline::Scaled(t) => scale * t,
        }
    }
}

/// One file's member scores, ready for any setting.
#[derive(Debug, Clone)]
pub struct Scored {
    /// The fold the file belongs to (its folder).
    pub folder: String,
    /// Per member, one score per row of the whole file (training rows first: the temporal rule runs over
    /// the whole file as one stream).
    pub scores: Vec<Vec<f64>>,
    /// Per member, how its threshold follows the scale.
    pub baselines: Vec<Baseline>,
    /// Per member, the weight of its yes vote (empty: 1 each).
    pub weights: Vec<f64>,
    /// The label of every row.
    pub labels: Vec<bool>,
    /// Where the scored (test) rows begin.
    pub test_from: usize,
}

/// A vote's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Setting {
    /// Multiplies every robust-z member's z.
    pub scale: f64,
    /// Weight of the yes votes needed.
    pub m: usize,
    /// `k` of the last `w` rows that passed the vote.
    pub k_of: usize,
    /// The window of the temporal rule, in rows.
    pub window: usize,
}

/// What a setting is chosen for, among those whose false-alarm rate with every member working stays within
/// the budget.
///
/// ```
/// use aeroguard_eval::cv::Aim;
/// // A vote that must keep working with any one member broken silent is chosen for its worst case.
/// assert_ne!(Aim::WorstSilent, Aim::F1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aim {
    /// The best F1 with every member working.
    F1,
    /// The best worst-case F1: the lowest of the F1 with every member working and the F1 with each one
    /// member silent (never voting) on the test rows. A vote chosen for it does not lean on one member.
    WorstSilent,
}

/// The settings tried.
#[derive(Debug, Clone)]
pub struct Grid {
    /// Threshold scales.
    pub scales: Vec<f64>,
    /// Votes needed.
    pub ms: Vec<usize>,
    /// `(k, w)` temporal rules.
    pub windows: Vec<(usize, usize)>,
}

impl Grid {
    /// Every setting.
    pub fn settings(&self) -> Vec<Setting> {
        let mut out = Vec::new();
        for &scale in &self.scales {
            for &m in &self.ms {
                for &(k_of, window) in &self.windows {
                    out.push(Setting {
                        scale,
                        m,
                        k_of,
                        window,
                    });
                }
            }
        }
        out
    }
}

impl Scored {
    /// The alarms on every row under `s`: a member votes yes when its score is above its threshold (a NaN
    /// score abstains), the row passes when the yes votes weigh `m` or more, and alarms when `k_of` of the
    /// last `window` rows passed, as the voter decides.
    pub fn alarms(&self, s: &Setting) -> Vec<bool> {
        self.alarms_with(s, None)
    }

    /// The alarms as [`alarms`](Self::alarms) gives them, with member `silent` (when given) never voting on
    /// the test rows: a member broken the dangerous way, which no diagnosis can tell from a quiet one.
    pub fn alarms_with(&self, s: &Setting, silent: Option<usize>) -> Vec<bool> {
        let rows = self.labels.len();
        let thresholds: Vec<f64> = self.baselines.iter().map(|b| b.threshold(s.scale)).collect();
        let weight = |i: usize| self.weights.get(i).copied().unwrap_or(1.0);
        let mut recent = std::collections::VecDeque::with_capacity(s.window);
        (0..rows)
            .map(|t| {
                let yes: f64 = self
                    .scores
                    .iter()
                    .zip(&thresholds)
                    .enumerate()
                    .filter(|(i, _)| silent != Some(*i) || t < self.test_from)
                    .filter(|(_, (sc, thr))| sc[t] > **thr)
                    .map(|(i, _)| weight(i))
                    .sum();
                if recent.len() == s.window {
                    recent.pop_front();
                }
                recent.push_back(yes >= s.m as f64);
                recent.iter().filter(|p| **p).count() >= s.k_of
            })
            .collect()
    }

    /// The counts on the test rows under `s`.
    pub fn counts(&self, s: &Setting) -> Counts {
        self.counts_with(s, None)
    }

    /// The counts on the test rows under `s` with member `silent` never voting on them.
    pub fn counts_with(&self, s: &Setting, silent: Option<usize>) -> Counts {
        let mut c = Counts::default();
        let alarms = self.alarms_with(s, silent);
        c.add(&alarms[self.test_from..], &self.labels[self.test_from..]);
        c
    }
}

/// The counts of `files`' test rows under `s`, pooled.
pub fn pooled(files: &[&Scored], s: &Setting) -> Counts {
    pooled_with(files, s, None)
}

/// The counts of `files`' test rows under `s` with member `silent` never voting on them, pooled.
pub fn pooled_with(files: &[&Scored], s: &Setting, silent: Option<usize>) -> Counts {
    let mut c = Counts::default();
    for f in files {
        c.merge(&f.counts_with(s, silent));
    }
    c
}

/// The F1 `aim` asks for under `s` on `files`, given `healthy`, their counts with every member working.
pub fn merit(files: &[&Scored], s: &Setting, healthy: &Counts, aim: Aim) -> f64 {
    let members = files.first().map_or(0, |f| f.scores.len());
    match aim {
        Aim::WorstSilent if members > 1 => (0..members)
            .map(|i| pooled_with(files, s, Some(i)).f1())
            .fold(healthy.f1(), f64::min),
        _ => healthy.f1(),
    }
}

/// The setting with the best F1 (as `aim` counts it) whose pooled false-alarm rate on `files`, every member
/// working, stays within `far_budget` (a fraction); when none does, the one with the fewest false alarms. Ties
/// go to the earlier setting.
pub fn choose(files: &[&Scored], grid: &Grid, far_budget: f64, aim: Aim) -> Setting {
    let mut best: Option<(bool, f64, f64, Setting)> = None;
    for s in grid.settings() {
        let c = pooled(files, &s);
        let far = c.far() / 100.0;
        let f1 = if far <= far_budget {
            merit(files, &s, &c, aim)
        } else {
            c.f1()
        };
        let within = far <= far_budget;
        let better = match best {
            None => true,
            Some((w, bf1, bfar, _)) => match (within, w) {
                (true, false) => true,
                (false, true) => false,
                (true, true) => f1 > bf1,
                (false, false) => far < bfar,
            },
        };
        if better {
            best = Some((within, f1, far, s));
        }
    }
    best.map(|b| b.3).unwrap_or(Setting {
        scale: 1.0,
        m: 1,
        k_of: 1,
        window: 1,
    })
}

/// Cross-validation over `folds` (each a list of file indices): every fold's files are scored with the
/// setting chosen on the other folds' files. Returns, per file, the setting that scored it and its alarms.
pub fn cross_validate(
    files: &[Scored],
    folds: &[Vec<usize>],
    grid: &Grid,
    far_budget: f64,
    aim: Aim,
) -> Vec<(usize, Setting, Vec<bool>)> {
    let mut out = Vec::new();
    for fold in folds {
        let training: Vec<&Scored> = (0..files.len())
            .filter(|i| !fold.contains(i))
            .map(|i| &files[i])
            .collect();
        let s = choose(&training, grid, far_budget, aim);
        for &i in fold {
            out.push((i, s, files[i].alarms(&s)));
        }
    }
    out.sort_by_key(|(i, ..)| *i);
    out
}

/// Folds of one file each (leave one file out).
pub fn by_file(files: &[Scored]) -> Vec<Vec<usize>> {
    (0..files.len()).map(|i| vec![i]).collect()
}

/// Folds of one folder each (leave one folder out), in the order folders first appear.
pub fn by_folder(files: &[Scored]) -> Vec<Vec<usize>> {
    let mut names: Vec<&str> = Vec::new();
    let mut folds: Vec<Vec<usize>> = Vec::new();
    for (i, f) in files.iter().enumerate() {
        match names.iter().position(|n| *n == f.folder) {
            Some(k) => folds[k].push(i),
            None => {
                names.push(&f.folder);
                folds.push(vec![i]);
            }
        }
    }
    folds
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(folder: &str, scores: Vec<f64>, labels: Vec<bool>) -> Scored {
        Scored {
            folder: folder.into(),
            scores: vec![scores],
            baselines: vec![Baseline::RobustZ {
                median: 0.0,
                mad: 1.0 / 1.4826,
                z: 1.0,
            }],
            weights: Vec::new(),
            labels,
            test_from: 0,
        }
    }

    #[test]
    fn the_held_out_fold_does_not_choose_its_setting() {
        // Folder a: anomalies score 5, normal rows 1; folder b: anomalies 3, normal rows 2.5.
        let a = file("a", vec![1.0, 5.0, 1.0, 5.0], vec![false, true, false, true]);
        let b = file("b", vec![2.5, 3.0, 2.5, 3.0], vec![false, true, false, true]);
        let grid = Grid {
            scales: vec![0.5, 2.0, 4.0],
            ms: vec![1],
            windows: vec![(1, 1)],
        };
        let files = vec![a, b];
        let folds = by_folder(&files);
        assert_eq!(folds, vec![vec![0], vec![1]]);
        let out = cross_validate(&files, &folds, &grid, 0.0, Aim::F1);
        // Chosen on b alone, a's setting is 4.0: on b, 0.5 and 2.0 raise false alarms (b's normal rows score
        // 2.5). Chosen on a alone, b's setting is 2.0, the first perfect on a, and on b it alarms everywhere:
        // the held-out figure shows what a tuned-in-sample one would hide.
        assert_eq!(out[0].1.scale, 4.0);
        assert_eq!(out[0].2, vec![false, true, false, true]);
        assert_eq!(out[1].1.scale, 2.0);
        assert_eq!(
            out[1].2,
            vec![true, true, true, true],
            "b's normal rows sit above a's threshold"
        );
    }

    #[test]
    fn alarms_follow_the_voter_rules() {
        let f = Scored {
            folder: "x".into(),
            scores: vec![vec![1.0, 1.0, f64::NAN, 1.0], vec![1.0, 0.0, 1.0, 1.0]],
            baselines: vec![Baseline::Fixed(0.5), Baseline::Fixed(0.5)],
            weights: Vec::new(),
            labels: vec![false; 4],
            test_from: 0,
        };
        let s = |m, k_of, window| Setting {
            scale: 1.0,
            m,
            k_of,
            window,
        };
        assert_eq!(f.alarms(&s(2, 1, 1)), vec![true, false, false, true]);
        assert_eq!(f.alarms(&s(1, 1, 1)), vec![true, true, true, true]);
        assert_eq!(f.alarms(&s(2, 2, 3)), vec![false, false, false, false]);
        assert_eq!(f.alarms(&s(2, 2, 4)), vec![false, false, false, true]);
        // Weighted: the second member's yes weighs 2, so it passes m = 2 alone and the first does not.
        let w = Scored {
            weights: vec![1.0, 2.0],
            ..f.clone()
        };
        assert_eq!(w.alarms(&s(2, 1, 1)), vec![true, false, true, true]);
        assert_eq!(w.alarms(&s(3, 1, 1)), vec![true, false, false, true]);
    }

    #[test]
    fn the_worst_silent_aim_picks_a_vote_no_one_member_carries() {
        // Three members see both anomalies (rows 1 and 3); the third also alarms on row 0. Three of three and
        // two of three are both perfect with every member working, and the F1 aim keeps the earlier, three.
        // With any one member silent, three of three finds nothing; two of three still finds both.
        let f = Scored {
            folder: "x".into(),
            scores: vec![
                vec![0.0, 1.0, 0.0, 1.0],
                vec![0.0, 1.0, 0.0, 1.0],
                vec![1.0, 1.0, 0.0, 1.0],
            ],
            baselines: vec![Baseline::Fixed(0.5); 3],
            weights: Vec::new(),
            labels: vec![false, true, false, true],
            test_from: 0,
        };
        let grid = Grid {
            scales: vec![1.0],
            ms: vec![3, 2],
            windows: vec![(1, 1)],
        };
        assert_eq!(choose(&[&f], &grid, 0.0, Aim::F1).m, 3);
        let robust = choose(&[&f], &grid, 0.0, Aim::WorstSilent);
        assert_eq!(robust.m, 2);
        assert_eq!(pooled_with(&[&f], &robust, Some(0)).f1(), 1.0);
        assert_eq!(f.alarms_with(&robust, Some(2)), vec![false, true, false, true]);
        // Silent only from the test rows on: before them the member still votes.
        let later = Scored {
            test_from: 2,
            ..f.clone()
        };
        let three = Setting { m: 3, ..robust };
        assert_eq!(
            later.alarms_with(&three, Some(0)),
            vec![false, true, false, false]
        );
    }

    #[test]
    fn a_scaled_baseline_multiplies_its_threshold() {
        assert_eq!(Baseline::Scaled(10.0).threshold(1.5), 15.0);
        assert_eq!(Baseline::Fixed(10.0).threshold(1.5), 10.0);
    }
}
