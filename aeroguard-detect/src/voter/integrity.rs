//! Integrity of a vote: whether one member can force the alarm or suppress it.
//!
//! IEC 61508 gives each channel of a MooN vote two failure modes: stuck alarming (fail-safe) and silent
//! (fail-dangerous). A vote where one member's weight reaches `m` is that member whatever the others say (it
//! *forces*); a vote the others cannot pass without one member is lost when that member goes silent (it
//! *suppresses*). Either way the vote is 1oo1, whatever its N.

use serde::{Deserialize, Serialize};

/// What one vote's weights and `m` allow a single member to do, and the vote's state now.
///
/// ```
/// use aeroguard_detect::Integrity;
/// // Six members weighing 1 and one weighing 6, 6 needed: the heavy one decides alone.
/// let names = ["a", "b", "c", "d", "e", "f", "relations"];
/// let i = Integrity::of(&names, &[1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 6.0], 6.0);
/// assert!(!i.holds());
/// assert_eq!(i.forcing, ["relations"]);
/// // Without it, only all six others together reach 6: it forces, but it does not suppress.
/// assert!(i.suppressing.is_empty());
/// // Two of two: either one, silent, suppresses every alarm.
/// assert_eq!(Integrity::of(&["a", "b"], &[1.0, 1.0], 2.0).suppressing, ["a", "b"]);
/// // Seven equal members, 2 needed: no one forces, and any six can still reach 2.
/// assert!(Integrity::of(&names, &[1.0; 7], 2.0).holds());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Integrity {
    /// Weight of yes votes needed, as configured.
    pub m: f64,
    /// Total weight of the members.
    pub total: f64,
    /// Every member's name and weight, in member order.
    pub weights: Vec<(String, f64)>,
    /// Members whose weight alone reaches `m`: stuck alarming, each raises every alarm.
    pub forcing: Vec<String>,
    /// Members without whose weight the others cannot reach `m`: silent, each suppresses every alarm.
    pub suppressing: Vec<String>,
    /// Weight needed now (`m`, or the counted members' whole weight when less).
    pub effective_m: f64,
    /// Weight of the members counted now (not diagnosed unhealthy, not failed and dropped).
    pub available: f64,
    /// Members left out now, by name.
    pub left_out: Vec<String>,
    /// Rows voted on while a member was left out or failed.
    pub degraded_rows: u64,
    /// Time voted on while degraded, in ms, from the rows' timestamps (only rows given a time count).
    pub degraded_ms: u64,
}

impl Integrity {
    /// The integrity of weights and `m`, all members counted.
    pub fn of<S: AsRef<str>>(names: &[S], weights: &[f64], m: f64) -> Self {
        let total: f64 = weights.iter().sum();
        let pick = |f: &dyn Fn(f64) -> bool| -> Vec<String> {
            names
                .iter()
                .zip(weights)
                .filter(|(_, w)| f(**w))
                .map(|(n, _)| n.as_ref().to_string())
                .collect()
        };
        Integrity {
            m,
            total,
            weights: names
                .iter()
                .zip(weights)
                .map(|(n, w)| (n.as_ref().to_string(), *w))
                .collect(),
            forcing: pick(&|w| w >= m - 1e-9),
            suppressing: pick(&|w| total - w < m - 1e-9),
            effective_m: m,
            available: total,
            left_out: Vec::new(),
            degraded_rows: 0,
            degraded_ms: 0,
        }
    }

    /// No member forces the alarm and none suppresses it.
    pub fn holds(&self) -> bool {
        self.forcing.is_empty() && self.suppressing.is_empty()
    }

    /// One sentence per member that breaks the integrity, naming it (empty when it holds).
    ///
    /// ```
    /// use aeroguard_detect::Integrity;
    /// let i = Integrity::of(&["a", "b"], &[1.0, 1.0], 2.0);
    /// assert_eq!(i.warnings()[0], "member `a` suppresses every alarm: without its weight 1 the others weigh 1 of the 2 needed");
    /// ```
    pub fn warnings(&self) -> Vec<String> {
        let weight = |n: &str| self.weight_of(n);
        let mut out: Vec<String> = self
            .forcing
            .iter()
            .map(|n| {
                format!(
                    "member `{n}` forces every alarm: its weight {} alone reaches the {} needed",
                    weight(n),
                    self.m
                )
            })
            .collect();
        out.extend(self.suppressing.iter().map(|n| {
            format!(
                "member `{n}` suppresses every alarm: without its weight {} the others weigh {} of the {} needed",
                weight(n),
                self.total - weight(n),
                self.m
            )
        }));
        out
    }

    fn weight_of(&self, name: &str) -> f64 {
        self.weights
            .iter()
            .find(|(n, _)| n == name)
            .map_or(0.0, |(_, w)| *w)
    }
}
