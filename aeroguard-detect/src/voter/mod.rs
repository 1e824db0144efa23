//! M-of-N voting over fitted detectors, with a record of who voted what for every decision.
//!
//! Each member scores the row against its own calibrated threshold and votes yes (score above it), no, abstains
//! (it has no score yet, shown as a NaN score, for example while a sequence model warms up) or fails (it
//! returned an error). The verdict is an alarm when the weight of the yes votes reaches `m`.
//!
//! **Degraded operation**, as MooN safety architectures define it, is explicit: with
//! [`Degraded::FailSafe`] (the default) a failed member counts as a yes vote, so a 3oo4 vote with one member
//! down behaves as 2oo3 over the remaining three, and an alarm is never suppressed by a broken member. With
//! [`Degraded::Drop`] a failed member is left out and `m` is kept (3oo4 becomes 3oo3): fewer false alarms,
//! more missed ones. Either way the verdict says it was [`degraded`](Verdict::degraded).
//!
//! The optional temporal rule raises the alarm only when at least `k` of the last `w` rows' votes passed
//! (causal), which removes single-row flicker.

use std::collections::VecDeque;
use std::time::Duration;

use ndarray::{ArrayView1, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::{Error, FittedDetector, Result};

/// One member's vote on one row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "vote", content = "reason", rename_all = "snake_case")]
pub enum Vote {
    /// Score above the threshold.
    Yes,
    /// Score at or below the threshold.
    No,
    /// No score for this row, and why.
    Abstained(String),
    /// The member returned an error, and which.
    Failed(String),
}

/// What to do with a failed member (see [`Voter`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Degraded {
    /// A failed member counts as a yes vote: 3oo4 with one down is 2oo3.
    #[default]
    FailSafe,
    /// A failed member is left out and `m` is kept: 3oo4 with one down is 3oo3.
    Drop,
}

/// One member's part in a verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberRecord {
    /// The member's name.
    pub name: String,
    /// Its score, if it produced one.
    pub score: Option<f64>,
    /// Its threshold.
    pub threshold: f64,
    /// Its weight.
    pub weight: f64,
    /// How it voted.
    pub vote: Vote,
}

/// The decision on one row, with every member's record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// The alarm, after the temporal rule.
    pub alarm: bool,
    /// Whether this row's vote alone reached `m`.
    pub passed: bool,
    /// Weight counted for the alarm (yes votes, plus failed members under [`Degraded::FailSafe`]).
    pub yes: f64,
    /// Weight needed.
    pub required: f64,
    /// Whether any member failed.
    pub degraded: bool,
    /// Every member's record, in member order.
    pub members: Vec<MemberRecord>,
}

/// The vote rule, separate from the members so it can be reasoned about (and property-tested) alone.
///
/// ```
/// use aeroguard_detect::{Degraded, Vote, VoteRule};
/// let rule = VoteRule { m: 3.0, degraded: Degraded::FailSafe };
/// let votes = [Vote::Yes, Vote::Yes, Vote::No, Vote::Failed("lost sensor".into())];
/// // 3oo4 with one member failed is 2oo3: two yes votes raise the alarm.
/// assert!(rule.passes(&votes, &[1.0; 4]));
/// assert!(!VoteRule { m: 3.0, degraded: Degraded::Drop }.passes(&votes, &[1.0; 4]));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct VoteRule {
    /// Weight of yes votes needed (with unit weights: the M of M-of-N).
    pub m: f64,
    /// What a failed member counts as.
    pub degraded: Degraded,
}

impl VoteRule {
    /// The weight counted for the alarm.
    pub fn tally(&self, votes: &[Vote], weights: &[f64]) -> f64 {
        votes
            .iter()
            .zip(weights)
            .map(|(v, w)| match v {
                Vote::Yes => *w,
                Vote::Failed(_) if self.degraded == Degraded::FailSafe => *w,
                _ => 0.0,
            })
            .sum()
    }

    /// Whether the votes reach `m`.
    pub fn passes(&self, votes: &[Vote], weights: &[f64]) -> bool {
        self.tally(votes, weights) >= self.m - 1e-9
    }
}

/// M-of-N voting over fitted detectors. `D` is any [`FittedDetector`]: `Box<dyn FittedDetector>` for a mixed
/// ensemble, or [`Model`](crate::Model) for one that saves and loads.
///
/// ```
/// use aeroguard_detect::{ClusterProfile, Detector, FittedDetector, Rule, RuleSet, Voter, Vote};
/// use ndarray::{Array2, array};
/// let normal = Array2::from_shape_fn((300, 2), |(i, j)| ((i * 7 + j * 13) % 17) as f64);
/// let profile = ClusterProfile::builder().build()?.fit(normal.view())?;
/// let rules = RuleSet::new(vec![Rule::Range { sensor: 0, min: 0.0, max: 16.0 }])?.fit(normal.view())?;
/// let members: Vec<Box<dyn FittedDetector>> = vec![Box::new(profile), Box::new(rules)];
/// let mut voter = Voter::builder(members).m(2.0).build()?;
/// let v = voter.update(array![100.0, 5.0].view());
/// assert!(v.alarm);
/// assert_eq!(v.members[1].name, "rules");
/// assert_eq!(v.members[1].vote, Vote::Yes);
/// assert!(!voter.update(array![8.0, 5.0].view()).alarm);
/// # Ok::<(), aeroguard_detect::Error>(())
/// ```
#[derive(Debug, Serialize, Deserialize)]
#[serde(try_from = "SavedVoter<D>")]
#[serde(bound(deserialize = "D: FittedDetector + Deserialize<'de>"))]
pub struct Voter<D = Box<dyn FittedDetector>> {
    members: Vec<D>,
    weights: Vec<f64>,
    rule: VoteRule,
    window: Option<(usize, usize)>,
    /// `k` of the last `w` of time, in ms ([`VoterBuilder::k_of_duration`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    duration: Option<(u64, u64)>,
    #[serde(skip)]
    recent: VecDeque<bool>,
    #[serde(skip)]
    timed: Option<crate::TimeWindow>,
}

/// A voter as saved: rebuilt through [`VoterBuilder::build`] on load, so a damaged file cannot make an
/// ensemble the builder would refuse (no members, weights that do not match, `m` out of reach).
#[derive(Deserialize)]
struct SavedVoter<D> {
    members: Vec<D>,
    weights: Vec<f64>,
    rule: VoteRule,
    window: Option<(usize, usize)>,
    #[serde(default)]
    duration: Option<(u64, u64)>,
}

impl<D: FittedDetector> TryFrom<SavedVoter<D>> for Voter<D> {
    type Error = Error;
    fn try_from(v: SavedVoter<D>) -> Result<Self> {
        let b = Voter::builder(v.members)
            .weights(v.weights)
            .m(v.rule.m)
            .degraded(v.rule.degraded);
        let b = match v.window {
            Some((k, w)) => b.k_of_window(k, w),
            None => b,
        };
        match v.duration {
            Some((k, w)) => b
                .k_of_duration(Duration::from_millis(k), Duration::from_millis(w))
                .build(),
            None => b.build(),
        }
    }
}

impl<D: FittedDetector> Voter<D> {
    /// A builder over these members; the default is a majority vote (M = N/2 + 1) with unit weights.
    pub fn builder(members: Vec<D>) -> VoterBuilder<D> {
        VoterBuilder {
            members,
            weights: None,
            m: None,
            degraded: Degraded::default(),
            window: None,
            duration: None,
        }
    }

    /// The members.
    pub fn members(&self) -> &[D] {
        &self.members
    }

    /// Mutable access to the members (for example to recalibrate a threshold).
    pub fn members_mut(&mut self) -> &mut [D] {
        &mut self.members
    }

    /// The vote rule.
    pub fn rule(&self) -> VoteRule {
        self.rule
    }

    /// Changes the weight needed for an alarm.
    pub fn set_m(&mut self, m: f64) -> Result<()> {
        check_m(m, &self.weights)?;
        self.rule.m = m;
        Ok(())
    }

    /// The verdicts on a batch, read as one sequence from a fresh state (the streaming state is not touched).
    /// A member that fails on the batch is recorded as failed on every row.
    pub fn decide(&self, x: ArrayView2<f64>) -> Result<Vec<Verdict>> {
        let width = self.members[0].n_features();
        if x.ncols() != width {
            return Err(Error::Shape {
                what: "rows to vote on",
                expected: width,
                got: x.ncols(),
            });
        }
        let scored: Vec<std::result::Result<Vec<f64>, String>> = self
            .members
            .iter()
            .map(|m| m.score(x).map(|s| s.to_vec()).map_err(|e| e.to_string()))
            .collect();
        let mut recent = VecDeque::new();
        Ok((0..x.nrows())
            .map(|i| {
                let scores = scored
                    .iter()
                    .map(|s| s.as_ref().map(|v| v[i]).map_err(Clone::clone));
                self.verdict(scores, &mut recent, None)
            })
            .collect())
    }

    /// The verdict on the next row of a stream. A member's error on this row is recorded as its failure;
    /// the verdict itself never fails. A voter with a time window ([`VoterBuilder::k_of_duration`]) needs
    /// the rows' times: here, without them, each verdict's alarm is the row's own vote (use
    /// [`update_at`](Self::update_at)).
    pub fn update(&mut self, row: ArrayView1<f64>) -> Verdict {
        let scores: Vec<_> = self
            .members
            .iter_mut()
            .map(|m| m.update(row).map_err(|e| e.to_string()))
            .collect();
        let mut recent = std::mem::take(&mut self.recent);
        let v = self.verdict(scores.into_iter(), &mut recent, None);
        self.recent = recent;
        v
    }

    /// [`update`](Self::update) for a row measured at `at`: members that measure persistence in time see the
    /// time, and the vote's time window ([`VoterBuilder::k_of_duration`]) is applied.
    ///
    /// ```
    /// use std::time::Duration;
    /// use aeroguard_core::Timestamp;
    /// use aeroguard_detect::{Detector, FittedDetector, Rule, RuleSet, Voter};
    /// use ndarray::{Array2, array};
    /// let normal = Array2::from_shape_fn((50, 1), |(i, _)| (i % 10) as f64);
    /// let rules = RuleSet::new(vec![Rule::Range { sensor: 0, min: 0.0, max: 10.0 }])?.fit(normal.view())?;
    /// let members: Vec<Box<dyn FittedDetector>> = vec![Box::new(rules)];
    /// // Out of range for at least 30 s of the last minute.
    /// let window = (Duration::from_secs(30), Duration::from_secs(60));
    /// let mut voter = Voter::builder(members).k_of_duration(window.0, window.1).build()?;
    /// let at = |s: i64| Timestamp::from_millis(s * 1000);
    /// assert!(!voter.update_at(array![50.0].view(), at(0)).alarm);
    /// assert!(!voter.update_at(array![50.0].view(), at(20)).alarm); // out of range for 20 s
    /// assert!(voter.update_at(array![50.0].view(), at(40)).alarm); // 40 s
    /// # Ok::<(), aeroguard_detect::Error>(())
    /// ```
    pub fn update_at(&mut self, row: ArrayView1<f64>, at: aeroguard_core::Timestamp) -> Verdict {
        let scores: Vec<_> = self
            .members
            .iter_mut()
            .map(|m| m.update_at(row, at).map_err(|e| e.to_string()))
            .collect();
        let mut recent = std::mem::take(&mut self.recent);
        let mut timed = self.timed.take();
        let v = self.verdict(
            scores.into_iter(),
            &mut recent,
            timed.as_mut().map(|t| (t, at.as_millis())),
        );
        self.recent = recent;
        self.timed = timed;
        v
    }

    /// Forgets every member's streaming state and the temporal window.
    pub fn reset(&mut self) {
        self.members.iter_mut().for_each(FittedDetector::reset);
        self.recent.clear();
        if let Some(t) = &mut self.timed {
            t.reset();
        }
    }

    fn verdict(
        &self,
        scores: impl Iterator<Item = std::result::Result<f64, String>>,
        recent: &mut VecDeque<bool>,
        timed: Option<(&mut crate::TimeWindow, i64)>,
    ) -> Verdict {
        let members: Vec<MemberRecord> = scores
            .zip(&self.members)
            .zip(&self.weights)
            .map(|((s, m), &weight)| {
                let threshold = m.threshold();
                let (score, vote) = match s {
                    Ok(s) if s.is_nan() => (None, Vote::Abstained("no score yet".into())),
                    Ok(s) => (Some(s), if s > threshold { Vote::Yes } else { Vote::No }),
                    Err(e) => (None, Vote::Failed(e)),
                };
                MemberRecord {
                    name: m.name().to_string(),
                    score,
                    threshold,
                    weight,
                    vote,
                }
            })
            .collect();
        let votes: Vec<Vote> = members.iter().map(|r| r.vote.clone()).collect();
        let yes = self.rule.tally(&votes, &self.weights);
        let passed = self.rule.passes(&votes, &self.weights);
        let alarm = match (self.window, timed) {
            (Some((k, w)), _) => {
                if recent.len() == w {
                    recent.pop_front();
                }
                recent.push_back(passed);
                recent.iter().filter(|p| **p).count() >= k
            }
            (None, Some((window, at))) => window.push(at, passed),
            (None, None) => passed,
        };
        let degraded = votes.iter().any(|v| matches!(v, Vote::Failed(_)));
        Verdict {
            alarm,
            passed,
            yes,
            required: self.rule.m,
            degraded,
            members,
        }
    }
}

mod builder;

pub use builder::VoterBuilder;
use builder::check_m;
