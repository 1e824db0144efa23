//! Channel roles learned from the training rows: a channel that trends through its training window (slow drift
//! of temperatures through normal operation) is scored on its rate, not its level, so a member trained on the
//! first rows does not flag the drift that follows.

use ndarray::{Array2, Axis};

/// Whether a training column trends: the change a least-squares line makes over the window, against the
/// scatter around it, is at least `ratio`.
pub fn trends(column: &[f64], ratio: f64) -> bool {
    let n = column.len() as f64;
    if column.len() < 3 {
        return false;
    }
    let mean_t = (n - 1.0) / 2.0;
    let mean_y = column.iter().sum::<f64>() / n;
    let (mut sty, mut stt) = (0.0, 0.0);
    for (t, y) in column.iter().enumerate() {
        let dt = t as f64 - mean_t;
        sty += dt * (y - mean_y);
        stt += dt * dt;
    }
    let slope = sty / stt;
    let residual = (column
        .iter()
        .enumerate()
        .map(|(t, y)| {
            let e = y - (mean_y + slope * (t as f64 - mean_t));
            e * e
        })
        .sum::<f64>()
        / (n - 2.0))
        .sqrt();
    (slope * n).abs() >= ratio * residual.max(f64::MIN_POSITIVE)
}

/// Whether a training column is slow: its changes from row to row are small against its spread
/// (`var(diff) / (2 var)` below `ratio`; white noise gives 1, a drift or a random walk near 0).
pub fn slow(column: &[f64], ratio: f64) -> bool {
    let n = column.len() as f64;
    if column.len() < 3 {
        return false;
    }
    let mean = column.iter().sum::<f64>() / n;
    let var = column.iter().map(|y| (y - mean) * (y - mean)).sum::<f64>() / n;
    let dvar = column
        .windows(2)
        .map(|w| (w[1] - w[0]) * (w[1] - w[0]))
        .sum::<f64>()
        / (n - 1.0);
    var > 0.0 && dvar / (2.0 * var) < ratio
}

/// `x` with every column that trends over the first `train` rows replaced by its change over `lag` rows
/// (causal: row t minus row t - lag, the first rows against row 0), and which columns were.
pub fn rate_trending(x: &Array2<f64>, train: usize, ratio: f64, lag: usize) -> (Array2<f64>, Vec<bool>) {
    let mut out = x.clone();
    let mut roles = Vec::with_capacity(x.ncols());
    for (j, col) in x.axis_iter(Axis(1)).enumerate() {
        let head: Vec<f64> = col.iter().take(train).copied().collect();
        let trending = if ratio < 1.0 {
            slow(&head, ratio)
        } else {
            trends(&head, ratio)
        };
        roles.push(trending);
        if trending {
            for t in 0..x.nrows() {
                out[[t, j]] = col[t] - col[t.saturating_sub(lag)];
            }
        }
    }
    (out, roles)
}
