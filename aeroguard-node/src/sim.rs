//! The simulated process every sensor node measures, and the fault schedule.

use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

/// The three channels each node measures.
pub const CHANNELS: [&str; 3] = ["pressure", "temperature", "flow"];

/// Half-widths of the readings' uncertainty intervals, per channel (bar, °C, m³/h).
pub const HALF_WIDTH: [f64; 3] = [0.08, 0.4, 0.15];

/// The true process at round `r`: a pump's pressure, temperature and flow, slowly oscillating.
pub fn truth(r: u64) -> [f64; 3] {
    let t = r as f64;
    [
        4.0 + 0.2 * (t * std::f64::consts::TAU / 50.0).sin(),
        60.0 + 1.5 * (t * std::f64::consts::TAU / 80.0 + 1.0).sin(),
        12.0 + 0.5 * (t * std::f64::consts::TAU / 40.0).cos(),
    ]
}

/// What goes wrong with a sensor node.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum FaultKind {
    /// Repeats the value it had when the fault began.
    Stuck,
    /// Adds a growing offset to pressure (bar per round).
    Drift {
        /// Offset per round.
        per_round: f64,
    },
    /// Adds a large offset to temperature.
    Spike {
        /// The offset.
        size: f64,
    },
}

/// A fault of one node over rounds `from..=to`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Fault {
    /// The node's index (0-based: node `n{index + 1}`).
    pub node: usize,
    /// What happens.
    #[serde(flatten)]
    pub kind: FaultKind,
    /// First faulty round.
    pub from: u64,
    /// Last faulty round.
    pub to: u64,
}

impl Fault {
    /// A short label, as in the summary.
    pub fn label(&self) -> &'static str {
        match self.kind {
            FaultKind::Stuck => "stuck",
            FaultKind::Drift { .. } => "drift",
            FaultKind::Spike { .. } => "spike",
        }
    }
}

/// The default schedule for `nodes` nodes, one fault at a time (Brooks-Iyengar with f = 1 tolerates one):
/// n2 stuck in rounds 3-16, n3 drifting slowly in rounds 14-40 (pressure, 0.007 bar a round: a third of its
/// noise), n4 spiking in rounds 28-30 (each only if the node exists).
pub fn default_faults(nodes: usize) -> Vec<Fault> {
    [
        Fault {
            node: 1,
            kind: FaultKind::Stuck,
            from: 3,
            to: 16,
        },
        Fault {
            node: 2,
            kind: FaultKind::Drift { per_round: 0.007 },
            from: 14,
            to: 40,
        },
        Fault {
            node: 3,
            kind: FaultKind::Spike { size: 6.0 },
            from: 28,
            to: 30,
        },
    ]
    .into_iter()
    .filter(|f| f.node < nodes)
    .collect()
}

/// What node `node` measures in round `r`: the truth, its own noise, and its faults.
pub fn measure(node: usize, r: u64, seed: u64, faults: &[Fault], process: Option<&Upset>) -> [f64; 3] {
    let noisy = |r: u64| {
        // One stream per (node, round): a stuck sensor can replay the round its fault began.
        let mut g = Xoshiro256PlusPlus::seed_from_u64(
            seed ^ (node as u64).wrapping_mul(0x9E37_79B9) ^ r.wrapping_mul(0x85EB_CA6B),
        );
        let mut normal = || -> f64 { g.sample(StandardNormal) };
        let sigma = 0.01 + 0.005 * node as f64;
        let t = process.map_or_else(|| truth(r), |u| u.apply(r, truth(r)));
        [
            t[0] + sigma * normal(),
            t[1] + 6.0 * sigma * normal(),
            t[2] + 2.0 * sigma * normal(),
        ]
    };
    let mut v = noisy(r);
    for f in faults
        .iter()
        .filter(|f| f.node == node && (f.from..=f.to).contains(&r))
    {
        match f.kind {
            FaultKind::Stuck => v = noisy(f.from),
            FaultKind::Drift { per_round } => v[0] += per_round * (r - f.from + 1) as f64,
            FaultKind::Spike { size } => v[1] += size,
        }
    }
    v
}

/// A process upset every sensor agrees on (not a sensor fault, so fusion keeps it): a partly blocked intake,
/// where flow falls by a third and pressure sags, for rounds `from..=to`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Upset {
    /// The first round.
    pub from: u64,
    /// The last round.
    pub to: u64,
}

impl Upset {
    /// The process during the upset, given normal operation `t` in round `r`.
    pub fn apply(&self, r: u64, t: [f64; 3]) -> [f64; 3] {
        if (self.from..=self.to).contains(&r) {
            [t[0] - 0.6, t[1], t[2] * 2.0 / 3.0]
        } else {
            t
        }
    }
}

/// Normal operation as the fused value sees it (the mean of several nodes' noise), to train the ensemble on.
pub fn normal_history(rows: u64, seed: u64) -> ndarray::Array2<f64> {
    let mut g = Xoshiro256PlusPlus::seed_from_u64(seed ^ 0xA5A5);
    ndarray::Array2::from_shape_fn((rows as usize, 3), |(r, c)| {
        let t = truth(r as u64 + 1_000);
        let z: f64 = g.sample(StandardNormal);
        t[c] + [0.006, 0.06, 0.012][c] * z
    })
}

/// A link outage: the leader's link to the history is down for rounds `from..=to` (what it reports meanwhile
/// waits in its outbox on disk and is forwarded when the link returns).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outage {
    /// The first round reported while the link is down.
    pub from: u64,
    /// The last one.
    pub to: u64,
}
