#![doc = include_str!("../README.md")]
//!
//! Rows are samples, columns are sensors or features.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod action;
mod alarm;
pub mod alert;
mod calibrate;
mod cluster;
mod detector;
mod error;
mod features;
mod iforest;
mod input;
pub mod limits;
mod model;
pub mod neural;
mod nn;
mod rated;
mod recipe;
mod relations;
mod rules;
mod settle;
mod settled;
mod shift;
mod subspace;
mod surprise;
mod timed;
mod voter;
mod windowed;

pub use calibrate::{Calibration, median_and_mad, quantile_sorted};
pub use cluster::{Algorithm, ClusterProfile, ClusterProfileBuilder, FittedClusterProfile};
pub use detector::{Detector, FittedDetector};
pub use error::{Error, Result};
pub use features::{FeatureState, FeatureWindow, FeatureWindowBuilder};
pub use iforest::{
    FittedIsolationForest, IsolationForest, IsolationForestBuilder, MaxSamples, average_path_length,
};
pub use model::Model;
pub use rated::{FittedRated, RateRoles};
pub use recipe::{ClassicMembers, EnsembleRecipe, FROZEN_FLOOR, Inputs, LevelMembers, NeuralMembers, Voting};
pub use relations::{FittedRelations, MAX_RELATED, Relations, RelationsBuilder};
pub use rules::{FittedRules, LearnRules, Rule, RuleSet, Side};
pub use settle::{MAX_SETTLE_ROWS, Settle};
pub use settled::{FittedSettled, SETTLED_RELEASE};
pub use shift::{FittedLevelShift, LevelShift, LevelShiftBuilder, Role};
pub use subspace::{FittedSubspace, MAX_SUBSPACE, Subspace, SubspaceBuilder};
pub use surprise::{
    FittedSurprise, Likelihood, LikelihoodBuilder, LikelihoodState, MAX_LIKELIHOOD_HISTORY,
    MAX_SURPRISE_VALUE, Surprise, SurpriseBuilder,
};
pub use timed::TimeWindow;
pub use voter::{
    Degraded, Diagnosis, Driver, Fault, Integrity, MAX_ALONE_WINDOW, MemberRecord, Verdict, Vote, VoteRule,
    Voter, VoterBuilder,
};
pub use windowed::{FittedWindowed, Windowed};
