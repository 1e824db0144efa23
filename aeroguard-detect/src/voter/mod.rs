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
//! **Members diagnose themselves** ([`Diagnosis`]): a member whose score is frozen, non-finite, or that alarms
//! alone far above its calibrated rate is marked with its [`Fault`], left out of the vote (neither yes nor no)
//! and counted again once it recovers. `m` is kept while the counted members can reach it, and lowered to
//! their whole weight when they cannot, so a broken member never silences the vote. [`Voter::integrity`] says
//! whether one member can force or suppress the alarm, what the vote needs now and how long it was degraded.
//!
//! The optional temporal rule raises the alarm only when at least `k` of the last `w` rows' votes passed
//! (causal), which removes single-row flicker.

use std::time::Duration;

use ndarray::{ArrayView1, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::{Error, FittedDetector, Result};

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
    /// How members are diagnosed.
    #[serde(default)]
    diagnosis: Diagnosis,
    #[serde(skip)]
    state: Stream,
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
    #[serde(default)]
    diagnosis: Diagnosis,
}

impl<D: FittedDetector> TryFrom<SavedVoter<D>> for Voter<D> {
    type Error = Error;
    fn try_from(v: SavedVoter<D>) -> Result<Self> {
        let b = Voter::builder(v.members)
            .weights(v.weights)
            .m(v.rule.m)
            .degraded(v.rule.degraded)
            .diagnosis(v.diagnosis);
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
            diagnosis: Diagnosis::default(),
            require_integrity: false,
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

    /// The same voter over members mapped one by one through `f` (in order): weights, vote rule, diagnosis and
    /// streaming state are kept. For a wrapper type, such as one that adds members of another language.
    ///
    /// ```
    /// use aeroguard_detect::{EnsembleRecipe, FittedDetector, Model, Voter};
    /// use ndarray::Array2;
    /// let x = Array2::from_shape_fn((400, 2), |(i, j)| ((i * 7 + j * 3) % 11) as f64);
    /// let voter: Voter<Model> = EnsembleRecipe::default().fit(x.view())?;
    /// let boxed: Voter<Box<dyn FittedDetector>> = voter.map_members(|m| Box::new(m) as Box<dyn FittedDetector>);
    /// assert_eq!(boxed.members().len(), 3);
    /// # Ok::<(), aeroguard_detect::Error>(())
    /// ```
    pub fn map_members<E: FittedDetector>(self, f: impl FnMut(D) -> E) -> Voter<E> {
        Voter {
            members: self.members.into_iter().map(f).collect(),
            weights: self.weights,
            rule: self.rule,
            window: self.window,
            duration: self.duration,
            diagnosis: self.diagnosis,
            state: self.state,
        }
    }

    /// The vote rule.
    pub fn rule(&self) -> VoteRule {
        self.rule
    }

    /// Whether one member can force or suppress the alarm, what the vote needs now, and how long it was
    /// degraded (see [`Integrity`]).
    ///
    /// ```
    /// use aeroguard_detect::{ClusterProfile, Detector, FittedDetector, IsolationForest, Rule, RuleSet, Voter};
    /// use ndarray::Array2;
    /// let normal = Array2::from_shape_fn((300, 2), |(i, j)| ((i * 7 + j * 13) % 17) as f64);
    /// let members: Vec<Box<dyn FittedDetector>> = vec![
    ///     Box::new(RuleSet::new(vec![Rule::Range { sensor: 0, min: 0.0, max: 16.0 }])?.fit(normal.view())?),
    ///     Box::new(ClusterProfile::builder().build()?.fit(normal.view())?),
    ///     Box::new(IsolationForest::builder().build()?.fit(normal.view())?),
    /// ];
    /// let voter = Voter::builder(members).m(2.0).build()?;
    /// let i = voter.integrity();
    /// assert!(i.holds(), "{:?}", i.warnings());
    /// assert_eq!((i.effective_m, i.available, i.degraded_rows), (2.0, 3.0, 0));
    /// # Ok::<(), aeroguard_detect::Error>(())
    /// ```
    pub fn integrity(&self) -> Integrity {
        let names: Vec<&str> = self.members.iter().map(FittedDetector::name).collect();
        let mut i = Integrity::of(&names, &self.weights, self.rule.m);
        let st = &self.state;
        i.left_out = names
            .iter()
            .zip(&st.left_out)
            .filter(|(_, l)| **l)
            .map(|(n, _)| n.to_string())
            .collect();
        i.available = st.available.unwrap_or(i.total);
        i.effective_m = st.required.unwrap_or(self.rule.m);
        i.degraded_rows = st.degraded_rows;
        i.degraded_ms = st.degraded_ms;
        i
    }

    /// How members are diagnosed.
    pub fn diagnosis(&self) -> &Diagnosis {
        &self.diagnosis
    }

    /// Sets each member's frozen limit from its scores on `x` (normal rows, such as the training rows): twice
    /// the longest run of an unchanged score there, at least `floor` rows; a member whose score never changed
    /// there is not checked for freezing ([`Diagnosis::frozen_limit_from`]).
    pub fn calibrate_diagnosis(&mut self, x: ArrayView2<f64>, floor: usize) -> Result<()> {
        let limits = self
            .members
            .iter()
            .map(|m| {
                m.score(x)
                    .map(|s| Diagnosis::frozen_limit_from(&s.to_vec(), floor))
            })
            .collect::<Result<Vec<usize>>>()?;
        self.diagnosis.frozen_limits = limits;
        Ok(())
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
        let mut state = Stream::default();
        Ok((0..x.nrows())
            .map(|i| {
                let scores = scored
                    .iter()
                    .map(|s| s.as_ref().map(|v| v[i]).map_err(Clone::clone));
                self.verdict(scores, &mut state, None)
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
        let mut state = std::mem::take(&mut self.state);
        let mut v = self.verdict(scores.into_iter(), &mut state, None);
        self.state = state;
        self.attribute(row, &mut v);
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
        let mut state = std::mem::take(&mut self.state);
        let mut v = self.verdict(scores.into_iter(), &mut state, Some(at.as_millis()));
        self.state = state;
        self.attribute(row, &mut v);
        v
    }

    /// Names the columns that drove each yes vote ([`FittedDetector::explain`]): on the first row of a member's
    /// run of yes votes and every [`Driver::REFRESH`] rows of it; the rows between carry the last ones (an
    /// explanation costs a member up to a few model passes per input column).
    fn attribute(&mut self, row: ArrayView1<f64>, v: &mut Verdict) {
        let n = self.members.len();
        let runs = &mut self.state.drivers;
        if runs.len() != n {
            *runs = vec![(0, Vec::new()); n];
        }
        for ((record, member), (run, last)) in v.members.iter_mut().zip(&self.members).zip(runs.iter_mut()) {
            if record.vote != Vote::Yes {
                *run = 0;
                last.clear();
                continue;
            }
            if (*run).is_multiple_of(Driver::REFRESH) {
                *last = member.explain(row).map(|s| Driver::top(&s)).unwrap_or_default();
            }
            *run += 1;
            record.drivers.clone_from(last);
        }
    }

    /// Forgets every member's streaming state and the temporal window.
    pub fn reset(&mut self) {
        self.members.iter_mut().for_each(FittedDetector::reset);
        self.state.reset();
    }
}

mod builder;
mod health;
mod integrity;
mod record;
mod stream;

pub use builder::VoterBuilder;
use builder::check_m;
pub use health::{Diagnosis, Fault, MAX_ALONE_WINDOW};
pub use integrity::Integrity;
pub use record::{Degraded, Driver, MemberRecord, Verdict, Vote, VoteRule};
use stream::Stream;
