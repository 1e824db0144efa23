//! One series' state and logic, free of HTTP: its width, the readings that train its ensemble, the fitted
//! voter, and the verdicts kept for `/verdicts`.

use std::collections::VecDeque;

use aeroguard_consensus::history::Point;
use aeroguard_core::Timestamp;
use aeroguard_detect::{EnsembleRecipe, Model, Voter};

use super::api::{Ingest, IngestReading, MemberVote, VerdictOut, vote_name};

/// Verdicts kept per series for `/verdicts`.
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
}

/// What ingesting readings produced: the points to store and the verdicts (none while training).
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    /// One point per new reading, alarms and values in their detail.
    pub points: Vec<Point>,
    /// One verdict per reading scored.
    pub verdicts: Vec<VerdictOut>,
    /// Readings skipped because they are not after the last time the series took: a sender re-sending what
    /// it is not sure arrived (store-and-forward after a crash or a lost answer) changes nothing.
    pub skipped: usize,
}

/// One series: it trains an ensemble on its first readings, then scores every reading after.
///
/// ```
/// use aeroguard_examples::sentinel::{IngestReading, Series};
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
/// # Ok::<(), aeroguard_examples::sentinel::SeriesError>(())
/// ```
#[derive(Default)]
pub struct Series {
    width: usize,
    training: Vec<Vec<f64>>,
    voter: Option<Voter<Model>>,
    verdicts: VecDeque<VerdictOut>,
    /// The time of the newest reading taken.
    last_at: Option<i64>,
    /// Points scored but not yet stored (the history was unavailable), oldest first.
    unsaved: Vec<Point>,
}

impl Series {
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
    /// readings have arrived.
    pub fn ingest(&mut self, readings: &[IngestReading], train_rows: usize) -> Result<Scored, SeriesError> {
        let width = readings.first().map_or(self.width, |r| r.values.len());
        self.check(width)?;
        if let Some(r) = readings.iter().find(|r| r.values.len() != width) {
            return Err(SeriesError::Width {
                expected: width,
                got: r.values.len(),
            });
        }
        self.width = width;
        let mut scored = Scored {
            points: Vec::with_capacity(readings.len()),
            verdicts: Vec::new(),
            skipped: 0,
        };
        for r in readings {
            if self.last_at.is_some_and(|last| r.at <= last) {
                scored.skipped += 1;
                continue;
            }
            self.last_at = Some(r.at);
            let mut point = Point::new(Timestamp::from_millis(r.at), r.values[0]);
            match self.voter.as_mut() {
                None => {
                    self.training.push(r.values.clone());
                    if self.training.len() >= train_rows {
                        let rows = ndarray::Array2::from_shape_fn((self.training.len(), width), |(i, j)| {
                            self.training[i][j]
                        });
                        self.voter = Some(EnsembleRecipe::default().fit(rows.view())?);
                        self.training.clear();
                    }
                }
                Some(voter) => {
                    let v = voter.update(ndarray::ArrayView1::from(&r.values[..]));
                    point = point
                        .with_alarm(v.alarm)
                        .with_detail(serde_json::json!({ "values": r.values }));
                    scored.verdicts.push(VerdictOut {
                        at: r.at,
                        values: r.values.clone(),
                        alarm: v.alarm,
                        members: v
                            .members
                            .iter()
                            .map(|m| MemberVote {
                                name: m.name.clone(),
                                score: m.score,
                                threshold: m.threshold,
                                vote: vote_name(&m.vote).into(),
                            })
                            .collect(),
                    });
                }
            }
            scored.points.push(point);
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
    /// [`UNSAVED`]); how many older ones it had to drop.
    pub fn keep_unsaved(&mut self, mut points: Vec<Point>) -> usize {
        let over = points.len().saturating_sub(UNSAVED);
        points.drain(..over);
        self.unsaved = points;
        over
    }

    /// Keeps verdicts for `/verdicts` (the newest [`KEPT`]).
    pub fn keep(&mut self, verdicts: &[VerdictOut]) {
        for v in verdicts {
            self.verdicts.push_back(v.clone());
            if self.verdicts.len() > KEPT {
                self.verdicts.pop_front();
            }
        }
    }

    /// The newest `limit` verdicts kept, oldest first.
    pub fn latest(&self, limit: usize) -> Vec<VerdictOut> {
        let skip = self.verdicts.len().saturating_sub(limit.min(KEPT));
        self.verdicts.iter().skip(skip).cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

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
        s.keep(&scored.verdicts);
        assert_eq!(s.latest(5000).len(), KEPT, "only the newest are kept");
        assert_eq!(s.latest(3).last().unwrap().at, 1299 * 1000);
        assert!(s.latest(5000).first().unwrap().at == 300 * 1000);
        // The same rows again (a sender unsure they arrived): all skipped, nothing scored or stored twice.
        let again = s.ingest(&data[..], 200).unwrap();
        assert_eq!(
            (again.skipped, again.verdicts.len(), again.points.len()),
            (1100, 0, 0)
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
