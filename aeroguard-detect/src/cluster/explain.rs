//! Which columns put a row far from the profile.

use ndarray::ArrayView1;

use super::FittedClusterProfile;

impl FittedClusterProfile {
    /// Reconstruction-based contributions (Alcala and Qin, 2009) to the squared distance from the nearest
    /// profile point: with `δ` the row's offset from it in standardised units and `M = WᵀW` (`W` the whitener,
    /// the identity without whitening), column `j` takes `(Mδ)_j² / M_jj`, how much the squared distance falls
    /// when that column alone moves to where it fits best.
    pub(super) fn contributions(&self, row: ArrayView1<f64>) -> Option<Vec<f64>> {
        if row.len() != self.mean.len() || !row.iter().all(|v| v.is_finite()) {
            return None;
        }
        let z = self.standardise(row);
        let (i, _) = self.nearest(&z);
        let r: Vec<f64> = z.iter().zip(self.profile.row(i)).map(|(a, c)| a - c).collect();
        let Some(w) = &self.whitener else {
            return crate::detector::shares(r.iter().map(|v| v * v).collect());
        };
        let d = r.len();
        // M δ = Wᵀ W δ = Wᵀ r; M_jj = Σ_a W_aj².
        let contributions = (0..d)
            .map(|j| {
                let m_delta: f64 = (0..d).map(|a| w[[a, j]] * r[a]).sum();
                let m_jj: f64 = (0..d).map(|a| w[[a, j]] * w[[a, j]]).sum();
                if m_jj > 0.0 { m_delta * m_delta / m_jj } else { 0.0 }
            })
            .collect();
        crate::detector::shares(contributions)
    }
}
