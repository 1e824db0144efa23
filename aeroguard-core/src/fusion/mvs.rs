//! Mid-value select for triplex channels.

use super::outcome::Outcome;
use super::{Estimate, ExclusionReason, Fusion, Screen, StrategyKind};
use crate::{Error, Reading, Timestamp};

/// The median of three, `max(min(a, b), min(max(a, b), c))`: the classic voter of triplex avionics and
/// safety instrumented systems.
///
/// - Guarantee: with one arbitrarily faulty channel of three, the selected value lies between the two good
///   channels' values.
/// - Needs: exactly 3 channels given ([`Error::WrongChannelCount`] otherwise), all 3 usable after screening
///   ([`Error::InsufficientReadings`] otherwise: with two left it cannot tell which is wrong).
/// - Cost: O(1).
///
/// ```
/// use aeroguard_core::{Reading, SensorId, Timestamp, fusion::{Fusion, MidValueSelect}};
/// let t = Timestamp::from_millis(0);
/// let rs = [("a", 101.0), ("b", 99.5), ("c", -4000.0)]
///     .map(|(s, v)| Reading::new(SensorId::new(s).unwrap(), v, t));
/// let e = MidValueSelect::new().fuse(&rs, t)?;
/// assert_eq!(e.value, 99.5);
/// assert_eq!(e.used[0].as_str(), "b");
/// # Ok::<(), aeroguard_core::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct MidValueSelect {
    screen: Screen,
}

/// The median of three values.
pub fn median_of_three(a: f64, b: f64, c: f64) -> f64 {
    a.min(b).max(a.max(b).min(c))
}

impl MidValueSelect {
    /// Mid-value select with the default screen.
    pub fn new() -> Self {
        MidValueSelect::default()
    }

    /// Replaces the data-quality screen.
    pub fn with_screen(mut self, screen: Screen) -> Self {
        self.screen = screen;
        self
    }
}

impl Fusion for MidValueSelect {
    fn kind(&self) -> StrategyKind {
        StrategyKind::MidValueSelect
    }

    fn fault_tolerance(&self) -> usize {
        1
    }

    fn fuse(&self, readings: &[Reading], now: Timestamp) -> Result<Estimate, Error> {
        if readings.len() != 3 {
            return Err(Error::WrongChannelCount {
                strategy: StrategyKind::MidValueSelect,
                expected: 3,
                got: readings.len(),
            });
        }
        let out = Outcome::screen(StrategyKind::MidValueSelect, 1, &self.screen, readings, now);
        out.require(3)?;
        let c = out.candidates();
        let value = median_of_three(c[0].value, c[1].value, c[2].value);
        // The channel to credit: the first (by sensor id) holding the middle value.
        let chosen = c.iter().find(|x| x.value == value).map(|x| x.index);
        Ok(out.finish(value, None, |x| {
            (Some(x.index) != chosen).then_some(ExclusionReason::NotSelected)
        }))
    }
}
