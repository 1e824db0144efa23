//! The recipe's vote: its members' names and weights, the voter over them, and what can be checked before
//! anything is fitted (one weight per member, the integrity of the vote).

use super::EnsembleRecipe;
use crate::{Diagnosis, Error, Integrity, Model, Result, Voter};

/// The members that watch levels, which `level_weight` weighs.
const LEVEL_MEMBERS: [&str; 4] = [
    "level_shift",
    "relations",
    "subspace",
    super::levels::SHORT_RELATIONS,
];

impl EnsembleRecipe {
    /// The ensemble's vote over members already fitted by [`members`](EnsembleRecipe::members), weighed as
    /// [`member_weights`](Self::member_weights) says, its members' diagnosis checking `alone_window` rows.
    pub fn voter(&self, members: Vec<Model>) -> Result<Voter<Model>> {
        Voter::builder(members)
            .weights(self.member_weights())
            .m(self.voting.m)
            .k_of_window(self.voting.k_of, self.voting.of_window)
            .diagnosis(Diagnosis {
                alone_window: self.voting.alone_window,
                ..Diagnosis::default()
            })
            .build()
    }

    /// The members' weights, in the order of [`member_names`](Self::member_names): `weights` when it names
    /// one per member, else `level_weight` (or 1) for the level members and 1 for the others.
    ///
    /// ```
    /// use aeroguard_detect::EnsembleRecipe;
    /// let r = EnsembleRecipe::full();
    /// assert_eq!(r.member_weights(), [1.0, 1.0, 1.0, 1.0, 1.0, 3.0, 3.0, 3.0]);
    /// assert_eq!(EnsembleRecipe::default().member_weights(), [1.0, 1.0, 1.0]);
    /// ```
    pub fn member_weights(&self) -> Vec<f64> {
        let names = self.member_names();
        if self.voting.weights.len() == names.len() {
            return self.voting.weights.clone();
        }
        let level = self.voting.level_weight.unwrap_or(1.0);
        names
            .iter()
            .map(|n| if LEVEL_MEMBERS.contains(n) { level } else { 1.0 })
            .collect()
    }

    /// The members' names, in the order the recipe fits them.
    ///
    /// ```
    /// use aeroguard_detect::EnsembleRecipe;
    /// assert_eq!(EnsembleRecipe::default().member_names(), ["rules", "kmeans", "isolation_forest"]);
    /// ```
    pub fn member_names(&self) -> Vec<&'static str> {
        let mut names = vec!["rules", "kmeans", "isolation_forest"];
        for (name, z) in [
            ("autoencoder", self.neural.autoencoder_z),
            ("conv_autoencoder", self.neural.conv_z),
            ("lstm", self.neural.lstm_z),
            ("level_shift", self.levels.shift_z),
            ("relations", self.levels.relations_z),
            ("subspace", self.levels.subspace_z),
            (super::levels::SHORT_RELATIONS, self.levels.short_relations_z),
        ] {
            if z.is_some() {
                names.push(name);
            }
        }
        names
    }

    /// Whether one member of the recipe's vote could force or suppress the alarm, before anything is fitted.
    ///
    /// ```
    /// use aeroguard_detect::EnsembleRecipe;
    /// assert!(EnsembleRecipe::full().integrity().holds());
    /// let mut r = EnsembleRecipe::full();
    /// r.voting.weights = vec![1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 6.0, 1.0];
    /// r.voting.m = 6.0;
    /// assert_eq!(r.integrity().forcing, ["relations"]);
    /// ```
    pub fn integrity(&self) -> Integrity {
        Integrity::of(&self.member_names(), &self.member_weights(), self.voting.m)
    }

    /// How many members the recipe fits: the three classic ones, then each of the autoencoder, the
    /// convolutional autoencoder, the LSTM, the level shift, the relations and the subspace member whose threshold is set.
    pub fn member_count(&self) -> usize {
        let optional = [
            self.neural.autoencoder_z,
            self.neural.conv_z,
            self.neural.lstm_z,
            self.levels.shift_z,
            self.levels.relations_z,
            self.levels.subspace_z,
            self.levels.short_relations_z,
        ];
        3 + optional.iter().filter(|z| z.is_some()).count()
    }

    /// What can be checked before anything is fitted (a fit trains neural members for seconds): one weight per
    /// member, when weights are given.
    ///
    /// ```
    /// use aeroguard_detect::{EnsembleRecipe, Error};
    /// let mut r = EnsembleRecipe::full();
    /// r.voting.weights = vec![1.0; 8];
    /// assert!(r.check().is_ok());
    /// r.levels.relations_z = None; // seven members left, eight weights
    /// assert!(matches!(r.check(), Err(Error::InvalidParameter { name: "weights", .. })));
    /// r.voting.weights.clear();
    /// r.voting.level_weight = Some(-1.0);
    /// assert!(matches!(r.check(), Err(Error::InvalidParameter { name: "level_weight", .. })));
    /// ```
    pub fn check(&self) -> Result<()> {
        if let Some(w) = self.voting.level_weight
            && !(w.is_finite() && w > 0.0)
        {
            return Err(Error::parameter("level_weight", w, "is finite and above 0"));
        }
        let members = self.member_count();
        if self.voting.weights.is_empty() || self.voting.weights.len() == members {
            return Ok(());
        }
        Err(Error::InvalidParameter {
            name: "weights",
            value: format!("{} weights for {members} members", self.voting.weights.len()),
            reason: "one per member, in the order rules, kmeans, isolation forest, [autoencoder], [conv autoencoder], \
                     [lstm], [level shift], [relations], [subspace], [relations_short]",
        })
    }
}
