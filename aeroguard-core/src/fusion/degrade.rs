//! Fusion that degrades instead of failing, when the caller asks for it: a control loop needs a value every
//! cycle, marked when it is not what the strategy vouches for, where an alarm path wants the error.

use super::{Estimate, Fusion, FusionConfig, Mean, Median, StrategyKind};
use crate::{Error, Reading, Timestamp};

/// A strategy that, when fewer readings are usable than it needs for its fault tolerance (or their intervals
/// disagree beyond it), fuses the usable readings again with a fallback (the median, with the largest `f`
/// they allow, or the mean) and marks the estimate [`degraded`](Estimate::degraded) with the strategy's
/// error. With no usable reading at all it still fails.
///
/// ```
/// use aeroguard_core::{Quality, Reading, SensorId, Timestamp};
/// use aeroguard_core::fusion::{Degrading, Fusion, FusionConfig, StrategyKind};
/// let now = Timestamp::from_millis(1_000);
/// let r = |s: &str, v: f64| Reading::new(SensorId::new(s).unwrap(), v, now).with_half_width(0.1);
/// // Three redundant tags, one flagged bad: Brooks-Iyengar with f = 1 needs three usable readings.
/// let tags = [r("pt-1", 4.02), r("pt-2", 3.98), r("pt-3", 9.0).with_quality(Quality::Bad)];
/// let strict = FusionConfig::new(StrategyKind::BrooksIyengar, 1);
/// assert!(strict.build()?.fuse(&tags, now).is_err());
/// let degrading = Degrading::new(&strict, StrategyKind::Median)?;
/// let est = degrading.fuse(&tags, now)?;
/// assert_eq!((est.strategy, est.value), (StrategyKind::Median, 4.0));
/// assert!(est.degraded.as_deref().unwrap().contains("needs at least 3 usable readings"));
/// assert_eq!(est.excluded[0].to_string(), "pt-3: quality flagged bad");
/// # Ok::<(), aeroguard_core::Error>(())
/// ```
#[derive(Debug)]
pub struct Degrading {
    strict: Box<dyn Fusion>,
    config: FusionConfig,
    fallback: StrategyKind,
}

impl Degrading {
    /// The strategy `config` builds, falling back to `fallback` ([`StrategyKind::Median`] or
    /// [`StrategyKind::Mean`]) with the same screen.
    pub fn new(config: &FusionConfig, fallback: StrategyKind) -> Result<Self, Error> {
        if !matches!(fallback, StrategyKind::Median | StrategyKind::Mean) {
            return Err(Error::parameter(
                "fallback",
                fallback,
                "the median or the mean: a fallback must fuse whatever is usable",
            ));
        }
        Ok(Degrading {
            strict: config.build()?,
            config: config.clone(),
            fallback,
        })
    }

    /// The fallback.
    pub fn fallback(&self) -> StrategyKind {
        self.fallback
    }
}

impl Fusion for Degrading {
    fn kind(&self) -> StrategyKind {
        self.strict.kind()
    }

    fn fault_tolerance(&self) -> usize {
        self.strict.fault_tolerance()
    }

    fn fuse(&self, readings: &[Reading], now: Timestamp) -> Result<Estimate, Error> {
        let (why, available) = match self.strict.fuse(readings, now) {
            Ok(estimate) => return Ok(estimate),
            Err(e @ Error::InsufficientReadings { available, .. }) if available > 0 => (e, available),
            Err(e @ Error::NoAgreement { available, .. }) if available > 0 => (e, available),
            Err(e) => return Err(e),
        };
        let screen = self.config.screen;
        let estimate = match self.fallback {
            StrategyKind::Mean => Mean::new().with_screen(screen).fuse(readings, now)?,
            _ => Median::new((available - 1) / 2)
                .with_screen(screen)
                .fuse(readings, now)?,
        };
        Ok(Estimate {
            degraded: Some(why.to_string()),
            ..estimate
        })
    }
}
