//! The 1-D convolutional autoencoder (the shape of SKAB's Conv-AE): a causal window of rows, convolved over
//! time, pooled to half length through a narrow bottleneck, upsampled and convolved back; the score of a row is
//! the mean squared reconstruction error of the window that ends at it.

use ndarray::{Array1, ArrayView1, ArrayView2};
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

use super::conv_net::{Data, Layers, gather, window_mse};
use super::{RowWindow, Training, TrainingReport, calibrate, damaged};
use crate::limits;
use crate::nn::train::fit;
use crate::nn::{Act, Conv1d, Scaler};
use crate::{Calibration, Detector, Error, FittedDetector, Result, input};

/// Parameters of a convolutional autoencoder; build with [`ConvAutoencoder::builder`].
///
/// ```
/// use aeroguard_detect::{Detector, FittedDetector, neural::{ConvAutoencoder, Training}};
/// use ndarray::Array2;
/// let x = Array2::from_shape_fn((240, 2), |(i, j)| (i as f64 / 5.0 + j as f64).sin());
/// let quick = Training { epochs: 15, ..Training::default() };
/// let model = ConvAutoencoder::builder().window(8).channels(8).training(quick).build()?.fit(x.view())?;
/// let scores = model.score(x.view())?;
/// assert_eq!(scores.len(), 240);
/// # Ok::<(), aeroguard_detect::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConvAutoencoder {
    window: usize,
    channels: usize,
    bottleneck: usize,
    kernel: usize,
    training: Training,
    calibration: Calibration,
    seed: u64,
}

/// Builds a [`ConvAutoencoder`], checking every parameter.
#[derive(Debug, Clone)]
pub struct ConvAutoencoderBuilder(ConvAutoencoder);

impl ConvAutoencoder {
    /// Rows per window.
    pub fn window(&self) -> usize {
        self.window
    }

    /// Channels of the first convolution.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Units of the bottleneck.
    pub fn bottleneck(&self) -> usize {
        self.bottleneck
    }

    /// The kernel width.
    pub fn kernel(&self) -> usize {
        self.kernel
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

    /// Defaults: windows of 16 rows, 16 channels, a bottleneck of 4 channels at half length, kernels of 5,
    /// [`Training::default`], threshold at robust z 5, seed 0.
    pub fn builder() -> ConvAutoencoderBuilder {
        ConvAutoencoderBuilder(ConvAutoencoder {
            window: 16,
            channels: 16,
            bottleneck: 4,
            kernel: 5,
            training: Training::default(),
            calibration: Calibration::RobustZ(5.0),
            seed: 0,
        })
    }
}

impl ConvAutoencoderBuilder {
    /// Rows in each causal window (even, at least 4).
    pub fn window(mut self, rows: usize) -> Self {
        self.0.window = rows;
        self
    }
    /// Channels of the outer convolutions.
    pub fn channels(mut self, channels: usize) -> Self {
        self.0.channels = channels;
        self
    }
    /// Channels of the bottleneck.
    pub fn bottleneck(mut self, channels: usize) -> Self {
        self.0.bottleneck = channels;
        self
    }
    /// Kernel width (odd).
    pub fn kernel(mut self, width: usize) -> Self {
        self.0.kernel = width;
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
    pub fn build(self) -> Result<ConvAutoencoder> {
        let p = self.0;
        if p.window < 4 || !p.window.is_multiple_of(2) {
            return Err(Error::parameter(
                "window",
                p.window,
                "an even number of rows, at least 4",
            ));
        }
        if p.channels == 0 {
            return Err(Error::parameter("channels", p.channels, "at least 1"));
        }
        limits::at_most("window", p.window, limits::MAX_WINDOW)?;
        limits::at_most("channels", p.channels, limits::MAX_UNITS)?;
        if p.bottleneck == 0 || p.bottleneck > p.channels {
            return Err(Error::parameter(
                "bottleneck",
                p.bottleneck,
                "between 1 and `channels`",
            ));
        }
        if p.kernel.is_multiple_of(2) || p.kernel > p.window {
            return Err(Error::parameter("kernel", p.kernel, "odd and at most the window"));
        }
        p.training.validate()?;
        p.calibration.validate()?;
        Ok(p)
    }
}

impl Detector for ConvAutoencoder {
    type Fitted = FittedConvAutoencoder;

    fn fit(&self, x: ArrayView2<f64>) -> Result<FittedConvAutoencoder> {
        super::budget::conv_autoencoder(self, x.ncols(), x.nrows())?;
        input::training("conv autoencoder", x, (2 * self.window).max(20))?;
        let scaler = Scaler::fit(x);
        let d = x.ncols();
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(self.seed);
        let (c, b, k) = (self.channels, self.bottleneck, self.kernel);
        let mut net = Layers {
            encode: Conv1d::new(d, c, k, Act::Relu, &mut rng),
            squeeze: Conv1d::new(c, b, k, Act::Relu, &mut rng),
            expand: Conv1d::new(b, c, k, Act::Relu, &mut rng),
            decode: Conv1d::new(c, d, k, Act::Identity, &mut rng),
        };
        let data = Data {
            x: scaler.transform(x),
            window: self.window,
        };
        // Full windows only: padded ones would teach the model the padding.
        let (train, validation) = self.training.split((self.window - 1..x.nrows()).collect());
        let report = fit(
            &mut net,
            &data,
            train,
            &validation,
            &self.training,
            &mut rng,
            "conv autoencoder",
        )?;
        let model = FittedConvAutoencoder {
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

/// A trained convolutional autoencoder with its scaler and threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedConvAutoencoder {
    window: usize,
    scaler: Scaler,
    net: Layers,
    threshold: f64,
    report: TrainingReport,
    stream: RowWindow,
}

impl FittedConvAutoencoder {
    /// How training went.
    pub fn report(&self) -> TrainingReport {
        self.report
    }

    /// Checks the layer shapes, the scaler and the streaming window (after loading).
    pub fn check(&self) -> Result<()> {
        limits::loaded_at_most(
            "convolutional autoencoder window",
            self.window,
            limits::MAX_WINDOW,
        )?;
        limits::loaded_at_most("columns", self.scaler.width(), limits::MAX_COLUMNS)?;
        let n = &self.net;
        let d = self.scaler.width();
        let layers = [&n.encode, &n.squeeze, &n.expand, &n.decode];
        let chained = n.encode.inputs() == d
            && n.encode.outputs() == n.squeeze.inputs()
            && n.squeeze.outputs() == n.expand.inputs()
            && n.expand.outputs() == n.decode.inputs()
            && n.decode.outputs() == d
            && layers.iter().all(|l| {
                l.k % 2 == 1
                    && l.w.w.nrows() % l.k == 0
                    && l.b.w.shape() == [1, l.outputs()]
                    && l.w.is_finite()
            });
        if self.window < 4
            || !self.window.is_multiple_of(2)
            || !chained
            || !self.scaler.is_valid()
            || !self.threshold.is_finite()
        {
            return Err(damaged(
                "conv autoencoder layers, scaler or threshold are inconsistent",
            ));
        }
        self.stream.check(self.window, d)
    }
}

impl FittedDetector for FittedConvAutoencoder {
    fn name(&self) -> &str {
        "conv_autoencoder"
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
        let mut scores = Array1::zeros(x.nrows());
        // In chunks, so memory stays bounded for long inputs.
        for start in (0..x.nrows()).step_by(256) {
            let ends: Vec<usize> = (start..(start + 256).min(x.nrows())).collect();
            let w = gather(scaled.view(), &ends, self.window);
            let s = window_mse(&self.net.forward(w.view()).out, &w);
            scores
                .slice_axis_mut(ndarray::Axis(0), ndarray::Slice::from(start..start + ends.len()))
                .assign(&s);
        }
        Ok(scores)
    }
    fn update(&mut self, row: ArrayView1<f64>) -> Result<f64> {
        input::check_row("row to score", row, self.n_features())?;
        let d = self.n_features();
        self.stream.push(self.scaler.transform_row(row), self.window);
        let w = self
            .stream
            .matrix(d)
            .into_shape_with_order((1, self.window, d))
            .map_err(|e| damaged(&e.to_string()))?;
        Ok(window_mse(&self.net.forward(w.view()).out, &w)[0])
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
            let batch = w.clone().into_shape_with_order((1, rows, d)).ok()?;
            let out = self.net.forward(batch.view()).out;
            out.into_shape_with_order((rows, d)).ok()
        })
    }
}
