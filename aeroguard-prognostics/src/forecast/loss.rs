//! The fit's loss: the squared errors of the forecasts 1, 2, 4, 8 and 16 steps ahead from every point (R's
//! `amse` criterion on a few horizons). Fitting the next step alone rewards a trend that chases the last few
//! steps: on a smooth series it follows them well and forecasts the next dozens badly.

use super::ets::{Smoothing, State};

/// Horizons the loss looks at besides the next step.
const AHEAD: [usize; 4] = [2, 4, 8, 16];

/// The sum of squared one-step errors over `y` from `start`.
pub(crate) fn sse(y: &[f64], start: &State, s: &Smoothing) -> f64 {
    let mut state = start.clone();
    let total: f64 = y.iter().map(|&v| state.update(s, v).powi(2)).sum();
    if total.is_finite() { total } else { f64::INFINITY }
}

/// The squared errors of the forecasts 1, 2, 4, 8 and 16 steps ahead from every point of `y`.
pub(crate) fn loss(y: &[f64], start: &State, s: &Smoothing) -> f64 {
    let mut state = start.clone();
    let mut total = 0.0;
    for (t, &v) in y.iter().enumerate() {
        for &h in &AHEAD {
            if let Some(&later) = y.get(t + h - 1) {
                total += (later - state.ahead(s, h)).powi(2);
            }
        }
        total += state.update(s, v).powi(2);
    }
    if total.is_finite() { total } else { f64::INFINITY }
}
