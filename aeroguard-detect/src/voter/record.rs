//! What a vote records: each member's vote, the verdict, and the rule that counts them.

use serde::{Deserialize, Serialize};

use super::Fault;

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

/// What to do with a failed member (see [`Voter`](super::Voter)).
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
    /// Why it was left out of this row's vote, when its diagnosis found it unhealthy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<Fault>,
    /// For a yes vote on a streamed row: the input columns that drove its score, the largest share first
    /// (those with at least [`Driver::MIN_SHARE`], at most [`Driver::MOST`]), found on the first row of the
    /// member's run of yes votes and every [`Driver::REFRESH`] rows of it; empty when the member cannot tell,
    /// and for batches ([`Voter::decide`](super::Voter::decide)).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drivers: Vec<Driver>,
}

/// An input column's share of a member's score.
///
/// ```
/// use aeroguard_detect::Driver;
/// let d = Driver::top(&[0.05, 0.7, 0.25]);
/// assert_eq!(d, [Driver { column: 1, share: 0.7 }, Driver { column: 2, share: 0.25 }]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Driver {
    /// The input column (the sensor, in a plant's order).
    pub column: usize,
    /// Its share of the score, in (0, 1].
    pub share: f64,
}

impl Driver {
    /// The smallest share a record names.
    pub const MIN_SHARE: f64 = 0.1;
    /// The most columns a record names.
    pub const MOST: usize = 3;
    /// Through a run of yes votes, a member's drivers are found again every this many rows.
    pub const REFRESH: usize = 10;

    /// The columns of `shares` at or above [`MIN_SHARE`](Self::MIN_SHARE), the largest first, at most
    /// [`MOST`](Self::MOST).
    pub fn top(shares: &[f64]) -> Vec<Driver> {
        let mut d: Vec<Driver> = shares
            .iter()
            .enumerate()
            .filter(|(_, s)| **s >= Self::MIN_SHARE)
            .map(|(column, share)| Driver {
                column,
                share: *share,
            })
            .collect();
        d.sort_by(|a, b| b.share.total_cmp(&a.share));
        d.truncate(Self::MOST);
        d
    }
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
    /// Weight needed now: `m`, or the counted members' whole weight when less.
    pub required: f64,
    /// Weight of the members counted (all but the unhealthy ones, and the failed ones under [`Degraded::Drop`]).
    #[serde(default)]
    pub available: f64,
    /// Whether any member failed or was left out as unhealthy.
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
