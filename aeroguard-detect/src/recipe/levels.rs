//! The recipe's members that watch levels: the level shift, the relations, the subspace and the short relations
//! member.

use ndarray::ArrayView2;

use super::EnsembleRecipe;
use crate::{Detector, LevelShift, Model, Relations, Result, Subspace};

impl EnsembleRecipe {
    /// The level-shift member when `shift_z` is set: each sensor's rolling mean against its training level,
    /// with hysteresis, slow sensors left out or damped.
    pub fn shift_member(&self, x: ArrayView2<f64>) -> Result<Option<Model>> {
        let Some(z) = self.levels.shift_z else {
            return Ok(None);
        };
        let shift = LevelShift::builder()
            .window(self.levels.window)
            .z(z)
            .release(self.levels.release)
            .slow_below(self.levels.slow_below)
            .follow(self.levels.follow)
            .slow_weight(self.levels.slow_weight)
            .settle(self.levels.settle)
            .build()?;
        Ok(Some(shift.fit(x)?.into()))
    }

    /// The relations member when `relations_z` is set, with the level shift's window and slow sensors.
    pub fn relations_member(&self, x: ArrayView2<f64>) -> Result<Option<Model>> {
        let Some(z) = self.levels.relations_z else {
            return Ok(None);
        };
        let relations = Relations::builder()
            .window(self.levels.window)
            .z(z)
            .slow_below(self.levels.slow_below)
            .settle(self.levels.settle)
            .build()?;
        Ok(Some(relations.fit(x)?.into()))
    }

    /// The subspace member when `subspace_z` is set, with the level shift's window, slow sensors and settling.
    pub fn subspace_member(&self, x: ArrayView2<f64>) -> Result<Option<Model>> {
        let Some(z) = self.levels.subspace_z else {
            return Ok(None);
        };
        let subspace = Subspace::builder()
            .window(self.levels.window)
            .z(z)
            .slow_below(self.levels.slow_below)
            .settle(self.levels.settle)
            .build()?;
        Ok(Some(subspace.fit(x)?.into()))
    }

    /// The short relations member when `short_relations_z` is set: a relations member over `short_window`-row
    /// means, voting as `relations_short`, with the level shift's slow sensors and settling.
    pub fn short_relations_member(&self, x: ArrayView2<f64>) -> Result<Option<Model>> {
        let Some(z) = self.levels.short_relations_z else {
            return Ok(None);
        };
        let relations = Relations::builder()
            .window(self.levels.short_window)
            .z(z)
            .slow_below(self.levels.slow_below)
            .settle(self.levels.settle)
            .name(SHORT_RELATIONS)
            .build()?;
        Ok(Some(relations.fit(x)?.into()))
    }
}

/// The name the short relations member votes under.
pub const SHORT_RELATIONS: &str = "relations_short";
