//! Building a [`Voter`]: members, weights, `m`, degraded mode and the temporal rule, validated together.

use std::time::Duration;

use super::{Degraded, Diagnosis, Stream, VoteRule, Voter};
use crate::{Error, FittedDetector, Result};

/// Builds a [`Voter`].
#[derive(Debug)]
pub struct VoterBuilder<D> {
    pub(super) members: Vec<D>,
    pub(super) weights: Option<Vec<f64>>,
    pub(super) m: Option<f64>,
    pub(super) degraded: Degraded,
    pub(super) window: Option<(usize, usize)>,
    pub(super) duration: Option<(Duration, Duration)>,
    pub(super) diagnosis: Diagnosis,
    pub(super) require_integrity: bool,
}

pub(super) fn check_m(m: f64, weights: &[f64]) -> Result<()> {
    let total: f64 = weights.iter().sum();
    if !(m > 0.0 && m <= total + 1e-9) {
        return Err(Error::parameter(
            "m",
            m,
            "lies in (0, total weight of the members]",
        ));
    }
    Ok(())
}

impl<D: FittedDetector> VoterBuilder<D> {
    /// Member weights (default 1 each).
    pub fn weights(mut self, w: Vec<f64>) -> Self {
        self.weights = Some(w);
        self
    }
    /// Weight of yes votes needed for an alarm (default: a majority of the members).
    pub fn m(mut self, m: f64) -> Self {
        self.m = Some(m);
        self
    }
    /// What a failed member counts as.
    pub fn degraded(mut self, d: Degraded) -> Self {
        self.degraded = d;
        self
    }
    /// Alarm only when at least `k` of the last `w` rows passed the vote.
    pub fn k_of_window(mut self, k: usize, w: usize) -> Self {
        self.window = Some((k, w));
        self
    }
    /// Alarm only when the vote passed for at least `k` of the last `w` of time, from the rows' timestamps
    /// ([`Voter::update_at`]; a row's vote covers the time since the row before: see [`TimeWindow`](crate::TimeWindow)).
    /// For plants that sample at different rates; one temporal rule per voter (rows or time).
    pub fn k_of_duration(mut self, k: Duration, w: Duration) -> Self {
        self.duration = Some((k, w));
        self
    }
    /// How members diagnose themselves (default [`Diagnosis::default`]).
    pub fn diagnosis(mut self, d: Diagnosis) -> Self {
        self.diagnosis = d;
        self
    }
    /// Refuse to build a vote that one member can force or suppress ([`Integrity`](super::Integrity)), with an
    /// error naming the member.
    ///
    /// ```
    /// use aeroguard_detect::{ClusterProfile, Detector, Error, FittedDetector, Rule, RuleSet, Voter};
    /// use ndarray::Array2;
    /// let normal = Array2::from_shape_fn((300, 2), |(i, j)| ((i * 7 + j * 13) % 17) as f64);
    /// let members: Vec<Box<dyn FittedDetector>> = vec![
    ///     Box::new(RuleSet::new(vec![Rule::Range { sensor: 0, min: 0.0, max: 16.0 }])?.fit(normal.view())?),
    ///     Box::new(ClusterProfile::builder().build()?.fit(normal.view())?),
    /// ];
    /// let e = Voter::builder(members).m(2.0).require_integrity().build().unwrap_err();
    /// assert!(e.to_string().contains("member `rules` suppresses every alarm"), "{e}");
    /// # Ok::<(), aeroguard_detect::Error>(())
    /// ```
    pub fn require_integrity(mut self) -> Self {
        self.require_integrity = true;
        self
    }
    /// Validates: at least one member, members of one width with distinct names, positive finite weights,
    /// `m` within the total weight, `1 <= k <= w`.
    pub fn build(self) -> Result<Voter<D>> {
        let n = self.members.len();
        if n == 0 {
            return Err(Error::Ensemble {
                reason: "no members".into(),
            });
        }
        let width = self.members[0].n_features();
        for (i, m) in self.members.iter().enumerate() {
            if m.n_features() != width {
                return Err(Error::Ensemble {
                    reason: format!(
                        "member `{}` takes {} columns, member `{}` {width}",
                        m.name(),
                        m.n_features(),
                        self.members[0].name()
                    ),
                });
            }
            if self.members[..i].iter().any(|o| o.name() == m.name()) {
                return Err(Error::Ensemble {
                    reason: format!("two members are named `{}`", m.name()),
                });
            }
        }
        let weights = self.weights.unwrap_or_else(|| vec![1.0; n]);
        if weights.len() != n {
            return Err(Error::parameter("weights", &weights, "one weight per member"));
        }
        if weights.iter().any(|w| !(w.is_finite() && *w > 0.0)) {
            return Err(Error::parameter(
                "weights",
                &weights,
                "every weight is finite and above 0",
            ));
        }
        let m = self.m.unwrap_or((n / 2 + 1) as f64);
        check_m(m, &weights)?;
        self.diagnosis.check(n)?;
        if self.require_integrity {
            let names: Vec<&str> = self.members.iter().map(FittedDetector::name).collect();
            let warnings = super::Integrity::of(&names, &weights, m).warnings();
            if !warnings.is_empty() {
                return Err(Error::Ensemble {
                    reason: warnings.join("; "),
                });
            }
        }
        if let Some((k, w)) = self.window {
            if !(k >= 1 && k <= w) {
                return Err(Error::parameter("k_of_window", (k, w), "1 <= k <= w"));
            }
            crate::limits::at_most("k_of_window window", w, crate::limits::MAX_WINDOW)?;
        }
        let timed = match self.duration {
            Some(_) if self.window.is_some() => {
                return Err(Error::parameter(
                    "k_of_duration",
                    format!("{:?}", self.duration),
                    "one temporal rule per voter: k of the last w rows, or of the last w of time",
                ));
            }
            Some((k, w)) => Some(crate::TimeWindow::new(k, w)?),
            None => None,
        };
        let duration = timed.as_ref().map(|t| {
            let (k, w) = t.bounds();
            (k.as_millis() as u64, w.as_millis() as u64)
        });
        Ok(Voter {
            members: self.members,
            weights,
            rule: VoteRule {
                m,
                degraded: self.degraded,
            },
            window: self.window,
            duration,
            diagnosis: self.diagnosis,
            state: Stream {
                timed,
                ..Stream::default()
            },
        })
    }
}
