//! Physical rules as plant engineers write them: ranges, rate-of-change limits, and persistence with
//! hysteresis.

use ndarray::{Array1, ArrayView1, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::{Calibration, Detector, Error, FittedDetector, Result, input};

mod rule;

pub use rule::{Rule, Side};

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
    /// The rule's score on the last row (what [`FittedDetector::explain`] reads).
    #[serde(default)]
    last: f64,
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
            s.last = score;
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
    fn explain(&self, _row: ArrayView1<f64>) -> Option<Vec<f64>> {
        let mut by_sensor = vec![0.0; self.width];
        for (r, s) in self.rules.iter().zip(&self.state) {
            by_sensor[r.sensor()] += s.last;
        }
        crate::detector::shares(by_sensor)
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
                cause: None,
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
