//! One series' state and logic, free of HTTP: its width, the readings that train its ensemble, the fitted
//! voter and whether the store has it, and the last time it took. Verdicts, with every member's vote, go to the
//! store with the points; `/verdicts` reads them from there.

use aeroguard_consensus::history::Point;
use aeroguard_core::Timestamp;
use aeroguard_detect::{Model, Voter};

use super::SeriesModel;
use super::api::{Ingest, IngestReading, VerdictOut};
pub use super::record::verdict_of;
use super::record::{member_votes, record};
use super::taken::{Arrival, OutOfOrder, Taken};

/// The most verdicts one `/verdicts` request returns.
pub const KEPT: usize = 1_000;

/// Scored points kept per series while the history cannot take them (the oldest go first past it).
pub const UNSAVED: usize = 10_000;

/// Why a series refused readings.
#[derive(Debug, thiserror::Error)]
pub enum SeriesError {
    /// Readings of another width than the series has.
    #[error("readings: {got} values each, the series has {expected}")]
    Width {
        /// The series' width.
        expected: usize,
        /// The readings' width.
        got: usize,
    },
    /// The ensemble could not be trained on the first readings.
    #[error("training: {0}")]
    Training(#[from] aeroguard_detect::Error),
    /// A stored model could not be read back or written.
    #[error("stored model: {0}")]
    Model(String),
    /// A reading at or before the series' last time that is no re-send of one it took.
    #[error(transparent)]
    OutOfOrder(#[from] OutOfOrder),
}

/// A series' fitted ensemble as the store keeps it (the detail of a point in [`model_series`]).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StoredModel {
    /// The readings' width.
    pub width: usize,
    /// The voter, as `Voter::save` writes it.
    pub voter: String,
}

/// Where a series' model is stored: the series' name with `.model` (service series names are at most
/// [`MAX_SERIES_LEN`](crate::MAX_SERIES_LEN) characters, so it fits the store's 128).
pub fn model_series(series: &str) -> String {
    format!("{series}.model")
}

/// What ingesting readings produced: the points to store and the verdicts (none while training).
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    /// One point per new reading, alarms and values in their detail.
    pub points: Vec<Point>,
    /// One verdict per reading scored.
    pub verdicts: Vec<VerdictOut>,
    /// Readings skipped as re-sends of readings the series took (the same time and first value): a sender
    /// re-sending what it is not sure arrived (store-and-forward after a crash or a lost answer) changes
    /// nothing.
    pub skipped: usize,
    /// The vote's integrity after the last reading scored (none while training).
    pub integrity: Option<aeroguard_detect::Integrity>,
}

/// One series: it trains an ensemble on its first readings, then scores every reading after.
///
/// ```
/// use aeroguard_sentinel::{IngestReading, Series, SeriesError};
/// let mut s = Series::default();
/// let rows: Vec<IngestReading> = (0..60)
///     .map(|i| IngestReading { at: i, values: vec![1.0 + (i % 7) as f64 * 0.01, 2.0 - (i % 5) as f64 * 0.01] })
///     .collect();
/// let first = s.ingest(&rows[..50], 50)?;
/// assert!(first.verdicts.is_empty() && !s.is_training());
/// let next = s.ingest(&rows[50..], 50)?;
/// assert_eq!(next.verdicts.len(), 10);
/// assert!(s.ingest(&[IngestReading { at: 99, values: vec![1.0] }], 50).is_err());
/// // Sent again (the sender never saw the answer): skipped, nothing scored twice.
/// let again = s.ingest(&rows[55..], 50)?;
/// assert_eq!((again.skipped, again.verdicts.len()), (5, 0));
/// // At a time taken with other values, or before the last time: refused, nothing taken.
/// let late = IngestReading { at: 57, values: vec![9.0, 9.0] };
/// assert!(matches!(s.ingest(&[late], 50), Err(SeriesError::OutOfOrder(_))));
/// # Ok::<(), aeroguard_sentinel::SeriesError>(())
/// ```
#[derive(Default)]
pub struct Series {
    width: usize,
    training: Vec<Vec<f64>>,
    voter: Option<Voter<Model>>,
    /// Whether the store holds the fitted voter.
    model_stored: bool,
    /// The newest readings taken, to tell a re-send from a reading out of order.
    taken: Taken,
    /// Points scored but not yet stored (the history was unavailable), oldest first.
    unsaved: Vec<Point>,
    /// What the series fits once trained (the classic ensemble unless set).
    model: SeriesModel,
}

impl Series {
    /// A series resumed after a restart: its stored model if it had one (no retraining), and the newest
    /// points the store holds, oldest first (a reading at or before the last is a re-send if it matches one of
    /// them, [`RESEND_WINDOW`](crate::RESEND_WINDOW) at most, and refused otherwise).
    pub fn resume(stored: Option<&StoredModel>, recent: &[Point]) -> Result<Series, SeriesError> {
        let mut s = Series {
            taken: Taken::resumed(recent),
            ..Series::default()
        };
        if let Some(m) = stored {
            s.voter = Some(Voter::load(&m.voter).map_err(|e| SeriesError::Model(e.to_string()))?);
            s.width = m.width;
            s.model_stored = true;
        }
        Ok(s)
    }

    /// Fits `model` once trained (a series resumed with a stored model keeps that model).
    pub fn with_model(mut self, model: SeriesModel) -> Self {
        self.model = model;
        self
    }

    /// The fitted voter to store, if the store does not have it yet.
    pub fn model_to_store(&self) -> Option<Result<StoredModel, SeriesError>> {
        let voter = self.voter.as_ref().filter(|_| !self.model_stored)?;
        Some(
            voter
                .save()
                .map(|voter| StoredModel {
                    width: self.width,
                    voter,
                })
                .map_err(|e| SeriesError::Model(e.to_string())),
        )
    }

    /// Notes that the store holds the fitted voter.
    pub fn model_stored(&mut self) {
        self.model_stored = true;
    }

    /// Whether `readings` more readings would fit the ensemble (it trains, and they complete `train_rows`).
    pub fn fits_with(&self, readings: usize, train_rows: usize) -> bool {
        self.voter.is_none() && self.training.len() + readings >= train_rows
    }

    /// The time of the newest reading taken.
    pub fn last_at(&self) -> Option<i64> {
        self.taken.last_at()
    }

    /// Whether the ensemble is still gathering its training readings.
    pub fn is_training(&self) -> bool {
        self.voter.is_none()
    }

    /// Checks a request's width against the series' before anything else happens.
    pub fn check_width(&self, req: &Ingest) -> Result<(), SeriesError> {
        let got = req.readings.first().map_or(0, |r| r.values.len());
        self.check(got)
    }

    fn check(&self, got: usize) -> Result<(), SeriesError> {
        if self.width != 0 && self.width != got {
            return Err(SeriesError::Width {
                expected: self.width,
                got,
            });
        }
        Ok(())
    }

    /// Trains on, or scores, validated readings (all of one width); the ensemble is fitted once `train_rows`
    /// readings have arrived. A reading at or before the last time taken is a re-send when it matches one of the
    /// series' newest [`RESEND_WINDOW`](crate::RESEND_WINDOW) readings, and refused otherwise (nothing taken):
    /// [`ingest_with_stored`](Self::ingest_with_stored) tells older ones too.
    pub fn ingest(&mut self, readings: &[IngestReading], train_rows: usize) -> Result<Scored, SeriesError> {
        self.ingest_with_stored(readings, train_rows, &[])
    }

    /// The times of `readings` too old for the series' window to tell a re-send by: what the store holds at
    /// them goes to [`ingest_with_stored`](Self::ingest_with_stored).
    pub fn to_look_up(&self, readings: &[IngestReading]) -> Vec<i64> {
        self.taken.to_look_up(readings)
    }

    /// [`ingest`](Self::ingest), telling re-sends older than the window from `stored`, the store's points at the
    /// times [`to_look_up`](Self::to_look_up) named.
    pub fn ingest_with_stored(
        &mut self,
        readings: &[IngestReading],
        train_rows: usize,
        stored: &[Point],
    ) -> Result<Scored, SeriesError> {
        let width = readings.first().map_or(self.width, |r| r.values.len());
        self.check(width)?;
        if let Some(r) = readings.iter().find(|r| r.values.len() != width) {
            return Err(SeriesError::Width {
                expected: width,
                got: r.values.len(),
            });
        }
        self.taken.check(readings, stored)?;
        self.width = width;
        let mut scored = Scored {
            points: Vec::with_capacity(readings.len()),
            verdicts: Vec::new(),
            skipped: 0,
            integrity: None,
        };
        for r in readings {
            if self.taken.arrival(r) == Arrival::Resent {
                scored.skipped += 1;
                continue;
            }
            self.taken.take(r);
            let mut point = Point::new(Timestamp::from_millis(r.at), r.values[0]);
            match self.voter.as_mut() {
                None => {
                    self.training.push(r.values.clone());
                    if self.training.len() >= train_rows {
                        let rows = ndarray::Array2::from_shape_fn((self.training.len(), width), |(i, j)| {
                            self.training[i][j]
                        });
                        self.voter = Some(self.model.fit(rows.view())?);
                        self.training.clear();
                    }
                }
                Some(voter) => {
                    // With the reading's time: rules and votes that persist in seconds follow the clock.
                    let v = voter.update_at(
                        ndarray::ArrayView1::from(&r.values[..]),
                        Timestamp::from_millis(r.at),
                    );
                    let members = member_votes(&v);
                    // The vote record travels with the point: `/verdicts` reads it back from the store.
                    point = point.with_alarm(v.alarm).with_detail(record(&r.values, &members));
                    scored.verdicts.push(VerdictOut {
                        at: r.at,
                        values: r.values.clone(),
                        alarm: v.alarm,
                        members,
                    });
                }
            }
            scored.points.push(point);
        }
        if !scored.verdicts.is_empty() {
            scored.integrity = self.voter.as_ref().map(Voter::integrity);
        }
        Ok(scored)
    }

    /// The points to store now: those the history could not take before, then `points`.
    pub fn to_store(&mut self, points: Vec<Point>) -> Vec<Point> {
        let mut all = std::mem::take(&mut self.unsaved);
        all.extend(points);
        all
    }

    /// Keeps `points` the history could not take, for the next request to store first (the newest
    /// `UNSAVED`, 10,000); how many older ones it had to drop.
    pub fn keep_unsaved(&mut self, mut points: Vec<Point>) -> usize {
        let over = points.len().saturating_sub(UNSAVED);
        points.drain(..over);
        self.unsaved = points;
        over
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::api::MemberVote;

    fn rows(n: i64, spike_at: Option<i64>) -> Vec<IngestReading> {
        (0..n)
            .map(|i| {
                let wobble = ((i * 7919) % 13) as f64 * 0.01;
                let spike = if Some(i) == spike_at { 50.0 } else { 0.0 };
                IngestReading {
                    at: i * 1000,
                    values: vec![4.0 + wobble + spike, 60.0 - wobble, 12.0 + wobble / 2.0],
                }
            })
            .collect()
    }

    #[test]
    fn trains_then_scores_and_keeps_the_newest_verdicts() {
        let mut s = Series::default();
        let train = s.ingest(&rows(200, None), 200).unwrap();
        assert_eq!(train.points.len(), 200);
        assert!(train.verdicts.is_empty());
        assert!(!s.is_training());
        // The next 1,100 rows, after the training ones.
        let data: Vec<IngestReading> = rows(1100, Some(1050))
            .into_iter()
            .map(|mut r| {
                r.at += 200_000;
                r
            })
            .collect();
        let scored = s.ingest(&data[..], 200).unwrap();
        assert_eq!(scored.verdicts.len(), 1100);
        assert_eq!(scored.skipped, 0);
        assert!(scored.points.iter().all(|p| p.detail.is_some()));
        // Each scored point carries its verdict with the vote record, as `/verdicts` reads it back.
        let back: Vec<VerdictOut> = scored.points.iter().filter_map(verdict_of).collect();
        assert_eq!(back, scored.verdicts);
        assert_eq!(s.last_at(), Some(1299 * 1000));
        // Stored and resumed (a restart): no retraining, the same verdicts, re-sends still skipped.
        let stored = s.model_to_store().unwrap().unwrap();
        let mut resumed = Series::resume(Some(&stored), &scored.points).unwrap();
        assert!(!resumed.is_training() && resumed.model_to_store().is_none());
        let next: Vec<IngestReading> = rows(10, None)
            .into_iter()
            .map(|mut r| {
                r.at += 1_300_000;
                r
            })
            .collect();
        assert_eq!(resumed.ingest(&next, 200).unwrap().verdicts.len(), 10);
        assert_eq!(resumed.ingest(&data[1095..], 200).unwrap().skipped, 5);
        // Older than the window: refused unless the store's points tell them.
        assert!(matches!(
            resumed.ingest(&data[..5], 200),
            Err(SeriesError::OutOfOrder(_))
        ));
        assert_eq!(resumed.to_look_up(&data[..5]).len(), 5);
        let held = &scored.points[..5];
        assert_eq!(
            resumed.ingest_with_stored(&data[..5], 200, held).unwrap().skipped,
            5
        );
        assert!(
            Series::resume(
                Some(&StoredModel {
                    width: 3,
                    voter: "{}".into()
                }),
                &[]
            )
            .is_err()
        );
        // The same rows again (a sender unsure they arrived): all skipped, nothing scored or stored twice.
        let again = s.ingest_with_stored(&data[..], 200, &scored.points).unwrap();
        assert_eq!(
            (again.skipped, again.verdicts.len(), again.points.len()),
            (1100, 0, 0)
        );
    }

    #[test]
    fn a_member_left_out_is_named_in_the_stored_record_and_the_integrity() {
        let mut s = Series::default();
        s.ingest(&rows(200, None), 200).unwrap();
        // One sensor jumps and stays: some members vote yes alone for long enough to be left out, or all
        // agree; either way the record read back from the store is the verdict as scored.
        let data: Vec<IngestReading> = rows(600, None)
            .into_iter()
            .map(|mut r| {
                r.at += 200_000;
                r.values[2] += 40.0;
                r
            })
            .collect();
        let scored = s.ingest(&data, 200).unwrap();
        let back: Vec<VerdictOut> = scored.points.iter().filter_map(verdict_of).collect();
        assert_eq!(back, scored.verdicts);
        let i = scored.integrity.unwrap();
        assert!(i.holds(), "{:?}", i.warnings());
        let faulty: Vec<&MemberVote> = scored
            .verdicts
            .iter()
            .flat_map(|v| &v.members)
            .filter(|m| m.fault.is_some())
            .collect();
        assert_eq!(faulty.is_empty(), i.degraded_rows == 0);
        // The yes votes name the value that jumped.
        let named: Vec<usize> = scored
            .verdicts
            .iter()
            .flat_map(|v| &v.members)
            .filter(|m| m.vote == "yes")
            .filter_map(|m| m.drivers.first().map(|d| d.0))
            .collect();
        assert!(!named.is_empty());
        assert!(
            named.iter().filter(|c| **c == 2).count() * 10 >= named.len() * 9,
            "{named:?}"
        );
    }

    #[test]
    fn width_changes_are_refused_and_change_nothing() {
        let mut s = Series::default();
        s.ingest(&rows(10, None), 200).unwrap();
        let narrow = [IngestReading {
            at: 1,
            values: vec![1.0, 2.0],
        }];
        assert!(matches!(
            s.ingest(&narrow, 200),
            Err(SeriesError::Width { expected: 3, got: 2 })
        ));
        assert!(s.is_training());
        assert_eq!(s.training.len(), 10);
    }
}
