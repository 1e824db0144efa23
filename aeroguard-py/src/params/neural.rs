//! The neural detectors' parameters: dense and convolutional autoencoders, the LSTM predictor.

use aeroguard_detect::neural::{Autoencoder, ConvAutoencoder, Lstm};
use numpy::PyReadonlyArray2;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::{TrainingArgs, calibration, fit, training_defaults, z_of};
use crate::errors;
use crate::model::FittedModel;

/// Dense autoencoder parameters.
#[pyclass(module = "aeroguard._aeroguard", frozen)]
pub struct AutoencoderParams {
    inner: Autoencoder,
}

#[pymethods]
impl AutoencoderParams {
    #[new]
    #[pyo3(signature = (*, window = None, hidden = None, bottleneck = None, epochs = None, batch_size = None, learning_rate = None, patience = None, validation_fraction = None, contamination = None, threshold_z = None, random_state = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        window: Option<usize>,
        hidden: Option<usize>,
        bottleneck: Option<usize>,
        epochs: Option<usize>,
        batch_size: Option<usize>,
        learning_rate: Option<f64>,
        patience: Option<usize>,
        validation_fraction: Option<f64>,
        contamination: Option<f64>,
        threshold_z: Option<f64>,
        random_state: Option<u64>,
    ) -> PyResult<Self> {
        let d = Autoencoder::builder().build().map_err(errors::detect)?;
        let inner = Autoencoder::builder()
            .window(window.unwrap_or(d.window()))
            .hidden(hidden.unwrap_or(d.hidden()))
            .bottleneck(bottleneck.unwrap_or(d.bottleneck()))
            .training(
                TrainingArgs {
                    epochs,
                    batch_size,
                    learning_rate,
                    patience,
                    validation_fraction,
                }
                .build(),
            )
            .calibration(calibration(contamination, threshold_z, d.calibration())?)
            .seed(random_state.unwrap_or(d.seed()))
            .build()
            .map_err(errors::detect)?;
        Ok(AutoencoderParams { inner })
    }

    /// The builder's defaults, by parameter.
    #[staticmethod]
    fn defaults(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
        let p = Autoencoder::builder().build().map_err(errors::detect)?;
        let d = PyDict::new(py);
        d.set_item("window", p.window())?;
        d.set_item("hidden", p.hidden())?;
        d.set_item("bottleneck", p.bottleneck())?;
        training_defaults(&d, p.training())?;
        d.set_item("contamination", py.None())?;
        d.set_item("threshold_z", z_of(p.calibration()))?;
        d.set_item("random_state", p.seed())?;
        Ok(d)
    }

    /// Fits on the rows of `x` (without the GIL).
    fn fit(&self, py: Python<'_>, x: PyReadonlyArray2<'_, f64>) -> PyResult<FittedModel> {
        fit(py, &self.inner, x)
    }
}

/// Convolutional autoencoder parameters.
#[pyclass(module = "aeroguard._aeroguard", frozen)]
pub struct ConvAutoencoderParams {
    inner: ConvAutoencoder,
}

#[pymethods]
impl ConvAutoencoderParams {
    #[new]
    #[pyo3(signature = (*, window = None, channels = None, bottleneck = None, epochs = None, batch_size = None, learning_rate = None, patience = None, validation_fraction = None, contamination = None, threshold_z = None, random_state = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        window: Option<usize>,
        channels: Option<usize>,
        bottleneck: Option<usize>,
        epochs: Option<usize>,
        batch_size: Option<usize>,
        learning_rate: Option<f64>,
        patience: Option<usize>,
        validation_fraction: Option<f64>,
        contamination: Option<f64>,
        threshold_z: Option<f64>,
        random_state: Option<u64>,
    ) -> PyResult<Self> {
        let d = ConvAutoencoder::builder().build().map_err(errors::detect)?;
        let inner = ConvAutoencoder::builder()
            .window(window.unwrap_or(d.window()))
            .channels(channels.unwrap_or(d.channels()))
            .bottleneck(bottleneck.unwrap_or(d.bottleneck()))
            .training(
                TrainingArgs {
                    epochs,
                    batch_size,
                    learning_rate,
                    patience,
                    validation_fraction,
                }
                .build(),
            )
            .calibration(calibration(contamination, threshold_z, d.calibration())?)
            .seed(random_state.unwrap_or(d.seed()))
            .build()
            .map_err(errors::detect)?;
        Ok(ConvAutoencoderParams { inner })
    }

    /// The builder's defaults, by parameter.
    #[staticmethod]
    fn defaults(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
        let p = ConvAutoencoder::builder().build().map_err(errors::detect)?;
        let d = PyDict::new(py);
        d.set_item("window", p.window())?;
        d.set_item("channels", p.channels())?;
        d.set_item("bottleneck", p.bottleneck())?;
        training_defaults(&d, p.training())?;
        d.set_item("contamination", py.None())?;
        d.set_item("threshold_z", z_of(p.calibration()))?;
        d.set_item("random_state", p.seed())?;
        Ok(d)
    }

    /// Fits on the rows of `x` (without the GIL).
    fn fit(&self, py: Python<'_>, x: PyReadonlyArray2<'_, f64>) -> PyResult<FittedModel> {
        fit(py, &self.inner, x)
    }
}

/// LSTM predictor parameters.
#[pyclass(module = "aeroguard._aeroguard", frozen)]
pub struct LstmParams {
    inner: Lstm,
}

#[pymethods]
impl LstmParams {
    #[new]
    #[pyo3(signature = (*, hidden = None, sequence = None, epochs = None, batch_size = None, learning_rate = None, patience = None, validation_fraction = None, contamination = None, threshold_z = None, random_state = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        hidden: Option<usize>,
        sequence: Option<usize>,
        epochs: Option<usize>,
        batch_size: Option<usize>,
        learning_rate: Option<f64>,
        patience: Option<usize>,
        validation_fraction: Option<f64>,
        contamination: Option<f64>,
        threshold_z: Option<f64>,
        random_state: Option<u64>,
    ) -> PyResult<Self> {
        let d = Lstm::builder().build().map_err(errors::detect)?;
        let inner = Lstm::builder()
            .hidden(hidden.unwrap_or(d.hidden()))
            .sequence(sequence.unwrap_or(d.sequence()))
            .training(
                TrainingArgs {
                    epochs,
                    batch_size,
                    learning_rate,
                    patience,
                    validation_fraction,
                }
                .build(),
            )
            .calibration(calibration(contamination, threshold_z, d.calibration())?)
            .seed(random_state.unwrap_or(d.seed()))
            .build()
            .map_err(errors::detect)?;
        Ok(LstmParams { inner })
    }

    /// The builder's defaults, by parameter.
    #[staticmethod]
    fn defaults(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
        let p = Lstm::builder().build().map_err(errors::detect)?;
        let d = PyDict::new(py);
        d.set_item("hidden", p.hidden())?;
        d.set_item("sequence", p.sequence())?;
        training_defaults(&d, p.training())?;
        d.set_item("contamination", py.None())?;
        d.set_item("threshold_z", z_of(p.calibration()))?;
        d.set_item("random_state", p.seed())?;
        Ok(d)
    }

    /// Fits on the rows of `x` (without the GIL).
    fn fit(&self, py: Python<'_>, x: PyReadonlyArray2<'_, f64>) -> PyResult<FittedModel> {
        fit(py, &self.inner, x)
    }
}
