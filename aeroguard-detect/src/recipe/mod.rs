//! The ensemble AeroGuard recommends for a bank of process sensors, as one set of parameters.

use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

mod levels;
mod parts;
mod vote;

use parts::default_rate_lag;
pub use parts::{ClassicMembers, Inputs, LevelMembers, NeuralMembers, Voting};

use crate::neural::{Autoencoder, ConvAutoencoder, Lstm};
/// The fewest rows of an unchanged score before a fitted recipe's member counts as frozen.
pub const FROZEN_FLOOR: usize = 60;

use crate::{
    Algorithm, Calibration, ClusterProfile, Detector, FeatureWindow, FittedDetector, FittedSettled,
    IsolationForest, LearnRules, Model, RateRoles, Result, RuleSet, SETTLED_RELEASE, Settle, Voter, Windowed,
};

/// A recipe for the recommended ensemble: orthogonal members on causal feature windows, each calibrated on the
/// training rows, and an M-of-N vote with a k-of-window rule.
///
/// Members, in order:
/// - `rules`: persistence bands learned on each sensor's rolling mean (a physical-rule member),
/// - `kmeans`: distance from a k-means profile of the rolling means, whitened by default (a clustering member),
/// - `isolation_forest`: an isolation forest on the rolling means (and standard deviations with `forest_std`),
///   a statistical member.
///
/// and, when their thresholds are set (see [`EnsembleRecipe::full`]), the neural members on the same rolling
/// means:
/// - `autoencoder`: a dense autoencoder's reconstruction error,
/// - `conv_autoencoder`: a convolutional autoencoder's reconstruction error,
/// - `lstm`: an LSTM's error predicting the next row.
///
/// ```
/// use aeroguard_detect::EnsembleRecipe;
/// use ndarray::Array2;
/// let normal = Array2::from_shape_fn((400, 3), |(i, j)| ((i * 7 + j * 13) % 17) as f64 / 17.0 + j as f64);
/// let mut voter = EnsembleRecipe::default().fit(normal.view())?;
/// assert_eq!(voter.members().len(), 3);
/// let verdicts = voter.decide(normal.view())?;
/// let alarms = verdicts.iter().filter(|v| v.alarm).count();
/// assert!(alarms < 40, "{alarms}");
/// # Ok::<(), aeroguard_detect::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnsembleRecipe {
    /// How the sensors are shaped before the members see them.
    pub inputs: Inputs,
    /// The rules, k-means and isolation-forest members.
    pub classic: ClassicMembers,
    /// The neural members (none by default).
    pub neural: NeuralMembers,
    /// The level-shift and relations members (none by default).
    pub levels: LevelMembers,
    /// How the members' votes make the alarm.
    pub voting: Voting,
    /// Seed of every random choice.
    pub seed: u64,
}

/// The defaults were chosen on SKAB (`cargo run --release -p aeroguard-examples --example skab`) as the
/// setting with the highest F1 at a false-alarm rate under 10 %: 15-row windows, thresholds at robust z 25
/// (k-means, whitened, one cluster) and 5 (isolation forest), rule bands widened by three times their width,
/// 2 of 3 votes, 3 of the last 5 rows.
impl Default for EnsembleRecipe {
    fn default() -> Self {
        EnsembleRecipe {
            inputs: Inputs {
                window: 15,
                rate_below: None,
                rate_lag: default_rate_lag(),
            },
            classic: ClassicMembers {
                rules: LearnRules {
                    quantiles: (0.0, 1.0),
                    margin: 3.0,
                    rows: 5,
                },
                kmeans_z: 25.0,
                k: 1,
                whiten: true,
                forest_z: 5.0,
                forest_std: false,
                settle: None,
            },
            neural: NeuralMembers::default(),
            levels: LevelMembers::default(),
            voting: Voting {
                weights: Vec::new(),
                level_weight: None,
                m: 2.0,
                alone_window: parts::default_alone_window(),
                k_of: 3,
                of_window: 5,
            },
            seed: 0,
        }
    }
}

impl EnsembleRecipe {
    /// The recommended ensemble: the three classic members, the convolutional autoencoder (threshold at robust
    /// z 150), the LSTM (robust z 400), the level shift (z 10, held to 5), the relations member (z 5) and the
    /// subspace member (z 10). Every member but the rules and the forest ends its alarms as
    /// [`Settle::RECOMMENDED`] says (the k-means and neural members through [`FittedSettled`]), so the
    /// after-effect of a fault raises no alarm. The three level members weigh 3 and the five others 1, with 5
    /// needed: two level members, or one and two others, or all five others. No member raises an alarm alone and
    /// none can suppress one ([`integrity`](Self::integrity)); a member whose score freezes, stops being finite
    /// or alarms alone is left out until it recovers ([`Diagnosis`](crate::Diagnosis)). Sensors that drift
    /// through the training rows (`var(diff) / (2 var)` under 0.05) are fed to every member but the level
    /// members as their change over 30 rows, and left out of those (under 0.3).
    ///
    /// On SKAB (`cargo run --release -p aeroguard-examples --example skab`) it reaches F1 0.82 at a false-alarm
    /// rate of 7.4 % in sample, and 0.81 at 8.2 % with each folder's threshold scale, votes needed and temporal
    /// rule chosen on the other folders (the search over structures inside each fold chose these weights in
    /// every fold). Its best member leaving one folder out, the relations member, scores 0.84 at 8.6 %: the
    /// rows it alone gets right are rows the other level members miss too (`benches/README.md`). Training the
    /// two neural members takes about a second per 400 rows (release build).
    pub fn full() -> Self {
        let base = Self::default();
        EnsembleRecipe {
            inputs: Inputs {
                rate_below: Some(0.05),
                ..base.inputs
            },
            classic: ClassicMembers {
                settle: Some(Settle::RECOMMENDED),
                ..base.classic
            },
            neural: NeuralMembers {
                conv_z: Some(150.0),
                lstm_z: Some(400.0),
                settle: Some(Settle::RECOMMENDED),
                ..base.neural
            },
            levels: LevelMembers {
                shift_z: Some(10.0),
                relations_z: Some(5.0),
                subspace_z: Some(10.0),
                settle: Some(Settle::RECOMMENDED),
                ..base.levels
            },
            voting: Voting {
                weights: Vec::new(),
                level_weight: Some(3.0),
                m: 5.0,
                alone_window: 100,
                ..base.voting
            },
            ..base
        }
    }

    /// The members, fitted on normal rows.
    pub fn members(&self, x: ArrayView2<f64>) -> Result<Vec<Model>> {
        let roles = self.rate_roles(x)?;
        let rated = roles.as_ref().map(|r| r.transform(x)).transpose()?;
        let fit_on = match &rated {
            Some(r) => r.view(),
            None => x.view(),
        };
        let mut members = self.classic_members(fit_on)?;
        members.extend(self.neural_members(fit_on)?);
        if let Some(roles) = roles {
            members = members
                .into_iter()
                .map(|m| roles.wrap(m).map(Model::from))
                .collect::<Result<_>>()?;
        }
        members.extend(self.shift_member(x)?);
        members.extend(self.relations_member(x)?);
        members.extend(self.subspace_member(x)?);
        members.extend(self.short_relations_member(x)?);
        Ok(members)
    }

    /// The roles learned from `x` when `rate_below` is set: which sensors the members but the level-shift one
    /// see as rates.
    pub fn rate_roles(&self, x: ArrayView2<f64>) -> Result<Option<RateRoles>> {
        self.inputs
            .rate_below
            .map(|r| RateRoles::learn(x, r, self.inputs.rate_lag))
            .transpose()
    }

    /// The neural members whose thresholds are set, on rolling means of `window` rows.
    pub fn neural_members(&self, x: ArrayView2<f64>) -> Result<Vec<Model>> {
        let mean = FeatureWindow::builder()
            .window(self.inputs.window)
            .raw(false)
            .mean(true)
            .build()?;
        let mut out = Vec::new();
        if let Some(z) = self.neural.autoencoder_z {
            let ae = Autoencoder::builder()
                .training(self.neural.training)
                .seed(self.seed)
                .calibration(Calibration::RobustZ(z))
                .build()?;
            out.push(self.settled(
                Windowed::new("autoencoder", mean.clone(), ae).fit(x)?,
                self.neural.settle,
            )?);
        }
        if let Some(z) = self.neural.conv_z {
            let conv = ConvAutoencoder::builder()
                .training(self.neural.training)
                .seed(self.seed)
                .calibration(Calibration::RobustZ(z))
                .build()?;
            let conv = Windowed::new("conv_autoencoder", mean.clone(), conv).fit(x)?;
            out.push(self.settled(conv, self.neural.settle)?);
        }
        if let Some(z) = self.neural.lstm_z {
            let lstm = Lstm::builder()
                .training(self.neural.training)
                .seed(self.seed)
                .calibration(Calibration::RobustZ(z))
                .build()?;
            out.push(self.settled(Windowed::new("lstm", mean, lstm).fit(x)?, self.neural.settle)?);
        }
        Ok(out)
    }

    /// The three classic members (rules, k-means, isolation forest), fitted on normal rows.
    pub fn classic_members(&self, x: ArrayView2<f64>) -> Result<Vec<Model>> {
        let mean = FeatureWindow::builder()
            .window(self.inputs.window)
            .raw(false)
            .mean(true)
            .build()?;
        let mean_std = FeatureWindow::builder()
            .window(self.inputs.window)
            .raw(false)
            .mean(true)
            .std(true)
            .build()?;
        let smoothed = mean.transform(x)?;
        let rules = Windowed::new(
            "rules",
            mean.clone(),
            RuleSet::learn(smoothed.view(), self.classic.rules)?,
        );
        let kmeans = ClusterProfile::builder()
            .algorithm(Algorithm::KMeans { k: self.classic.k })
            .seed(self.seed)
            .whiten(self.classic.whiten)
            .calibration(Calibration::RobustZ(self.classic.kmeans_z))
            .build()?;
        let forest = IsolationForest::builder()
            .seed(self.seed)
            .calibration(Calibration::RobustZ(self.classic.forest_z))
            .build()?;
        Ok(vec![
            rules.fit(x)?.into(),
            self.settled(
                Windowed::new("kmeans", mean.clone(), kmeans).fit(x)?,
                self.classic.settle,
            )?,
            Windowed::new(
                "isolation_forest",
                if self.classic.forest_std {
                    mean_std
                } else {
                    mean.clone()
                },
                forest,
            )
            .fit(x)?
            .into(),
        ])
    }

    /// A fitted member, its alarms settled when `settle` is set.
    fn settled<F: FittedDetector + Into<Model>>(&self, m: F, settle: Option<Settle>) -> Result<Model> {
        Ok(match settle {
            Some(s) => FittedSettled::new(m, s, SETTLED_RELEASE)?.into(),
            None => m.into(),
        })
    }

    /// The fitted ensemble, its members' frozen-score limits calibrated on `x` ([`Voter::calibrate_diagnosis`]).
    /// A recipe whose vote one member can force or suppress ([`integrity`](Self::integrity)) is fitted all the
    /// same, with a warning naming the member.
    pub fn fit(&self, x: ArrayView2<f64>) -> Result<Voter<Model>> {
        self.check()?;
        for w in self.integrity().warnings() {
            tracing::warn!("ensemble recipe: {w}");
        }
        let mut voter = self.voter(self.members(x)?)?;
        voter.calibrate_diagnosis(x, FROZEN_FLOOR)?;
        Ok(voter)
    }
}
