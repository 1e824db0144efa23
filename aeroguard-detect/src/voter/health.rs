//! Members that diagnose themselves: a member whose score is frozen, non-finite, or that alarms alone far
//! above its calibrated rate is marked unhealthy, left out of the vote, and counted again once it recovers.
//!
//! Each check costs rows before it fires, stated on its field of [`Diagnosis`]:
//! - **frozen**: a score that has not changed for `frozen_rows` rows (or the member's own limit in
//!   `frozen_limits`, which [`Voter::calibrate_diagnosis`](super::Voter::calibrate_diagnosis) sets from the
//!   training rows: twice the longest run of an unchanged score there, at least `frozen_rows`; members whose
//!   training scores never changed are not checked). Cleared by the first row whose score moves.
//! - **non-finite**: `nonfinite_rows` infinite scores in a row, or NaN ones after the member had scored (a NaN
//!   before the first finite score is a warm-up abstention). Cleared by the first finite score.
//! - **alarming alone**: a yes vote on a row where no other counted member votes yes, on `alone_rate` of the
//!   last `alone_window` rows (calibrated thresholds alarm on well under 1 % of normal rows, so half of a
//!   window is far above it). Cleared when the member's yes votes, alone or not, fall under half that rate: a
//!   member stuck voting yes stays out even while others agree with it. Runs only with three members or more:
//!   with two, alone cannot be told from a disagreement.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Why a member was found unhealthy.
///
/// ```
/// use aeroguard_detect::Fault;
/// let f = Fault::AlarmingAlone { alone: 150, window: 300 };
/// assert_eq!(f.to_string(), "voted yes alone on 150 of the last 300 rows");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "fault", rename_all = "snake_case")]
pub enum Fault {
    /// Its score has not changed for `rows` rows.
    Frozen {
        /// Rows with the same score.
        rows: usize,
    },
    /// Its score has not been finite for `rows` rows.
    NonFinite {
        /// Rows without a finite score.
        rows: usize,
    },
    /// It voted yes with no other counted member on `alone` of the last `window` rows.
    AlarmingAlone {
        /// Rows it alarmed alone.
        alone: usize,
        /// Rows looked at.
        window: usize,
    },
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fault::Frozen { rows } => write!(f, "score unchanged for {rows} rows"),
            Fault::NonFinite { rows } => write!(f, "no finite score for {rows} rows"),
            Fault::AlarmingAlone { alone, window } => {
                write!(f, "voted yes alone on {alone} of the last {window} rows")
            }
        }
    }
}

/// How members are diagnosed, and what each check costs in rows before it fires:
/// - **frozen**: a score unchanged for `frozen_rows` rows, or the member's own limit in `frozen_limits`
///   ([`Voter::calibrate_diagnosis`](crate::Voter::calibrate_diagnosis) sets them from the training rows: twice
///   the longest run of an unchanged score there, at least a floor; members whose training scores never moved
///   are not checked). Cleared by the first row whose score moves.
/// - **non-finite**: `nonfinite_rows` rows without a finite score (NaN before the member's first finite score
///   is a warm-up abstention). Cleared by the first finite score.
/// - **alarming alone**: a yes vote with no other counted member voting yes, on `alone_rate` of the last
///   `alone_window` rows (150 of 300 by default; calibrated thresholds alarm on well under 1 % of normal rows).
///   Cleared when the member's yes votes, alone or not, fall under half that. Runs with three members or more.
///
/// ```
/// use aeroguard_detect::Diagnosis;
/// let d = Diagnosis::default();
/// assert_eq!((d.nonfinite_rows, d.alone_window), (3, 300));
/// assert!(Diagnosis { alone_rate: 1.5, ..d }.check(4).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Diagnosis {
    /// Rows of an unchanged score before a member counts as frozen, for members without their own limit
    /// (0: not checked). Default 0: a score that rests at a floor (a rule member's 0) is healthy, so the
    /// limit comes from each member's training scores.
    pub frozen_rows: usize,
    /// Per member, its own frozen limit (0: not checked); empty: `frozen_rows` for each.
    #[serde(default)]
    pub frozen_limits: Vec<usize>,
    /// Rows without a finite score before a member counts as non-finite (0: not checked).
    pub nonfinite_rows: usize,
    /// Rows of the alarming-alone check (0: not checked).
    pub alone_window: usize,
    /// Fraction of `alone_window` a member must alarm alone on to be unhealthy.
    pub alone_rate: f64,
}

impl Default for Diagnosis {
    fn default() -> Self {
        Diagnosis {
            frozen_rows: 0,
            frozen_limits: Vec::new(),
            nonfinite_rows: 3,
            alone_window: 300,
            alone_rate: 0.5,
        }
    }
}

/// The longest window of the alarming-alone check.
pub const MAX_ALONE_WINDOW: usize = 100_000;

impl Diagnosis {
    /// Checks the settings for a voter of `members` members.
    pub fn check(&self, members: usize) -> Result<()> {
        if !(self.alone_rate > 0.0 && self.alone_rate <= 1.0) {
            return Err(Error::parameter("alone_rate", self.alone_rate, "lies in (0, 1]"));
        }
        crate::limits::at_most("alone_window", self.alone_window, MAX_ALONE_WINDOW)?;
        if !self.frozen_limits.is_empty() && self.frozen_limits.len() != members {
            return Err(Error::parameter(
                "frozen_limits",
                &self.frozen_limits,
                "one limit per member, or none",
            ));
        }
        Ok(())
    }

    /// Alone rows at which a member becomes unhealthy.
    fn alone_limit(&self) -> usize {
        ((self.alone_rate * self.alone_window as f64).ceil() as usize).max(1)
    }

    fn frozen_limit(&self, member: usize) -> usize {
        self.frozen_limits
            .get(member)
            .copied()
            .unwrap_or(self.frozen_rows)
    }

    /// A frozen limit from a member's training scores: twice the longest run of one unchanged score, at least
    /// `floor`; 0 (not checked) when the scores never changed.
    pub fn frozen_limit_from(scores: &[f64], floor: usize) -> usize {
        let finite: Vec<f64> = scores.iter().copied().filter(|s| !s.is_nan()).collect();
        if finite.len() < 2 {
            return 0;
        }
        let (mut longest, mut run) = (1usize, 1usize);
        for w in finite.windows(2) {
            run = if w[1] == w[0] { run + 1 } else { 1 };
            longest = longest.max(run);
        }
        if longest >= finite.len() {
            0
        } else {
            (2 * longest).max(floor)
        }
    }
}

/// One member's diagnosis state.
#[derive(Debug, Clone, Default)]
pub(super) struct MemberHealth {
    last: Option<f64>,
    same: usize,
    nonfinite: usize,
    scored: bool,
    /// The last rows' votes: 0 no, 1 yes with others, 2 yes alone.
    recent: VecDeque<u8>,
    yes_count: usize,
    alone_count: usize,
    alone_fault: bool,
}

impl MemberHealth {
    /// Takes this row's score; returns the fault from the score alone (frozen or non-finite).
    pub(super) fn observe(&mut self, score: Option<f64>, d: &Diagnosis, member: usize) -> Option<Fault> {
        match score {
            Some(s) if s.is_finite() => {
                self.scored = true;
                self.nonfinite = 0;
                self.same = match self.last {
                    Some(l) if l == s => self.same + 1,
                    _ => 1,
                };
                self.last = Some(s);
            }
            Some(s) if s.is_infinite() || self.scored => {
                self.nonfinite += 1;
                self.last = None;
                self.same = 0;
            }
            _ => {}
        }
        let frozen = d.frozen_limit(member);
        if d.nonfinite_rows > 0 && self.nonfinite >= d.nonfinite_rows {
            Some(Fault::NonFinite { rows: self.nonfinite })
        } else if frozen > 0 && self.same >= frozen {
            Some(Fault::Frozen { rows: self.same })
        } else {
            None
        }
    }

    /// Whether the alarming-alone fault holds (as of the last row).
    pub(super) fn alone_faulty(&self) -> bool {
        self.alone_fault
    }

    /// Takes this row's vote (`yes`, and whether it was alone); returns the alarming-alone fault while it
    /// holds. The fault starts when the alone rows reach the limit and ends when the member's yes votes, alone
    /// or not, fall under half of it: a member stuck voting yes stays out even while others agree with it.
    pub(super) fn alone(&mut self, yes: bool, alone: bool, d: &Diagnosis) -> Option<Fault> {
        if d.alone_window == 0 {
            return None;
        }
        if self.recent.len() == d.alone_window {
            match self.recent.pop_front() {
                Some(2) => {
                    self.alone_count -= 1;
                    self.yes_count -= 1;
                }
                Some(1) => self.yes_count -= 1,
                _ => {}
            }
        }
        let state = match (yes, alone) {
            (true, true) => 2,
            (true, false) => 1,
            _ => 0,
        };
        self.recent.push_back(state);
        self.yes_count += usize::from(state > 0);
        self.alone_count += usize::from(state == 2);
        let limit = d.alone_limit();
        if self.alone_count >= limit {
            self.alone_fault = true;
        } else if self.yes_count * 2 < limit {
            self.alone_fault = false;
        }
        self.alone_fault.then_some(Fault::AlarmingAlone {
            alone: self.alone_count,
            window: d.alone_window,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frozen_score_is_found_after_its_limit_and_cleared_when_it_moves() {
        let d = Diagnosis {
            frozen_rows: 5,
            ..Diagnosis::default()
        };
        let mut h = MemberHealth::default();
        let faults: Vec<_> = (0..6).map(|_| h.observe(Some(2.0), &d, 0)).collect();
        assert_eq!(faults[3], None);
        assert_eq!(faults[4], Some(Fault::Frozen { rows: 5 }));
        assert_eq!(h.observe(Some(2.5), &d, 0), None);
    }

    #[test]
    fn warm_up_nans_abstain_but_later_ones_and_infinities_count() {
        let d = Diagnosis::default();
        let mut h = MemberHealth::default();
        for _ in 0..10 {
            assert_eq!(h.observe(Some(f64::NAN), &d, 0), None);
        }
        h.observe(Some(1.0), &d, 0);
        h.observe(Some(f64::NAN), &d, 0);
        h.observe(Some(f64::INFINITY), &d, 0);
        assert_eq!(
            h.observe(Some(f64::NAN), &d, 0),
            Some(Fault::NonFinite { rows: 3 })
        );
        assert_eq!(h.observe(Some(1.0), &d, 0), None);
    }

    #[test]
    fn alarming_alone_has_hysteresis() {
        let d = Diagnosis {
            alone_window: 10,
            alone_rate: 0.5,
            ..Diagnosis::default()
        };
        let mut h = MemberHealth::default();
        let first: Vec<bool> = (0..5).map(|_| h.alone(true, true, &d).is_some()).collect();
        assert_eq!(first, [false, false, false, false, true]);
        // Yes votes with others keep it out: it still votes yes on every row (the window fills with them).
        assert!((0..20).all(|_| h.alone(true, false, &d).is_some()));
        // Quiet rows: its ten yes votes slide out one by one, and the fault holds until fewer than half the
        // limit (2 of 5) remain.
        let quiet: Vec<bool> = (0..10).map(|_| h.alone(false, false, &d).is_some()).collect();
        assert_eq!(
            quiet,
            [true, true, true, true, true, true, true, false, false, false]
        );
    }

    #[test]
    fn frozen_limits_come_from_training_runs() {
        assert_eq!(Diagnosis::frozen_limit_from(&[1.0, 1.0, 1.0, 2.0, 3.0], 2), 6);
        assert_eq!(Diagnosis::frozen_limit_from(&[1.0, 2.0, 3.0], 60), 60);
        assert_eq!(
            Diagnosis::frozen_limit_from(&[0.0; 50], 60),
            0,
            "never moved: not checked"
        );
        assert_eq!(Diagnosis::frozen_limit_from(&[f64::NAN, 1.0, 1.0, 2.0], 1), 4);
    }
}
