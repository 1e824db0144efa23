//! Choosing a strategy from configuration.

use serde::{Deserialize, Serialize};

use super::{
    BrooksIyengar, Fusion, Marzullo, Mean, Median, MidValueSelect, Screen, StrategyKind, TrimmedMean,
    WeightedMean,
};
use crate::Error;

/// A strategy as configuration says it: `{"strategy": "brooks_iyengar", "f": 1, "screen": {"max_age_ms": 5000}}`.
///
/// `f` defaults to 0 (1 for mid-value select). [`build`](Self::build) validates: the means tolerate no
/// fault, and mid-value select tolerates exactly one.
///
/// ```
/// use aeroguard_core::fusion::{FusionConfig, StrategyKind};
/// let cfg: FusionConfig = serde_json::from_str(r#"{"strategy": "marzullo", "f": 2}"#).unwrap();
/// let fusion = cfg.build()?;
/// assert_eq!((fusion.kind(), fusion.fault_tolerance()), (StrategyKind::Marzullo, 2));
/// let bad: FusionConfig = serde_json::from_str(r#"{"strategy": "mean", "f": 1}"#).unwrap();
/// assert!(bad.build().unwrap_err().to_string().contains("`f`"));
/// # Ok::<(), aeroguard_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FusionConfig {
    /// Which strategy.
    pub strategy: StrategyKind,
    /// How many faulty readings to tolerate.
    #[serde(default)]
    pub f: Option<usize>,
    /// The data-quality screen.
    #[serde(default)]
    pub screen: Screen,
}

impl FusionConfig {
    /// A configuration with the default screen.
    pub fn new(strategy: StrategyKind, f: usize) -> Self {
        FusionConfig {
            strategy,
            f: Some(f),
            screen: Screen::default(),
        }
    }

    /// Builds the strategy, validating `f` against it.
    pub fn build(&self) -> Result<Box<dyn Fusion>, Error> {
        let s = self.screen;
        let f = self.f;
        let none = |f: Option<usize>| match f {
            None | Some(0) => Ok(()),
            Some(f) => Err(Error::parameter(
                "f",
                f,
                "the mean and weighted mean tolerate no faulty reading: use 0",
            )),
        };
        Ok(match self.strategy {
            StrategyKind::Mean => {
                none(f)?;
                Box::new(Mean::new().with_screen(s))
            }
            StrategyKind::WeightedMean => {
                none(f)?;
                Box::new(WeightedMean::new().with_screen(s))
            }
            StrategyKind::Median => Box::new(Median::new(f.unwrap_or(0)).with_screen(s)),
            StrategyKind::TrimmedMean => Box::new(TrimmedMean::new(f.unwrap_or(0)).with_screen(s)),
            StrategyKind::MidValueSelect => match f {
                None | Some(1) => Box::new(MidValueSelect::new().with_screen(s)),
                Some(f) => {
                    return Err(Error::parameter(
                        "f",
                        f,
                        "mid-value select tolerates exactly 1 of 3",
                    ));
                }
            },
            StrategyKind::Marzullo => Box::new(Marzullo::new(f.unwrap_or(0)).with_screen(s)),
            StrategyKind::BrooksIyengar => Box::new(BrooksIyengar::new(f.unwrap_or(0)).with_screen(s)),
        })
    }
}
