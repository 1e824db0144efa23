//! Physical rules as plant engineers write them: ranges, rate-of-change limits, and persistence with
//! hysteresis.

use ndarray::{Array1, ArrayView1, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::limits;
use crate::{Calibration, Detector, Error, FittedDetector, Result, input};

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
        /// timestamps ([`FittedDetector::update_at`]): plants sample at different rates, so "2 minutes" is
        /// `seconds: 120` with `rows: 1` at any rate. Such a rule scores only rows with times: `update` and
        /// `score` refuse it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seconds: Option<f64>,
    },
}

impl Rule {
    fn sensor(&self) -> usize {
        match *self {
            Rule::Range { sensor, .. }
            | Rule::RateOfChange { sensor, .. }
            | Rule::Persistence { sensor, .. } => sensor,
        }
    }

    fn validate(&self, index: usize) -> Result<()> {
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

/// A set of rules: a row's score is the largest score of any rule, the threshold 0 (any broken rule alarms).
///
/// ```
/// use aeroguard_detect::{Detector, FittedDetector, Rule, RuleSet, Side};
/// use ndarray::array;
/// let rules = RuleSet::new(vec![
///     Rule::Range { sensor: 0, min: 0.0, max: 10.0 },
///     Rule::Persistence { sensor: 1, side: Side::Above, level: 90.0, clear: 88.0, rows: 2, seconds: None },
/// ])?;
/// let mut model = rules.fit(array![[5.0, 80.0]].view())?;
/// let mut alarms = Vec::new();
/// for row in [[5.0, 91.0], [5.0, 92.0], [5.0, 89.0], [5.0, 87.0], [12.0, 80.0]] {
///     alarms.push(model.update(array![row[0], row[1]].view())? > model.threshold());
/// }
/// // Two rows above 90 raise it; 89 is above the clear level so it holds; 87 clears; 12 is out of range.
/// assert_eq!(alarms, [false, true, true, false, true]);
/// # Ok::<(), aeroguard_detect::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleSet {
    rules: Vec<Rule>,
}

/// How [`RuleSet::learn`] derives rules from normal data.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LearnRules {
    /// Each sensor's normal band is between these quantiles of the training values.
    pub quantiles: (f64, f64),
    /// The band is widened by this multiple of its width on each side.
    pub margin: f64,
    /// Rows beyond the band before the alarm (persistence); the alarm clears back inside the band.
    pub rows: usize,
}

impl Default for LearnRules {
    fn default() -> Self {
        LearnRules {
            quantiles: (0.005, 0.995),
            margin: 0.1,
            rows: 3,
        }
    }
}

impl RuleSet {
    /// Validates the rules (the columns they name are checked against the data at fit time).
    pub fn new(rules: Vec<Rule>) -> Result<RuleSet> {
        if rules.is_empty() {
            return Err(Error::parameter("rules", "[]", "give at least one rule"));
        }
        for (i, r) in rules.iter().enumerate() {
            r.validate(i)?;
        }
        Ok(RuleSet { rules })
    }

    /// Persistence rules on both sides of each sensor's normal band, learned from normal rows: what an engineer
    /// would write after looking at a week of trend plots.
    pub fn learn(x: ArrayView2<f64>, how: LearnRules) -> Result<RuleSet> {
        let (lo_q, hi_q) = how.quantiles;
        if !(0.0..=1.0).contains(&lo_q) || !(0.0..=1.0).contains(&hi_q) || lo_q >= hi_q {
            return Err(Error::parameter(
                "quantiles",
                how.quantiles,
                "0 <= low < high <= 1",
            ));
        }
        if !(how.margin.is_finite() && how.margin >= 0.0) {
            return Err(Error::parameter("margin", how.margin, "finite and at least 0"));
        }
        input::training("rule learning", x, 2)?;
        let mut rules = Vec::new();
        for (sensor, col) in x.columns().into_iter().enumerate() {
            let mut v = col.to_vec();
            v.sort_by(f64::total_cmp);
            let (lo, hi) = (crate::quantile_sorted(&v, lo_q), crate::quantile_sorted(&v, hi_q));
            let pad = how.margin * (hi - lo).max(f64::EPSILON * hi.abs().max(1.0));
            rules.push(Rule::Persistence {
                sensor,
                side: Side::Above,
                level: hi + pad,
                clear: hi,
                rows: how.rows,
                seconds: None,
            });
            rules.push(Rule::Persistence {
                sensor,
                side: Side::Below,
                level: lo - pad,
                clear: lo,
                rows: how.rows,
                seconds: None,
            });
        }
        RuleSet::new(rules)
    }

    /// The rules.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }
}

impl Detector for RuleSet {
    type Fitted = FittedRules;

    /// Checks that every rule's column exists; rules learn nothing. The threshold is 0.
    fn fit(&self, x: ArrayView2<f64>) -> Result<FittedRules> {
        let width = x.ncols();
        for (rule, r) in self.rules.iter().enumerate() {
            if r.sensor() >= width {
                return Err(Error::NoSuchSensor {
                    rule,
                    sensor: r.sensor(),
                    width,
                });
            }
        }
        let state = vec![RuleState::default(); self.rules.len()];
        Ok(FittedRules {
            rules: self.rules.clone(),
            width,
            threshold: 0.0,
            state,
        })
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
struct RuleState {
    previous: Option<f64>,
    run: usize,
    alarmed: bool,
    /// When the current run beyond the level began (ms), for persistence in seconds.
    #[serde(default)]
    since: Option<i64>,
}

/// A [`RuleSet`] checked against a data width, with the streaming state of its persistence rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedRules {
    rules: Vec<Rule>,
    width: usize,
    threshold: f64,
    state: Vec<RuleState>,
}

impl FittedRules {
    /// Whether a rule needs the rows' times.
    fn timed(&self) -> bool {
        self.rules
            .iter()
            .any(|r| matches!(r, Rule::Persistence { seconds: Some(_), .. }))
    }

    fn needs_times() -> Error {
        Error::parameter(
            "timestamps",
            "none",
            "persistence in seconds needs the rows' times: call update_at",
        )
    }

    /// The scores of each rule for the next row (0 where it holds), advancing the state; `at` is the row's
    /// time (ms), which persistence in seconds needs.
    fn step(rules: &[Rule], state: &mut [RuleState], row: ArrayView1<f64>, at: Option<i64>) -> f64 {
        let mut worst = 0.0f64;
        for (r, s) in rules.iter().zip(state.iter_mut()) {
            let v = row[r.sensor()];
            let score = match *r {
                Rule::Range { min, max, .. } => {
                    let out = (min - v).max(v - max).max(0.0);
                    if out > 0.0 {
                        out / (max - min).max(f64::MIN_POSITIVE)
                    } else {
                        0.0
                    }
                }
                Rule::RateOfChange { max_step, .. } => match s.previous {
                    Some(p) => ((v - p).abs() - max_step).max(0.0) / max_step,
                    None => 0.0,
                },
                Rule::Persistence {
                    side,
                    level,
                    clear,
                    rows,
                    seconds,
                    ..
                } => {
                    let sign = if side == Side::Above { 1.0 } else { -1.0 };
                    let beyond = sign * (v - level) > 0.0;
                    if beyond && s.run == 0 && !s.alarmed {
                        s.since = at;
                    }
                    // Long enough in time, when the rule asks (callers give times to such rules).
                    let lasted = match (seconds, at, s.since) {
                        (Some(t), Some(now), Some(since)) => (now - since) as f64 >= t * 1000.0,
                        (Some(_), _, _) => false,
                        (None, _, _) => true,
                    };
                    // The run counts consecutive rows beyond the level while not alarmed.
                    s.alarmed = if s.alarmed {
                        sign * (v - clear) > 0.0
                    } else {
                        s.run + 1 >= rows && beyond && lasted
                    };
                    s.run = if beyond && !s.alarmed { s.run + 1 } else { 0 };
                    if s.alarmed {
                        1.0 + sign * (v - clear) / (level - clear).abs().max(1.0)
                    } else {
                        0.0
                    }
                }
            };
            s.previous = Some(v);
            worst = worst.max(score);
        }
        worst
    }
}

impl FittedDetector for FittedRules {
    fn name(&self) -> &str {
        "rules"
    }
    fn n_features(&self) -> usize {
        self.width
    }
    fn threshold(&self) -> f64 {
        self.threshold
    }
    fn set_threshold(&mut self, threshold: f64) {
        self.threshold = threshold;
    }
    fn score(&self, x: ArrayView2<f64>) -> Result<Array1<f64>> {
        input::check("rows to score", x, self.width)?;
        if self.timed() {
            return Err(Self::needs_times());
        }
        let mut state = vec![RuleState::default(); self.rules.len()];
        Ok(x.outer_iter()
            .map(|r| Self::step(&self.rules, &mut state, r, None))
            .collect())
    }
    fn update(&mut self, row: ArrayView1<f64>) -> Result<f64> {
        input::check_row("row to score", row, self.width)?;
        if self.timed() {
            return Err(Self::needs_times());
        }
        Ok(Self::step(&self.rules, &mut self.state, row, None))
    }
    fn update_at(&mut self, row: ArrayView1<f64>, at: aeroguard_core::Timestamp) -> Result<f64> {
        input::check_row("row to score", row, self.width)?;
        Ok(Self::step(
            &self.rules,
            &mut self.state,
            row,
            Some(at.as_millis()),
        ))
    }
    fn reset(&mut self) {
        self.state.iter_mut().for_each(|s| *s = RuleState::default());
    }
}

impl FittedRules {
    /// Checks a loaded model: valid rules on existing columns, one state per rule.
    pub(crate) fn check(&self) -> Result<()> {
        let set = RuleSet::new(self.rules.clone())?;
        set.fit(ndarray::Array2::zeros((0, self.width)).view())?;
        if self.state.len() != self.rules.len() {
            return Err(Error::Model {
                operation: "load",
                reason: "rules: one state per rule".into(),
            });
        }
        Ok(())
    }

    /// Sets the threshold from the scores of normal rows, for rule sets whose threshold should come from data
    /// rather than 0 (for example, tolerate the violations seen in a known-good week).
    pub fn calibrate(&mut self, x: ArrayView2<f64>, how: Calibration) -> Result<()> {
        let s = self.score(x)?;
        self.threshold = how.threshold(&s.to_vec())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
