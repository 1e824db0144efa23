//! The dense autoencoder: the last `window` rows, flattened, squeezed through a bottleneck and rebuilt; the
//! score is the mean squared reconstruction error in scaled units.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2};
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

use super::{RowWindow, Training, TrainingReport, calibrate, damaged, window_row};
use crate::limits;
use crate::nn::loss::{mse, row_mse};
use crate::nn::train::{Net, fit};
use crate::nn::{Act, Dense, Param, Scaler};
use crate::{Calibration, Detector, Error, FittedDetector, Result, input};

/// Parameters of a dense autoencoder; build with [`Autoencoder::builder`].
///
/// ```
/// use aeroguard_detect::{Detector, FittedDetector, neural::Autoencoder};
/// use ndarray::Array2;
/// // Two sensors that move together; the autoencoder learns that they do.
/// let x = Array2::from_shape_fn((300, 2), |(i, j)| (i as f64 / 9.0).sin() * if j == 0 { 1.0 } else { 2.0 });
/// let model = Autoencoder::builder().window(1).hidden(8).bottleneck(1).seed(3).build()?.fit(x.view())?;
/// let broken = Array2::from_shape_vec((1, 2), vec![0.9, -1.8]).unwrap(); // moving apart
/// assert!(model.score(broken.view())?[0] > model.threshold());
/// # Ok::<(), aeroguard_detect::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Autoencoder {
    window: usize,
    hidden: usize,
    bottleneck: usize,
    training: Training,
    calibration: Calibration,
    seed: u64,
}

/// Builds an [`Autoencoder`], checking every parameter.
#[derive(Debug, Clone)]
pub struct AutoencoderBuilder(Autoencoder);

impl Autoencoder {
    /// Rows per window.
    pub fn window(&self) -> usize {
        self.window
    }

    /// Hidden units.
    pub fn hidden(&self) -> usize {
        self.hidden
    }

    /// Units of the bottleneck.
    pub fn bottleneck(&self) -> usize {
        self.bottleneck
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

    /// Defaults: windows of 4 rows, 32 hidden units, a bottleneck of 4, [`Training::default`], threshold at
    /// robust z 5 of the training scores, seed 0.
    pub fn builder() -> AutoencoderBuilder {
        AutoencoderBuilder(Autoencoder {
            window: 4,
            hidden: 32,
            bottleneck: 4,
            training: Training::default(),
            calibration: Calibration::RobustZ(5.0),
            seed: 0,
        })
    }
}

impl AutoencoderBuilder {
    /// Rows in each causal window (at least 1).
    pub fn window(mut self, rows: usize) -> Self {
        self.0.window = rows;
        self
    }
    /// Units of the two hidden layers.
    pub fn hidden(mut self, units: usize) -> Self {
        self.0.hidden = units;
        self
    }
    /// Units of the bottleneck.
    pub fn bottleneck(mut self, units: usize) -> Self {
        self.0.bottleneck = units;
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
    pub fn build(self) -> Result<Autoencoder> {
        let p = self.0;
        if p.window == 0 {
            return Err(Error::parameter("window", p.window, "at least 1 row"));
        }
        limits::at_most("window", p.window, limits::MAX_WINDOW)?;
        limits::at_most("hidden", p.hidden, limits::MAX_UNITS)?;
        if p.hidden == 0 {
            return Err(Error::parameter("hidden", p.hidden, "at least 1 unit"));
        }
        if p.bottleneck == 0 || p.bottleneck > p.hidden {
            return Err(Error::parameter(
                "bottleneck",
                p.bottleneck,
                "between 1 and `hidden` units",
            ));
        }
        p.training.validate()?;
        p.calibration.validate()?;
        Ok(p)
    }
}

/// The layers, as the training loop sees them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Layers(Vec<Dense>);

impl Layers {
    fn forward(&self, x: ArrayView2<f64>) -> Vec<Array2<f64>> {
        let mut acts: Vec<Array2<f64>> = Vec::with_capacity(self.0.len());
        for layer in &self.0 {
            let next = match acts.last() {
                Some(a) => layer.forward(a.view()),
                None => layer.forward(x.view()),
            };
            acts.push(next);
        }
        acts
    }

    fn reconstruct(&self, x: ArrayView2<f64>) -> Array2<f64> {
        self.forward(x).pop().unwrap_or_else(|| x.to_owned())
    }
}

/// Flattened windows ending at `ends`, of scaled rows.
fn gather(x: ArrayView2<f64>, ends: &[usize], window: usize) -> Array2<f64> {
    let d = x.ncols();
    let mut out = Array2::zeros((ends.len(), window * d));
    for (i, &end) in ends.iter().enumerate() {
        for t in 0..window {
            out.row_mut(i)
                .slice_axis_mut(ndarray::Axis(0), ndarray::Slice::from(t * d..(t + 1) * d))
                .assign(&window_row(x, end, window, t));
        }
    }
    out
}

struct Data {
    x: Array2<f64>,
    window: usize,
}

impl Net for Layers {
    type Data = Data;

    fn train_batch(&mut self, data: &Data, samples: &[usize]) -> f64 {
        let x = gather(data.x.view(), samples, data.window);
        let acts = self.forward(x.view());
        let Some(out) = acts.last() else { return 0.0 };
        let (loss, mut g) = mse(out.view(), x.view());
        for i in (0..self.0.len()).rev() {
            let input = if i == 0 { x.view() } else { acts[i - 1].view() };
            g = self.0[i].backward(input, &acts[i], g);
        }
        loss
    }

    fn eval(&self, data: &Data, samples: &[usize]) -> f64 {
        let x = gather(data.x.view(), samples, data.window);
        mse(self.reconstruct(x.view()).view(), x.view()).0
    }

    fn params(&mut self) -> Vec<&mut Param> {
        self.0.iter_mut().flat_map(|l| l.params()).collect()
    }
}

impl Detector for Autoencoder {
    type Fitted = FittedAutoencoder;

    fn fit(&self, x: ArrayView2<f64>) -> Result<FittedAutoencoder> {
        limits::at_most(
            "window x columns",
            self.window.saturating_mul(x.ncols()),
            limits::MAX_INPUTS,
        )?;
        super::budget::autoencoder(self, x.ncols(), x.nrows())?;
        let needed = (self.window + 10).max(20);
        input::training("autoencoder", x, needed)?;
        let scaler = Scaler::fit(x);
        let scaled = scaler.transform(x);
        let d = self.window * x.ncols();
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(self.seed);
        let mut net = Layers(vec![
            Dense::new(d, self.hidden, Act::Tanh, &mut rng),
            Dense::new(self.hidden, self.bottleneck, Act::Tanh, &mut rng),
            Dense::new(self.bottleneck, self.hidden, Act::Tanh, &mut rng),
            Dense::new(self.hidden, d, Act::Identity, &mut rng),
        ]);
        let data = Data {
            x: scaled,
            window: self.window,
        };
        let (train, validation) = self.training.split((0..x.nrows()).collect());
        let report = fit(
            &mut net,
            &data,
            train,
            &validation,
            &self.training,
            &mut rng,
            "autoencoder",
        )?;
        let model = FittedAutoencoder {
            window: self.window,
            scaler,
            net,
            threshold: 0.0,
            report: report.into(),
            stream: RowWindow::default(),
        };
        calibrate(model, &self.calibration, x)
    }
}

/// A trained dense autoencoder with its scaler and threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedAutoencoder {
    window: usize,
    scaler: Scaler,
    net: Layers,
    threshold: f64,
    report: TrainingReport,
    stream: RowWindow,
}

impl FittedAutoencoder {
    /// How training went.
    pub fn report(&self) -> TrainingReport {
        self.report
    }

    /// Checks the layers chain, the scaler and the streaming window (after loading).
    pub fn check(&self) -> Result<()> {
        limits::loaded_at_most("autoencoder window", self.window, limits::MAX_WINDOW)?;
        limits::loaded_at_most("columns", self.scaler.width(), limits::MAX_COLUMNS)?;
        let d = self.window.saturating_mul(self.scaler.width());
        let layers = &self.net.0;
        let chained = layers.len() == 4
            && layers[0].inputs() == d
            && layers.windows(2).all(|w| w[0].outputs() == w[1].inputs())
            && layers[3].outputs() == d
            && layers
                .iter()
                .all(|l| l.b.w.shape() == [1, l.outputs()] && l.w.is_finite() && l.b.is_finite());
        if self.window == 0 || !chained || !self.scaler.is_valid() || !self.threshold.is_finite() {
            return Err(damaged(
                "autoencoder layers, scaler or threshold are inconsistent",
            ));
        }
        self.stream.check(self.window, self.scaler.width())
    }
}

impl FittedDetector for FittedAutoencoder {
    fn name(&self) -> &str {
        "autoencoder"
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
        let scaled = self.scaler.transform(x);
        let mut scores = Vec::with_capacity(x.nrows());
        // In chunks, so memory stays bounded for long inputs.
        let ends: Vec<usize> = (0..x.nrows()).collect();
        for chunk in ends.chunks(256) {
            let w = gather(scaled.view(), chunk, self.window);
            scores.extend(row_mse(self.net.reconstruct(w.view()).view(), w.view()));
        }
        Ok(Array1::from(scores))
    }
    fn update(&mut self, row: ArrayView1<f64>) -> Result<f64> {
        input::check_row("row to score", row, self.n_features())?;
        self.stream.push(self.scaler.transform_row(row), self.window);
        let m = self.stream.matrix(self.n_features());
        let flat = Array2::from_shape_vec((1, m.len()), m.into_iter().collect())
            .map_err(|e| damaged(&e.to_string()))?;
        Ok(row_mse(self.net.reconstruct(flat.view()).view(), flat.view())[0])
    }
    fn reset(&mut self) {
        self.stream.clear();
    }
    /// Reconstruction-based contributions over the streaming window: how much the squared reconstruction
    /// error falls when one channel alone is replaced by what the network rebuilds of it (twice, so it settles
    /// where the other channels put it); each channel's own error where no replacement lowers it.
    fn explain(&self, _row: ArrayView1<f64>) -> Option<Vec<f64>> {
        let d = self.n_features();
        let m = self.stream.matrix(d);
        let rows = m.nrows();
        super::rebuilt_shares(&m, |w| {
            let flat = Array2::from_shape_vec((1, w.len()), w.iter().copied().collect()).ok()?;
            let out = self.net.reconstruct(flat.view());
            Array2::from_shape_vec((rows, d), out.iter().copied().collect()).ok()
        })
    }
}
