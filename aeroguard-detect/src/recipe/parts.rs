//! The recipe's parts: what the members see, each family of members, and the vote.

use serde::{Deserialize, Serialize};

use crate::neural::Training;
use crate::{LearnRules, LevelShift, Settle};

/// How the sensors are shaped before the members see them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Inputs {
    /// Rows in the rolling windows.
    pub window: usize,
    /// Sensors slower than this through the training rows (`var(diff) / (2 var)`) are fed to every member but
    /// the level-shift and relations ones as their change over `rate_lag` rows ([`RateRoles`](crate::RateRoles)); `None` feeds
    /// every sensor as it is.
    #[serde(default)]
    pub rate_below: Option<f64>,
    /// Rows the rate of a slow sensor spans.
    #[serde(default = "default_rate_lag")]
    pub rate_lag: usize,
}

/// The three classic members: persistence rules, a k-means profile and an isolation forest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassicMembers {
    /// How the rule member learns its bands.
    pub rules: LearnRules,
    /// Robust z multiplier for the k-means member's threshold.
    pub kmeans_z: f64,
    /// Clusters of the k-means member.
    pub k: usize,
    /// Whether the k-means member decorrelates the sensors (Mahalanobis distance).
    pub whiten: bool,
    /// Robust z multiplier for the isolation forest's threshold.
    pub forest_z: f64,
    /// Whether the forest also sees rolling standard deviations.
    pub forest_std: bool,
    /// How the k-means member's alarms end after a fault ([`FittedSettled`](crate::FittedSettled), holding
    /// down to [`SETTLED_RELEASE`](crate::SETTLED_RELEASE) of its threshold); `None` leaves its score as it is.
    #[serde(default)]
    pub settle: Option<Settle>,
}

/// The neural members, each present when its threshold is set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NeuralMembers {
    /// Robust z multiplier of the dense autoencoder's threshold; `None` leaves the member out.
    pub autoencoder_z: Option<f64>,
    /// Robust z multiplier of the convolutional autoencoder's threshold; `None` leaves the member out.
    pub conv_z: Option<f64>,
    /// Robust z multiplier of the LSTM's threshold; `None` leaves the member out.
    pub lstm_z: Option<f64>,
    /// How the neural members train.
    pub training: Training,
    /// How each neural member's alarms end after a fault ([`FittedSettled`](crate::FittedSettled), holding down
    /// to [`SETTLED_RELEASE`](crate::SETTLED_RELEASE) of its threshold); `None` leaves their scores as they are.
    #[serde(default)]
    pub settle: Option<Settle>,
}

/// The members that watch each sensor's level ([`LevelShift`]) and the relations between sensors
/// ([`Relations`](crate::Relations)), each present when its alarm level is set; they share the rolling window and the slow
/// sensors they leave out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LevelMembers {
    /// The level-shift member's alarm level (robust z of the rolling means); `None` leaves the member out.
    pub shift_z: Option<f64>,
    /// Rows of both members' rolling means.
    #[serde(default = "default_shift_window")]
    pub window: usize,
    /// The fraction of `shift_z` the level-shift member's alarm holds down to.
    #[serde(default = "default_shift_release")]
    pub release: f64,
    /// Sensors slower than this through the training rows (`var(diff) / (2 var)`) are left out of both members;
    /// `None` scores every sensor.
    #[serde(default = "default_slow_below")]
    pub slow_below: Option<f64>,
    /// Rows over which the level-shift member's level follows normal operation (guarded: never while an alarm
    /// holds or the score is over its release level); `None` keeps the training level.
    #[serde(default)]
    pub follow: Option<usize>,
    /// What a slow sensor's shift counts for in the level-shift member (0: left out).
    #[serde(default)]
    pub slow_weight: f64,
    /// The relations member's alarm level (each sensor's rolling mean predicted from the others', the miss in
    /// training scatters); `None` leaves the member out. It comes after the level shift.
    #[serde(default)]
    pub relations_z: Option<f64>,
    /// How both members' alarms end after a fault and how soon another may start ([`Settle`]); `None` ends them
    /// at their release level.
    #[serde(default)]
    pub settle: Option<Settle>,
    /// The subspace member's alarm level (T² and Q of a PCA of the rolling means, in training scatters;
    /// [`Subspace`](crate::Subspace)), with the same window, slow sensors and settling; `None` leaves it out. It
    /// comes after the relations member.
    #[serde(default)]
    pub subspace_z: Option<f64>,
    /// The short relations member's alarm level: a second relations member over rolling means of
    /// `short_window` rows, voting as `relations_short`, with the same slow sensors and settling; `None` leaves
    /// it out. It sees the relations break on a shorter time scale, and carries most of what the relations
    /// member finds when that one is broken. It comes after the subspace member.
    #[serde(default)]
    pub short_relations_z: Option<f64>,
    /// Rows of the short relations member's rolling means.
    #[serde(default = "default_short_window")]
    pub short_window: usize,
}

impl Default for LevelMembers {
    fn default() -> Self {
        LevelMembers {
            shift_z: None,
            window: default_shift_window(),
            release: default_shift_release(),
            slow_below: default_slow_below(),
            follow: None,
            slow_weight: 0.0,
            relations_z: None,
            settle: None,
            subspace_z: None,
            short_relations_z: None,
            short_window: default_short_window(),
        }
    }
}

/// How the members' votes make the alarm: weights, the weight needed, and a k-of-window rule over rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Voting {
    /// Weights of the members, in order (empty: `level_weight` for the level members, 1 for the others).
    pub weights: Vec<f64>,
    /// With `weights` empty, the weight of each level member (the level shift, the relations and the subspace
    /// member; the others weigh 1); `None`: 1. It follows the members the recipe has, where `weights` must
    /// name one weight per member.
    #[serde(default)]
    pub level_weight: Option<f64>,
    /// Weight of the yes votes needed.
    pub m: f64,
    /// Rows of the diagnosis' alarming-alone check ([`Diagnosis::alone_window`](crate::Diagnosis)): a member
    /// voting yes alone on half of them is left out.
    #[serde(default = "default_alone_window")]
    pub alone_window: usize,
    /// Temporal rule: at least `k_of` of the last `of_window` rows' votes.
    pub k_of: usize,
    /// See `k_of`.
    pub of_window: usize,
}

pub(super) fn default_alone_window() -> usize {
    crate::Diagnosis::default().alone_window
}

pub(super) fn default_rate_lag() -> usize {
    30
}

fn default_short_window() -> usize {
    5
}

fn default_shift_window() -> usize {
    LevelShift::default().window()
}

fn default_shift_release() -> f64 {
    LevelShift::default().release()
}

fn default_slow_below() -> Option<f64> {
    LevelShift::default().slow_below()
}
