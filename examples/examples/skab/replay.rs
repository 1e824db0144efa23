//! The recommended ensemble's vote replayed from its members' scores (computed once per file), through the
//! real [`Voter`] with its diagnosis, under any setting and with one member broken.

use aeroguard_detect::{Diagnosis, FROZEN_FLOOR, FittedDetector, Voter};
use aeroguard_eval::cv::{Scored, Setting};
use aeroguard_examples::Result;
use ndarray::{Array1, ArrayView1, ArrayView2};

/// A member that gives back scores computed before: `score` on a file's rows returns them.
#[derive(Debug, Clone)]
struct Replay {
    name: String,
    scores: Vec<f64>,
    threshold: f64,
}

impl FittedDetector for Replay {
    fn name(&self) -> &str {
        &self.name
    }
    fn n_features(&self) -> usize {
        1
    }
    fn threshold(&self) -> f64 {
        self.threshold
    }
    fn set_threshold(&mut self, threshold: f64) {
        self.threshold = threshold;
    }
    fn score(&self, x: ArrayView2<f64>) -> aeroguard_detect::Result<Array1<f64>> {
        Ok(Array1::from(
            self.scores[..x.nrows().min(self.scores.len())].to_vec(),
        ))
    }
    fn update(&mut self, _row: ArrayView1<f64>) -> aeroguard_detect::Result<f64> {
        Ok(f64::NAN)
    }
    fn reset(&mut self) {}
}

/// How one member is broken from the first test row on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Failure {
    /// Every member works.
    None,
    /// The member never votes: its score stays below its threshold (and keeps moving, so no diagnosis can
    /// tell it from a quiet member).
    Silent(usize),
    /// The member always votes: its score stays above its threshold (and keeps moving, so only the
    /// alarming-alone check can find it).
    Stuck(usize),
}

/// What a replayed vote gave on one file.
pub struct Replayed {
    /// The alarm on every row.
    pub alarms: Vec<bool>,
    /// Rows from the first test row until the broken member was first left out as unhealthy, if it was.
    pub flagged_after: Option<usize>,
}

/// The vote on `s`'s rows under `setting`, with `failure`, the diagnosis checking `alone_window` rows for a
/// member voting alone (the recipe's `voting.alone_window`).
pub fn vote(
    s: &Scored,
    names: &[String],
    setting: &Setting,
    failure: Failure,
    alone_window: usize,
) -> Result<Replayed> {
    let rows = s.labels.len();
    let members: Vec<Replay> = s
        .scores
        .iter()
        .zip(&s.baselines)
        .enumerate()
        .map(|(i, (scores, b))| {
            let threshold = b.threshold(setting.scale);
            let broken = |t: usize, v: f64| -> f64 {
                let spread = if v.is_finite() { v.abs() } else { 0.0 };
                match failure {
                    Failure::Silent(j) if j == i && t >= s.test_from => threshold - 1.0 - spread,
                    Failure::Stuck(j) if j == i && t >= s.test_from => threshold + 1.0 + spread,
                    _ => v,
                }
            };
            Replay {
                name: names.get(i).cloned().unwrap_or_else(|| format!("member {i}")),
                scores: scores.iter().enumerate().map(|(t, v)| broken(t, *v)).collect(),
                threshold,
            }
        })
        .collect();
    let weights = if s.weights.is_empty() {
        vec![1.0; members.len()]
    } else {
        s.weights.clone()
    };
    // Frozen limits from the training rows, as a fitted recipe calibrates them.
    let frozen_limits = s
        .scores
        .iter()
        .map(|v| Diagnosis::frozen_limit_from(&v[..s.test_from], FROZEN_FLOOR))
        .collect();
    let voter = Voter::builder(members)
        .weights(weights)
        .m(setting.m as f64)
        .k_of_window(setting.k_of, setting.window)
        .diagnosis(Diagnosis {
            frozen_limits,
            alone_window,
            ..Diagnosis::default()
        })
        .build()?;
    let verdicts = voter.decide(ndarray::Array2::<f64>::zeros((rows, 1)).view())?;
    let broken = match failure {
        Failure::Silent(j) | Failure::Stuck(j) => Some(j),
        Failure::None => None,
    };
    let flagged_after = broken.and_then(|j| {
        verdicts[s.test_from..]
            .iter()
            .position(|v| v.members[j].fault.is_some())
    });
    Ok(Replayed {
        alarms: verdicts.iter().map(|v| v.alarm).collect(),
        flagged_after,
    })
}
