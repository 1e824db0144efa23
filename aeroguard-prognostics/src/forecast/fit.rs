//! Fitting one candidate: its smoothing parameters minimise the loss (`loss`: forecasts several steps ahead)
//! by Nelder-Mead over an unconstrained parametrisation from a start taken from its first values, and its AICc
//! comes from its one-step errors (the likelihood for additive errors).

use super::ets::{Smoothing, State, Trend};
use super::loss::{loss, sse};

/// A candidate fitted: its parameters, its sum of squared one-step errors, its AICc.
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    pub(crate) trend: Trend,
    pub(crate) period: usize,
    pub(crate) smoothing: Smoothing,
    /// The state before the first observation.
    pub(crate) start: State,
    pub(crate) sse: f64,
    pub(crate) aicc: f64,
}

fn logistic(u: f64) -> f64 {
    1.0 / (1.0 + (-u).exp())
}

/// Maps free coordinates to parameters inside the usual region (see [`Smoothing`]).
fn smoothing(u: &[f64], trend: Trend, seasonal: bool) -> Smoothing {
    let alpha = 0.0001 + 0.9998 * logistic(u[0]);
    let mut k = 1;
    let mut take = || {
        k += 1;
        u[k - 1]
    };
    let beta = if trend == Trend::None {
        0.0
    } else {
        alpha * logistic(take())
    };
    let gamma = if seasonal {
        (1.0 - alpha) * logistic(take())
    } else {
        0.0
    };
    let phi = if trend == Trend::Damped {
        0.8 + 0.18 * logistic(take())
    } else {
        1.0
    };
    Smoothing {
        alpha,
        beta,
        gamma,
        phi,
    }
}

/// Fits one candidate.
pub(crate) fn fit(y: &[f64], trend: Trend, period: usize, max_evals: usize) -> Candidate {
    let seasonal = period > 1;
    let start = State::initial(y, trend, period);
    let dims =
        1 + usize::from(trend != Trend::None) + usize::from(seasonal) + usize::from(trend == Trend::Damped);
    // Start near the usual choices: alpha 0.5, beta a tenth of it, gamma small, phi 0.9.
    let mut x0 = vec![0.0; dims];
    for (i, v) in x0.iter_mut().enumerate().skip(1) {
        *v = if i == dims - 1 && trend == Trend::Damped {
            0.5
        } else {
            -2.0
        };
    }
    let objective = |u: &[f64]| loss(y, &start, &smoothing(u, trend, seasonal));
    let (best, _) = nelder_mead(objective, &x0, max_evals);
    let fitted = smoothing(&best, trend, seasonal);
    let sse = sse(y, &start, &fitted);
    let n = y.len() as f64;
    let params =
        (dims + 1 + usize::from(trend != Trend::None) + if seasonal { period - 1 } else { 0 }) as f64;
    let loglik_part = n * (sse.max(1e-300) / n).ln();
    let aicc = if n - params - 1.0 > 0.0 {
        loglik_part + 2.0 * params + 2.0 * params * (params + 1.0) / (n - params - 1.0)
    } else {
        f64::INFINITY
    };
    Candidate {
        trend,
        period,
        smoothing: fitted,
        start,
        sse,
        aicc,
    }
}

/// Minimises `f` from `x0` (Nelder and Mead's simplex, the usual coefficients), within `max_evals` calls.
fn nelder_mead(f: impl Fn(&[f64]) -> f64, x0: &[f64], max_evals: usize) -> (Vec<f64>, f64) {
    let n = x0.len();
    let mut simplex: Vec<(Vec<f64>, f64)> = (0..=n)
        .map(|i| {
            let mut x = x0.to_vec();
            if i > 0 {
                x[i - 1] += 1.0;
            }
            let v = f(&x);
            (x, v)
        })
        .collect();
    let mut evals = n + 1;
    while evals < max_evals {
        simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
        let (best, worst) = (simplex[0].1, simplex[n].1);
        if (worst - best).abs() <= 1e-10 * (best.abs() + 1e-20) {
            break;
        }
        let centroid: Vec<f64> = (0..n)
            .map(|d| simplex[..n].iter().map(|p| p.0[d]).sum::<f64>() / n as f64)
            .collect();
        let toward = |t: f64| -> Vec<f64> {
            (0..n)
                .map(|d| centroid[d] + t * (simplex[n].0[d] - centroid[d]))
                .collect()
        };
        let reflected = toward(-1.0);
        let fr = f(&reflected);
        evals += 1;
        if fr < simplex[0].1 {
            let expanded = toward(-2.0);
            let fe = f(&expanded);
            evals += 1;
            simplex[n] = if fe < fr { (expanded, fe) } else { (reflected, fr) };
        } else if fr < simplex[n - 1].1 {
            simplex[n] = (reflected, fr);
        } else {
            let contracted = if fr < simplex[n].1 {
                toward(-0.5)
            } else {
                toward(0.5)
            };
            let fc = f(&contracted);
            evals += 1;
            if fc < simplex[n].1.min(fr) {
                simplex[n] = (contracted, fc);
            } else {
                for i in 1..=n {
                    let x: Vec<f64> = (0..n)
                        .map(|d| simplex[0].0[d] + 0.5 * (simplex[i].0[d] - simplex[0].0[d]))
                        .collect();
                    let v = f(&x);
                    simplex[i] = (x, v);
                }
                evals += n;
            }
        }
    }
    simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
    let (x, v) = simplex.swap_remove(0);
    (x, v)
}
