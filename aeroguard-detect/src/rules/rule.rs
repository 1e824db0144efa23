//! One rule on one sensor column: a range, a rate-of-change limit, or persistence past a level.

use serde::{Deserialize, Serialize};

use crate::{Error, Result, limits};

/// Which side of a level a [`Rule::Persistence`] watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// Alarm when the value stays above the level.
    Above,
    /// Alarm when the value stays below the level.
    Below,
}

/// One rule on one sensor column. Each rule's score is 0 while it holds and positive while it is broken.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum Rule {
    /// The value must lie in `[min, max]`. Score: the distance outside, in units of `max - min`.
    Range {
        /// Sensor column.
        sensor: usize,
        /// Lowest allowed value.
        min: f64,
        /// Highest allowed value.
        max: f64,
    },
    /// The change from the previous row must not exceed `max_step` in absolute value (per sample period).
    /// Score: the excess, in units of `max_step`. The first row of a sequence has no previous row and holds.
    RateOfChange {
        /// Sensor column.
        sensor: usize,
        /// Largest allowed change per row.
        max_step: f64,
    },
    /// "Above `level` for `rows` rows": alarms once the value has been beyond `level` for `rows` consecutive
    /// rows and stays alarmed until it comes back past `clear` (hysteresis, so it does not chatter). At 1 Hz,
    /// "above 90 for 2 minutes, clear below 88" is `{ side: Above, level: 90, clear: 88, rows: 120 }`. Score:
    /// 1 plus the distance beyond `clear`, relative to `|level - clear|` (or 1), while alarmed.
    Persistence {
        /// Sensor column.
        sensor: usize,
        /// Which side of the level is bad.
        side: Side,
        /// The level.
        level: f64,
        /// Where the alarm clears: at or below `level` for `Above`, at or above it for `Below`.
        clear: f64,
        /// Consecutive rows beyond `level` before the alarm.
        rows: usize,
        /// And, when set, beyond `level` for at least this many seconds since the run's first row, by the rows'
        /// timestamps ([`FittedDetector::update_at`](crate::FittedDetector::update_at)): plants sample at different rates, so "2 minutes" is
        /// `seconds: 120` with `rows: 1` at any rate. Such a rule scores only rows with times: `update` and
        /// `score` refuse it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seconds: Option<f64>,
    },
}

impl Rule {
    pub(super) fn sensor(&self) -> usize {
        match *self {
            Rule::Range { sensor, .. }
            | Rule::RateOfChange { sensor, .. }
            | Rule::Persistence { sensor, .. } => sensor,
        }
    }

    pub(super) fn validate(&self, index: usize) -> Result<()> {
        let bad = |reason| {
            Err(Error::parameter(
                "rules",
                format!("rule {index}: {self:?}"),
                reason,
            ))
        };
        match *self {
            Rule::Range { min, max, .. } if !(min.is_finite() && max.is_finite() && min <= max) => {
                bad("a range has finite min <= max")
            }
            Rule::RateOfChange { max_step, .. } if !(max_step.is_finite() && max_step > 0.0) => {
                bad("a rate-of-change limit is finite and above 0")
            }
            Rule::Persistence { level, clear, .. } if !(level.is_finite() && clear.is_finite()) => {
                bad("persistence levels are finite")
            }
            Rule::Persistence {
                side: Side::Above,
                level,
                clear,
                ..
            } if clear > level => bad("an `above` alarm clears at or below its level"),
            Rule::Persistence {
                side: Side::Below,
                level,
                clear,
                ..
            } if clear < level => bad("a `below` alarm clears at or above its level"),
            Rule::Persistence { rows: 0, .. } => bad("persistence needs at least 1 row"),
            Rule::Persistence { seconds: Some(t), .. }
                if !(t.is_finite() && t > 0.0 && t <= 7.0 * 86_400.0) =>
            {
                bad("persistence in seconds is finite, above 0 and at most a week")
            }
            Rule::Persistence { rows, .. } if rows > limits::MAX_WINDOW => {
                bad("persistence is at most limits::MAX_WINDOW (10000) rows")
            }
            _ => Ok(()),
        }
    }
}
