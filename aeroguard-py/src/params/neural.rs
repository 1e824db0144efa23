//! The neural detectors' parameters: dense and convolutional autoencoders, the LSTM predictor. They share the
//! training settings and the calibration, so one macro writes the three classes from their own shape
//! parameters.

use aeroguard_detect::neural::{Autoencoder, ConvAutoencoder, Lstm};
use numpy::PyReadonlyArray2;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::{TrainingArgs, calibration, fit, training_defaults, z_of};
use crate::ints::{Int, opt};
use crate::model::FittedModel;

/// Writes a parameters class for a neural detector whose builder has the setters `$shape` (each a count) besides
/// the training settings, the calibration and the seed.
macro_rules! neural_params {
    ($(#[$doc:meta])* $name:ident, $detector:ty, [$($shape:ident),+]) => {
        $(#[$doc])*
        #[pyclass(module = "aeroguard._aeroguard", frozen)]
        pub struct $name {
            inner: $detector,
        }

        #[pymethods]
        impl $name {
            #[new]
            #[pyo3(signature = (*, $($shape = None,)+ epochs = None, batch_size = None, learning_rate = None, patience = None, validation_fraction = None, contamination = None, threshold_z = None, random_state = None))]
            #[allow(clippy::too_many_arguments)]
            fn new(
                $($shape: Option<Int<usize>>,)+
                epochs: Option<Int<usize>>,
                batch_size: Option<Int<usize>>,
                learning_rate: Option<f64>,
                patience: Option<Int<usize>>,
                validation_fraction: Option<f64>,
                contamination: Option<f64>,
                threshold_z: Option<f64>,
                random_state: Option<Int<u64>>,
            ) -> crate::errors::Result<Self> {
                $(let $shape = opt($shape);)+
                let (epochs, batch_size, patience, random_state) =
                    (opt(epochs), opt(batch_size), opt(patience), opt(random_state));
                let d = <$detector>::builder().build()?;
                let training = TrainingArgs {
                    epochs,
                    batch_size,
                    learning_rate,
                    patience,
                    validation_fraction,
                };
                let inner = <$detector>::builder()
                    $(.$shape($shape.unwrap_or(d.$shape())))+
                    .training(training.build())
                    .calibration(calibration(contamination, threshold_z, d.calibration())?)
                    .seed(random_state.unwrap_or(d.seed()))
                    .build()?;
                Ok($name { inner })
            }

            /// The builder's defaults, by parameter.
            #[staticmethod]
            fn defaults(py: Python<'_>) -> crate::errors::Result<Bound<'_, PyDict>> {
                let p = <$detector>::builder().build()?;
                let d = PyDict::new(py);
                $(d.set_item(stringify!($shape), p.$shape())?;)+
                training_defaults(&d, p.training())?;
                d.set_item("contamination", py.None())?;
                d.set_item("threshold_z", z_of(p.calibration()))?;
                d.set_item("random_state", p.seed())?;
                Ok(d)
            }

            /// Fits on the rows of `x` (without the GIL).
            fn fit(&self, py: Python<'_>, x: PyReadonlyArray2<'_, f64>) -> crate::errors::Result<FittedModel> {
                fit(py, &self.inner, x)
            }
        }
    };
}

neural_params!(
    /// Dense autoencoder parameters.
    AutoencoderParams,
    Autoencoder,
    [window, hidden, bottleneck]
);
neural_params!(
    /// Convolutional autoencoder parameters.
    ConvAutoencoderParams,
    ConvAutoencoder,
    [window, channels, bottleneck]
);
neural_params!(
    /// LSTM predictor parameters.
    LstmParams,
    Lstm,
    [hidden, sequence]
);
