//! The ridge regressions of a relations model: each column of `z` on an intercept and the other columns, from
//! one Gram matrix, each system solved by Cholesky (at most [`MAX_RELATED`](super::MAX_RELATED) + 1 unknowns).
// Dense linear algebra reads as its formulas with indices.
#![allow(clippy::needless_range_loop)]

use crate::{Error, Result};

/// Per column `k` of the rows `z` (all of one width): the intercept, then one coefficient per column (`k`'s own
/// is 0), minimising the squared misses plus `ridge` times the squared coefficients (not the intercept).
pub(super) fn regressions(z: &[Vec<f64>], ridge: f64) -> Result<Vec<Vec<f64>>> {
    let width = z.first().map_or(0, Vec::len);
    let n = width + 1;
    // The Gram matrix of [1, z]: g[a][b] = sum over rows of x_a x_b.
    let mut g = vec![vec![0.0; n]; n];
    for row in z {
        let x: Vec<f64> = std::iter::once(1.0).chain(row.iter().copied()).collect();
        for a in 0..n {
            for b in a..n {
                g[a][b] += x[a] * x[b];
            }
        }
    }
    for a in 0..n {
        for b in 0..a {
            g[a][b] = g[b][a];
        }
    }
    (0..width)
        .map(|k| {
            // Unknowns: the intercept and every column but k (index k + 1 in g).
            let keep: Vec<usize> = (0..n).filter(|&a| a != k + 1).collect();
            let mut a: Vec<Vec<f64>> = keep
                .iter()
                .map(|&r| keep.iter().map(|&c| g[r][c]).collect())
                .collect();
            for (i, row) in a.iter_mut().enumerate().skip(1) {
                row[i] += ridge;
            }
            let rhs: Vec<f64> = keep.iter().map(|&r| g[r][k + 1]).collect();
            let beta = cholesky_solve(a, rhs).ok_or_else(|| Error::Model {
                operation: "fit",
                reason: format!(
                    "relations: the training rows cannot predict related sensor {k} (its neighbours move \
                     exactly together); set a ridge above 0"
                ),
                cause: None,
            })?;
            let mut out = vec![0.0; n];
            for (&i, b) in keep.iter().zip(beta) {
                out[i] = b;
            }
            Ok(out)
        })
        .collect()
}

/// Solves `a x = b` for a symmetric positive definite `a`; `None` when it is not (or not finitely).
fn cholesky_solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Option<Vec<f64>> {
    let n = b.len();
    // In place: the lower triangle becomes L with a = L L^T.
    for j in 0..n {
        let d = a[j][j] - (0..j).map(|k| a[j][k] * a[j][k]).sum::<f64>();
        // Relative to the diagonal's size: a pivot lost to rounding is a singular system.
        if !(d.is_finite() && d > 1e-12 * a[j][j].abs().max(1.0)) {
            return None;
        }
        let l = d.sqrt();
        a[j][j] = l;
        for i in j + 1..n {
            let s = a[i][j] - (0..j).map(|k| a[i][k] * a[j][k]).sum::<f64>();
            a[i][j] = s / l;
        }
    }
    for i in 0..n {
        b[i] = (b[i] - (0..i).map(|k| a[i][k] * b[k]).sum::<f64>()) / a[i][i];
    }
    for i in (0..n).rev() {
        b[i] = (b[i] - (i + 1..n).map(|k| a[k][i] * b[k]).sum::<f64>()) / a[i][i];
    }
    b.iter().all(|v| v.is_finite()).then_some(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solves_a_known_system_and_refuses_a_singular_one() {
        // [[4, 2], [2, 3]] x = [2, 5]: x = [-0.5, 2].
        let x = cholesky_solve(vec![vec![4.0, 2.0], vec![2.0, 3.0]], vec![2.0, 5.0]).unwrap();
        assert!((x[0] + 0.5).abs() < 1e-12 && (x[1] - 2.0).abs() < 1e-12, "{x:?}");
        assert!(cholesky_solve(vec![vec![1.0, 1.0], vec![1.0, 1.0]], vec![1.0, 1.0]).is_none());
    }

    #[test]
    fn recovers_exact_relations() {
        // Column 1 = 3 + 2 col0 - col2 exactly; columns 0 and 2 independent.
        let z: Vec<Vec<f64>> = (0..200)
            .map(|i| {
                let a = ((i * 7919) % 101) as f64 / 50.0 - 1.0;
                let c = ((i * 104_729) % 97) as f64 / 48.0 - 1.0;
                vec![a, 3.0 + 2.0 * a - c, c]
            })
            .collect();
        let b = regressions(&z, 0.0).unwrap();
        let want = [3.0, 2.0, 0.0, -1.0];
        assert!(
            b[1].iter().zip(want).all(|(x, w)| (x - w).abs() < 1e-9),
            "{:?}",
            b[1]
        );
        // Two columns that are copies of each other cannot be told apart without a ridge; with one they can.
        let twins: Vec<Vec<f64>> = z.iter().map(|r| vec![r[0], r[0], r[2]]).collect();
        assert!(matches!(regressions(&twins, 0.0), Err(Error::Model { .. })));
        assert!(regressions(&twins, 1.0).is_ok());
    }
}
