//! A detector's predictions, pooled over files, scored by the SKAB protocol.

use crate::metrics::{Counts, Nab};
use crate::skab::{SkabFile, TRAIN_ROWS};
use crate::{Error, Result};

/// The protocol's scores of one detector, pooled over files.
///
/// ```
/// use aeroguard_eval::{Evaluation, skab::SkabFile};
/// let mut text = String::from("datetime;a;anomaly;changepoint\n");
/// for i in 0..410 {
///     let bad = i >= 405;
///     text += &format!("2020-03-09 10:{:02}:{:02};1.0;{};{}\n", i / 60, i % 60, bad as u8, (i == 405) as u8);
/// }
/// let f = SkabFile::parse("x.csv", &text)?;
/// let mut e = Evaluation::new("perfect");
/// e.add(&f, &f.anomaly[400..])?;
/// let s = e.summary();
/// assert_eq!((s.f1, s.far, s.mar, s.tp, s.tn), (1.0, 0.0, 0.0, 5, 5));
/// assert_eq!(s.nab_standard, 100.0);
/// # Ok::<(), aeroguard_eval::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// The detector's name.
    pub name: String,
    /// Row counts.
    pub counts: Counts,
    /// Changepoint scores.
    pub nab: Nab,
}

/// The figures the protocol reports for one detector (rates in percent, scores in [-inf, 100]).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Summary {
    /// The detector.
    pub name: String,
    /// F1.
    pub f1: f64,
    /// False alarm rate, %.
    pub far: f64,
    /// Missed alarm rate, %.
    pub mar: f64,
    /// True positives.
    pub tp: u64,
    /// False positives.
    pub fp: u64,
    /// False negatives.
    #[serde(rename = "fn")]
    pub fn_: u64,
    /// True negatives.
    pub tn: u64,
    /// NAB-like score, standard profile.
    pub nab_standard: f64,
    /// NAB-like score, low false positive profile.
    pub nab_low_fp: f64,
    /// NAB-like score, low false negative profile.
    pub nab_low_fn: f64,
}

impl Evaluation {
    /// An empty evaluation.
    pub fn new(name: impl Into<String>) -> Self {
        Evaluation {
            name: name.into(),
            counts: Counts::default(),
            nab: Nab::default(),
        }
    }

    /// Adds one file's predictions for its test rows (every row after the first [`TRAIN_ROWS`]).
    pub fn add(&mut self, file: &SkabFile, predicted: &[bool]) -> Result<()> {
        let start = TRAIN_ROWS.min(file.times.len());
        let expected = file.times.len() - start;
        if predicted.len() != expected {
            return Err(Error::Shape {
                what: "predictions (as columns of one row)",
                expected,
                got: predicted.len(),
            });
        }
        self.counts.add(predicted, &file.anomaly[start..]);
        self.nab
            .add(&file.times[start..], predicted, &file.changepoint[start..]);
        Ok(())
    }

    /// The reported figures, rounded to two decimals.
    pub fn summary(&self) -> Summary {
        let r = |v: f64| (v * 100.0).round() / 100.0;
        let nab = self.nab.normalised();
        let c = self.counts;
        Summary {
            name: self.name.clone(),
            f1: r(c.f1()),
            far: r(c.far()),
            mar: r(c.mar()),
            tp: c.tp,
            fp: c.fp,
            fn_: c.fn_,
            tn: c.tn,
            nab_standard: r(nab[0]),
            nab_low_fp: r(nab[1]),
            nab_low_fn: r(nab[2]),
        }
    }
}
