//! The LSTM predictor: an LSTM reads the scaled rows one by one and a linear head predicts the next row from
//! its hidden state; the score of a row is the mean squared error of that prediction. Streaming carries the
//! hidden state, the cell state and the pending prediction from row to row, so scoring a row is one step, not a
//! pass over a window; a batch is scored as one stream from a fresh state, so both agree exactly.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

use super::{Training, TrainingReport, calibrate, damaged};
use crate::limits;
use crate::nn::loss::mse;
use crate::nn::lstm::StepCache;
use crate::nn::train::{Net, fit};
use crate::nn::{Act, Dense, Lstm as LstmLayer, Param, Scaler};
use crate::{Calibration, Detector, Error, FittedDetector, Result, input};

/// Parameters of an LSTM predictor; build with [`Lstm::builder`].
///
/// ```
/// use aeroguard_detect::{Detector, FittedDetector, neural::{Lstm, Training}};
/// use ndarray::Array2;
/// let x = Array2::from_shape_fn((300, 1), |(i, _)| (i as f64 / 4.0).sin());
/// let quick = Training { epochs: 20, ..Training::default() };
/// let mut model = Lstm::builder().hidden(8).sequence(16).training(quick).build()?.fit(x.view())?;
/// let batch = model.score(x.view())?;
/// let streamed: Vec<f64> = x.rows().into_iter().map(|r| model.update(r)).collect::<Result<_, _>>()?;
/// assert!((batch[299] - streamed[299]).abs() < 1e-12);
/// # Ok::<(), aeroguard_detect::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lstm {
    hidden: usize,
    sequence: usize,
    warmup: usize,
    training: Training,
    calibration: Calibration,
    seed: u64,
}

/// Builds an [`Lstm`], checking every parameter.
#[derive(Debug, Clone)]
pub struct LstmBuilder(Lstm);

impl Lstm {
    /// Hidden units.
    pub fn hidden(&self) -> usize {
        self.hidden
    }

    /// Rows per training sequence.
    pub fn sequence(&self) -> usize {
        self.sequence
    }

    /// Rows of each sequence that only warm the state up.
    pub fn warmup(&self) -> usize {
        self.warmup
    }

    /// How it trains.
    pub fn training(&self) -> Training {
        self.training
    }

    /// How the threshold is set.
    pub fn calibration(&self) -> Calibration {
        self.calibration
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Defaults: 32 hidden units, training sequences of 32 rows of which the first 8 only warm the state up,
    /// [`Training::default`], threshold at robust z 5, seed 0.
    pub fn builder() -> LstmBuilder {
        LstmBuilder(Lstm {
            hidden: 32,
            sequence: 32,
            warmup: 8,
            training: Training::default(),
            calibration: Calibration::RobustZ(5.0),
            seed: 0,
        })
    }
}

impl LstmBuilder {
    /// Hidden units.
    pub fn hidden(mut self, units: usize) -> Self {
        self.0.hidden = units;
        self
    }
    /// Rows per training sequence (back-propagation through time runs over all of them).
    pub fn sequence(mut self, rows: usize) -> Self {
        self.0.sequence = rows;
        self
    }
    /// Leading rows of each training sequence whose predictions do not count (the state warms up).
    pub fn warmup(mut self, rows: usize) -> Self {
        self.0.warmup = rows;
        self
    }
    /// How to train.
    pub fn training(mut self, training: Training) -> Self {
        self.0.training = training;
        self
    }
    /// How to set the threshold from the training scores.
    pub fn calibration(mut self, calibration: Calibration) -> Self {
        self.0.calibration = calibration;
        self
    }
    /// Seed of the initial weights and the shuffling.
    pub fn seed(mut self, seed: u64) -> Self {
        self.0.seed = seed;
        self
    }
    /// The parameters, or the first one out of its domain.
    pub fn build(self) -> Result<Lstm> {
        let p = self.0;
        if p.hidden == 0 {
            return Err(Error::parameter("hidden", p.hidden, "at least 1 unit"));
        }
        limits::at_most("hidden", p.hidden, limits::MAX_UNITS)?;
        limits::at_most("sequence", p.sequence, limits::MAX_WINDOW)?;
        if p.sequence < 2 {
            return Err(Error::parameter("sequence", p.sequence, "at least 2 rows"));
        }
        if p.warmup >= p.sequence {
            return Err(Error::parameter(
                "warmup",
                p.warmup,
                "fewer rows than the sequence",
            ));
        }
        p.training.validate()?;
        p.calibration.validate()?;
        Ok(p)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Layers {
    lstm: LstmLayer,
    head: Dense,
}

struct Data {
    x: Array2<f64>,
    sequence: usize,
    warmup: usize,
}

/// The state a stream carries: hidden and cell states and the prediction for the next row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct State {
    h: Array2<f64>,
    c: Array2<f64>,
    prediction: Array2<f64>,
    /// Each channel's squared miss on the last row (what `explain` reads).
    #[serde(default)]
    missed: Vec<f64>,
}

impl Layers {
    fn fresh(&self, batch: usize) -> State {
        let h = Array2::zeros((batch, self.lstm.hidden()));
        State {
            prediction: self.head.forward(h.view()),
            c: h.clone(),
            h,
            missed: Vec::new(),
        }
    }

    /// Inputs of step `k` of the sequences starting at `starts`.
    fn step_inputs(data: &Data, starts: &[usize], k: usize) -> Array2<f64> {
        data.x
            .select(Axis(0), &starts.iter().map(|s| s + k).collect::<Vec<_>>())
    }

    /// Forward over the sequences; returns the loss, and the caches when `keep` is set.
    #[allow(clippy::type_complexity)]
    fn run(
        &self,
        data: &Data,
        starts: &[usize],
        keep: bool,
    ) -> (f64, Vec<(StepCache, Array2<f64>, Array2<f64>)>) {
        let mut state = self.fresh(starts.len());
        let mut caches = Vec::new();
        let (mut loss, mut counted) = (0.0, 0);
        for k in 0..data.sequence - 1 {
            let x = Self::step_inputs(data, starts, k);
            let (h, c, cache) = self.lstm.step(x.view(), state.h.view(), state.c.view());
            let prediction = self.head.forward(h.view());
            if k >= data.warmup {
                let target = Self::step_inputs(data, starts, k + 1);
                let (l, g) = mse(prediction.view(), target.view());
                loss += l;
                counted += 1;
                if keep {
                    caches.push((cache, h.clone(), g));
                }
            } else if keep {
                caches.push((cache, h.clone(), Array2::zeros(prediction.raw_dim())));
            }
            state = State {
                h,
                c,
                prediction,
                missed: Vec::new(),
            };
        }
        (loss / counted.max(1) as f64, caches)
    }
}

impl Net for Layers {
    type Data = Data;

    fn train_batch(&mut self, data: &Data, starts: &[usize]) -> f64 {
        let (loss, caches) = self.run(data, starts, true);
        let counted = (data.sequence - 1 - data.warmup).max(1) as f64;
        let mut dhs = Vec::with_capacity(caches.len());
        let mut lstm_caches = Vec::with_capacity(caches.len());
        for (cache, h, g) in caches {
            let prediction = self.head.forward(h.view());
            let g = g / counted;
            dhs.push(self.head.backward(h.view(), &prediction, g));
            lstm_caches.push(cache);
        }
        self.lstm.backward(&lstm_caches, &dhs);
        loss
    }

    fn eval(&self, data: &Data, starts: &[usize]) -> f64 {
        self.run(data, starts, false).0
    }

    fn params(&mut self) -> Vec<&mut Param> {
        let Layers { lstm, head } = self;
        let mut out: Vec<&mut Param> = lstm.params().into_iter().collect();
        out.extend(head.params());
        out
    }
}

impl Detector for Lstm {
    type Fitted = FittedLstm;

    fn fit(&self, x: ArrayView2<f64>) -> Result<FittedLstm> {
        super::budget::lstm(self, x.ncols(), x.nrows())?;
        input::training("lstm", x, (2 * self.sequence).max(20))?;
        let scaler = Scaler::fit(x);
        let d = x.ncols();
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(self.seed);
        let mut net = Layers {
            lstm: LstmLayer::new(d, self.hidden, &mut rng),
            head: Dense::new(self.hidden, d, Act::Identity, &mut rng),
        };
        let data = Data {
            x: scaler.transform(x),
            sequence: self.sequence,
            warmup: self.warmup,
        };
        let (train, validation) = self.training.split((0..=x.nrows() - self.sequence).collect());
        let report = fit(
            &mut net,
            &data,
            train,
            &validation,
            &self.training,
            &mut rng,
            "lstm",
        )?;
        let state = net.fresh(1);
        let model = FittedLstm {
            scaler,
            net,
            threshold: 0.0,
            report: report.into(),
            state,
        };
        calibrate(model, &self.calibration, x)
    }
}

/// A trained LSTM predictor with its scaler, threshold and streaming state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedLstm {
    scaler: Scaler,
    net: Layers,
    threshold: f64,
    report: TrainingReport,
    state: State,
}

impl FittedLstm {
    /// How training went.
    pub fn report(&self) -> TrainingReport {
        self.report
    }

    /// Checks the layer shapes, the scaler and the streaming state (after loading).
    pub fn check(&self) -> Result<()> {
        limits::loaded_at_most("LSTM hidden units", self.net.lstm.hidden(), limits::MAX_UNITS)?;
        limits::loaded_at_most("columns", self.scaler.width(), limits::MAX_COLUMNS)?;
        let (l, h, d) = (&self.net.lstm, self.net.lstm.hidden(), self.scaler.width());
        let ok = l.inputs() == d
            && l.w.w.ncols() == 4 * h
            && l.u.w.shape() == [h, 4 * h]
            && l.b.w.shape() == [1, 4 * h]
            && self.net.head.inputs() == h
            && self.net.head.outputs() == d
            && self.net.head.b.w.shape() == [1, d]
            && [&l.w, &l.u, &l.b, &self.net.head.w, &self.net.head.b]
                .iter()
                .all(|p| p.is_finite())
            && self.state.h.shape() == [1, h]
            && self.state.c.shape() == [1, h]
            && self.state.prediction.shape() == [1, d]
            && self.scaler.is_valid()
            && self.threshold.is_finite();
        if ok {
            Ok(())
        } else {
            Err(damaged(
                "lstm layers, scaler, state or threshold are inconsistent",
            ))
        }
    }

    fn advance(&self, state: &mut State, row: ArrayView1<f64>) -> f64 {
        let x = self.scaler.transform_row(row).insert_axis(Axis(0));
        let score = crate::nn::loss::row_mse(state.prediction.view(), x.view())[0];
        let (h, c, _) = self.net.lstm.step(x.view(), state.h.view(), state.c.view());
        state.prediction = self.net.head.forward(h.view());
        state.h = h;
        state.c = c;
        score
    }
}

impl FittedDetector for FittedLstm {
    fn name(&self) -> &str {
        "lstm"
    }
    fn n_features(&self) -> usize {
        self.scaler.width()
    }
    fn threshold(&self) -> f64 {
        self.threshold
    }
    fn set_threshold(&mut self, threshold: f64) {
        self.threshold = threshold;
    }
    fn score(&self, x: ArrayView2<f64>) -> Result<Array1<f64>> {
        input::check("rows to score", x, self.n_features())?;
        let mut state = self.net.fresh(1);
        Ok(x.rows()
            .into_iter()
            .map(|r| self.advance(&mut state, r))
            .collect())
    }
    fn update(&mut self, row: ArrayView1<f64>) -> Result<f64> {
        input::check_row("row to score", row, self.n_features())?;
        let mut state = std::mem::replace(&mut self.state, self.net.fresh(1));
        let x = self.scaler.transform_row(row);
        state.missed = state
            .prediction
            .iter()
            .zip(&x)
            .map(|(p, v)| (p - v) * (p - v))
            .collect();
        let score = self.advance(&mut state, row);
        self.state = state;
        Ok(score)
    }
    fn reset(&mut self) {
        self.state = self.net.fresh(1);
    }
    /// Each channel's squared miss predicting the last row.
    fn explain(&self, _row: ArrayView1<f64>) -> Option<Vec<f64>> {
        crate::detector::shares(self.state.missed.clone())
    }
}
