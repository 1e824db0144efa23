//! Persistence measured in time from timestamps, not in rows: plants sample at different rates, so "3 of the
//! last 5 rows" means 3 seconds at one plant and 3 minutes at another.
//!
//! A row's verdict covers the time since the row before it (`(previous, at]`): a condition seen on a row has
//! held, as far as anyone knows, since the last look. The first row covers no time.

use std::collections::VecDeque;
use std::time::Duration;

use crate::{Error, Result, limits};

/// The longest time window (a week): a window is kept in memory, one entry per change of the vote.
pub const MAX_WINDOW: Duration = Duration::from_secs(7 * 24 * 3600);

/// "For at least `k` of the last `w`": how long a condition must have held within a sliding window of time.
///
/// ```
/// use std::time::Duration;
/// use aeroguard_detect::TimeWindow;
/// // Rows every 2 s: the condition holds from the second row on.
/// let mut w = TimeWindow::new(Duration::from_secs(5), Duration::from_secs(10))?;
/// assert!(!w.push(0, true)); // the first row covers no time
/// assert!(!w.push(2_000, true)); // 2 s
/// assert!(!w.push(4_000, true)); // 4 s
/// assert!(w.push(6_000, true)); // 6 s of the last 10
/// assert!(w.push(8_000, false)); // still 6 s of the last 10
/// assert!(!w.push(14_000, false)); // the held stretch has slid out of the window
/// # Ok::<(), aeroguard_detect::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct TimeWindow {
    k_ms: i64,
    w_ms: i64,
    /// (time, held) of recent rows, oldest first, runs of equal `held` merged into their last row; the first
    /// entry is the left edge of the second's span.
    rows: VecDeque<(i64, bool)>,
}

impl TimeWindow {
    /// `k` of the last `w`; `0 < k <= w <= MAX_WINDOW`, whole milliseconds.
    pub fn new(k: Duration, w: Duration) -> Result<Self> {
        let (k_ms, w_ms) = (k.as_millis(), w.as_millis());
        if !(k_ms >= 1 && k_ms <= w_ms) {
            return Err(Error::parameter(
                "k_of_duration",
                format!("{k:?} of {w:?}"),
                "0 < k <= w, in whole milliseconds",
            ));
        }
        if w > MAX_WINDOW {
            return Err(Error::parameter(
                "k_of_duration window",
                format!("{w:?}"),
                "at most a week",
            ));
        }
        Ok(TimeWindow {
            k_ms: k_ms as i64,
            w_ms: w_ms as i64,
            rows: VecDeque::new(),
        })
    }

    /// `k` and `w`.
    pub fn bounds(&self) -> (Duration, Duration) {
        let ms = |v: i64| Duration::from_millis(v.unsigned_abs());
        (ms(self.k_ms), ms(self.w_ms))
    }

    /// Records a row at `at` (ms since the epoch) where the condition `held` or not; answers whether it held
    /// for at least `k` of the last `w`, up to `at`. A row not after the one before covers no time (a clock
    /// that steps back cannot make a condition hold longer).
    pub fn push(&mut self, at: i64, held: bool) -> bool {
        let at = self.rows.back().map_or(at, |&(last, _)| at.max(last));
        // Runs of equal verdicts need only their ends: the last row of a run takes the run's place.
        if self.rows.len() >= 2 && self.rows.back().is_some_and(|&(_, h)| h == held) {
            self.rows.pop_back();
        }
        self.rows.push_back((at, held));
        let from = at - self.w_ms;
        // The oldest entry is only the left edge of the next one's span: drop it once that span has left.
        while self.rows.len() >= 2 && self.rows[1].0 <= from {
            self.rows.pop_front();
        }
        // Bounded memory under a flood of alternating verdicts: the oldest spans go (the sum can only shrink).
        while self.rows.len() > limits::MAX_WINDOW {
            self.rows.pop_front();
        }
        let held_ms: i64 = self
            .rows
            .iter()
            .zip(self.rows.iter().skip(1))
            .filter(|(_, (_, held))| *held)
            .map(|((start, _), (end, _))| end - start.max(&from))
            .filter(|d| *d > 0)
            .sum();
        held_ms >= self.k_ms
    }

    /// Forgets the rows.
    pub fn reset(&mut self) {
        self.rows.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The definition, row by row: every row's span `(previous, at]` clipped to the window.
    fn reference(rows: &[(i64, bool)], k: i64, w: i64) -> Vec<bool> {
        let mut out = Vec::new();
        let mut clock = i64::MIN;
        let mut seen: Vec<(i64, bool)> = Vec::new();
        for &(at, held) in rows {
            clock = clock.max(at);
            seen.push((clock, held));
            let from = clock - w;
            let total: i64 = seen
                .windows(2)
                .filter(|p| p[1].1)
                .map(|p| p[1].0 - p[0].0.max(from))
                .filter(|d| *d > 0)
                .sum();
            out.push(total >= k);
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn it_answers_as_the_definition(steps in proptest::collection::vec((-500i64..3_000, any::<bool>()), 1..60),
                                        k in 1i64..5_000, extra in 0i64..10_000) {
            let w = k + extra;
            let mut at = 0;
            let rows: Vec<(i64, bool)> = steps.iter().map(|&(dt, h)| { at += dt; (at, h) }).collect();
            let mut win = TimeWindow::new(Duration::from_millis(k as u64), Duration::from_millis(w as u64)).unwrap();
            let got: Vec<bool> = rows.iter().map(|&(t, h)| win.push(t, h)).collect();
            prop_assert_eq!(got, reference(&rows, k, w));
        }
    }

    #[test]
    fn the_same_rows_at_different_rates_mean_different_things() {
        // "Held 60 s of the last 120 s": 10 rows that hold are 9 s at 1 Hz, 90 s at 0.1 Hz.
        let k = Duration::from_secs(60);
        let w = Duration::from_secs(120);
        let (mut fast, mut slow) = (TimeWindow::new(k, w).unwrap(), TimeWindow::new(k, w).unwrap());
        let fast_alarm = (0..10).any(|i| fast.push(i * 1_000, true));
        let slow_alarm = (0..10).any(|i| slow.push(i * 10_000, true));
        assert!(!fast_alarm && slow_alarm);
    }

    #[test]
    fn bad_bounds_are_typed_errors() {
        let s = Duration::from_secs;
        assert!(TimeWindow::new(s(0), s(5)).is_err());
        assert!(TimeWindow::new(s(6), s(5)).is_err());
        assert!(TimeWindow::new(s(1), s(8 * 24 * 3600)).is_err());
        assert!(TimeWindow::new(Duration::from_micros(10), s(1)).is_err());
    }
}
