//! Which readings a series has taken, far enough back to tell a re-send from a reading out of order. A reading
//! is identified by its time and its first value (what the store keeps of every point), not by its time
//! alone: a sender re-sending what it is not sure arrived changes nothing and is told so, while a reading at
//! or before the series' last time that was never taken (a clock that went back, a leader whose clock lags
//! the last one's) is refused, never answered as taken.

use std::collections::VecDeque;

use aeroguard_consensus::history::Point;

use crate::api::IngestReading;

/// How many of a series' newest readings a re-send is recognised among (16 bytes each).
pub const RESEND_WINDOW: usize = 1_024;

/// A reading at or before the series' last time that is not a re-send of one taken.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "readings[{index}].at: {at} is not after the series' last time {last} and is not a re-send of a reading \
     taken (the same time and first value, among the series' last {RESEND_WINDOW}); nothing was taken"
)]
pub struct OutOfOrder {
    /// The reading's index in the request.
    pub index: usize,
    /// Its time (ms).
    pub at: i64,
    /// The series' last time (ms).
    pub last: i64,
}

/// Whether a reading is new to the series or a re-send of one it took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// After the series' last time: to be taken.
    New,
    /// The same time and first value as a reading taken: already stored, nothing to do.
    Resent,
}

/// The newest readings a series took, by time and first value, oldest first.
///
/// ```
/// use aeroguard_sentinel::{Arrival, IngestReading, Taken};
/// let r = |at: i64, v: f64| IngestReading { at, values: vec![v, 1.0] };
/// let mut taken = Taken::default();
/// taken.check(&[r(10, 1.0), r(20, 2.0)], &[])?;
/// taken.take(&r(10, 1.0));
/// taken.take(&r(20, 2.0));
/// assert_eq!(taken.arrival(&r(20, 2.0)), Arrival::Resent);
/// assert_eq!(taken.arrival(&r(30, 3.0)), Arrival::New);
/// // At a time taken, with another value; or between two times taken: refused.
/// assert_eq!(taken.check(&[r(20, 9.0)], &[]).unwrap_err().at, 20);
/// assert!(taken.check(&[r(15, 1.5), r(30, 3.0)], &[]).is_err());
/// // A re-send followed by new readings is fine.
/// assert_eq!(taken.check(&[r(20, 2.0), r(30, 3.0)], &[])?, 1);
/// # Ok::<(), aeroguard_sentinel::OutOfOrder>(())
/// ```
#[derive(Debug, Clone)]
pub struct Taken {
    recent: VecDeque<(i64, u64)>,
    /// Whether `recent` holds every reading the series took (nothing fell out of the window).
    complete: bool,
}

impl Default for Taken {
    fn default() -> Self {
        Taken {
            recent: VecDeque::new(),
            complete: true,
        }
    }
}

impl Taken {
    /// What a series resumed from the store took: its newest points, oldest first (fewer than
    /// [`RESEND_WINDOW`] is taken to be all of them).
    pub fn resumed(points: &[Point]) -> Taken {
        let mut t = Taken {
            complete: points.len() < RESEND_WINDOW,
            ..Taken::default()
        };
        for p in points.iter().skip(points.len().saturating_sub(RESEND_WINDOW)) {
            t.push(p.at.as_millis(), p.value);
        }
        t
    }

    /// The time of the newest reading taken.
    pub fn last_at(&self) -> Option<i64> {
        self.recent.back().map(|(at, _)| *at)
    }

    /// Whether `r` is new or a re-send (a reading at or before the last time that is neither is refused by
    /// [`check`](Self::check) first).
    pub fn arrival(&self, r: &IngestReading) -> Arrival {
        match self.last_at() {
            Some(last) if r.at <= last => Arrival::Resent,
            _ => Arrival::New,
        }
    }

    /// The times of `readings` too old for the window to tell (before its oldest, when older readings were
    /// taken): look them up in the store and give what it holds to [`check`](Self::check).
    pub fn to_look_up(&self, readings: &[IngestReading]) -> Vec<i64> {
        match self.recent.front() {
            Some((oldest, _)) if !self.complete => readings
                .iter()
                .map(|r| r.at)
                .take_while(|at| at < oldest)
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Checks one request's readings (in time order) before any is taken: each is new or a re-send, told
    /// among the window's readings or, for older ones, among `stored` (the store's points at the times
    /// [`to_look_up`](Self::to_look_up) named). Returns how many are re-sends.
    pub fn check(&self, readings: &[IngestReading], stored: &[Point]) -> Result<usize, OutOfOrder> {
        let Some(last) = self.last_at() else {
            return Ok(0);
        };
        let mut resent = 0;
        for (index, r) in readings.iter().enumerate() {
            if r.at > last {
                break;
            }
            let first = r.values.first().copied().unwrap_or(f64::NAN).to_bits();
            let in_window = self
                .recent
                .binary_search_by(|(at, _)| at.cmp(&r.at))
                .ok()
                .and_then(|i| self.recent.get(i))
                == Some(&(r.at, first));
            let in_store = || {
                stored
                    .iter()
                    .any(|p| p.at.as_millis() == r.at && p.value.to_bits() == first)
            };
            if !(in_window || in_store()) {
                return Err(OutOfOrder {
                    index,
                    at: r.at,
                    last,
                });
            }
            resent += 1;
        }
        Ok(resent)
    }

    /// Notes a new reading as taken.
    pub fn take(&mut self, r: &IngestReading) {
        self.push(r.at, r.values.first().copied().unwrap_or(f64::NAN));
    }

    fn push(&mut self, at: i64, first: f64) {
        if self.recent.len() == RESEND_WINDOW {
            self.recent.pop_front();
            self.complete = false;
        }
        self.recent.push_back((at, first.to_bits()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aeroguard_core::Timestamp;

    fn r(at: i64, v: f64) -> IngestReading {
        IngestReading { at, values: vec![v] }
    }

    #[test]
    fn a_resumed_series_tells_old_resends_from_the_store() {
        let points: Vec<Point> = (0..RESEND_WINDOW as i64 + 10)
            .map(|i| Point::new(Timestamp::from_millis(i * 10), i as f64))
            .collect();
        let t = Taken::resumed(&points[10..]);
        let last = (RESEND_WINDOW as i64 + 9) * 10;
        assert_eq!(t.last_at(), Some(last));
        assert_eq!(t.check(&[r(last, (RESEND_WINDOW + 9) as f64)], &[]), Ok(1));
        assert_eq!(t.check(&[r(100, 10.0)], &[]), Ok(1), "the window's oldest");
        // Older than the window: told from what the store holds at those times.
        let older = [r(80, 8.0), r(90, 9.0), r(100, 10.0)];
        assert_eq!(t.to_look_up(&older), [80, 90]);
        assert_eq!(t.check(&older, &points[8..10]), Ok(3));
        let gone = t.check(&older, &points[9..10]).unwrap_err();
        assert_eq!((gone.index, gone.at, gone.last), (0, 80, last));
        assert!(gone.to_string().contains("not a re-send"), "{gone}");
        assert!(t.check(&[r(90, 7.0)], &points[..10]).is_err(), "another value");
    }

    #[test]
    fn a_series_holding_all_it_took_looks_nothing_up() {
        let t = Taken::default();
        assert_eq!(t.check(&[r(-5, 1.0), r(3, 1.0)], &[]), Ok(0));
        assert_eq!(t.arrival(&r(3, 1.0)), Arrival::New);
        let mut t = Taken::resumed(&[Point::new(Timestamp::from_millis(50), 1.0)]);
        assert!(t.to_look_up(&[r(10, 1.0)]).is_empty());
        assert!(t.check(&[r(10, 1.0)], &[]).is_err(), "never taken");
        for at in 0..RESEND_WINDOW as i64 {
            t.take(&r(100 + at, 1.0));
        }
        assert_eq!(
            t.to_look_up(&[r(10, 1.0), r(200, 1.0)]),
            [10],
            "the first fell out"
        );
    }
}
