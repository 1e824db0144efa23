//! The one error type of `aeroguard-core`.

use crate::fusion::{Exclusion, StrategyKind};

/// Everything that can go wrong in `aeroguard-core`. Each kind names what was wrong.
///
/// A reading the field sends (NaN, stale, flagged bad) is *data*, not an error: fusion excludes it with an
/// [`ExclusionReason`](crate::fusion::ExclusionReason). An error means the call as a whole could not give a
/// trustworthy answer, or a parameter the program chose is invalid.
///
/// ```
/// use aeroguard_core::{Error, fusion::{Fusion, Median}};
/// let err = Median::new(1).fuse(&[], aeroguard_core::Timestamp::now()).unwrap_err();
/// assert!(matches!(err, Error::InsufficientReadings { needed: 3, available: 0, .. }));
/// assert_eq!(err.to_string(), "median needs at least 3 usable readings to tolerate f = 1 faulty, got 0 (0 given, 0 excluded)");
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An identifier failed validation.
    #[error("invalid {kind} id {id:?}: {reason}")]
    InvalidId {
        /// `"sensor"` or `"node"`.
        kind: &'static str,
        /// The rejected identifier (cut at 160 characters).
        id: String,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// A parameter chosen by the program is out of its domain.
    #[error("invalid parameter `{name}` = {value}: {reason}")]
    InvalidParameter {
        /// The parameter's name, as in the API.
        name: &'static str,
        /// The rejected value, formatted.
        value: String,
        /// What the parameter must be.
        reason: &'static str,
    },

    /// Fewer usable readings than the strategy needs for the requested fault tolerance.
    #[error(
        "{strategy} needs at least {needed} usable readings to tolerate f = {f} faulty, got {available} \
         ({given} given, {} excluded)", excluded.len()
    )]
    InsufficientReadings {
        /// The strategy that was asked.
        strategy: StrategyKind,
        /// The fault tolerance asked for.
        f: usize,
        /// How many usable readings it needs.
        needed: usize,
        /// How many usable readings there were.
        available: usize,
        /// How many readings were given.
        given: usize,
        /// Why the others were excluded.
        excluded: Vec<Exclusion>,
    },

    /// The intervals disagree more than `f` faulty sensors can explain: no point lies in `needed` of them.
    #[error(
        "{strategy}: no value lies within {needed} of the {available} intervals (at most {max_overlap} overlap), \
         so more than f = {f} sensors are faulty"
    )]
    NoAgreement {
        /// The strategy that was asked.
        strategy: StrategyKind,
        /// The fault tolerance asked for.
        f: usize,
        /// How many intervals had to overlap (`n - f`).
        needed: usize,
        /// How many usable intervals there were (`n`).
        available: usize,
        /// The largest number of intervals that share a point.
        max_overlap: usize,
    },

    /// The strategy works on a fixed number of channels and got another number.
    #[error("{strategy} takes exactly {expected} channels, got {got}")]
    WrongChannelCount {
        /// The strategy that was asked.
        strategy: StrategyKind,
        /// How many channels it takes.
        expected: usize,
        /// How many readings were given.
        got: usize,
    },
}

impl Error {
    pub(crate) fn parameter(name: &'static str, value: impl std::fmt::Display, reason: &'static str) -> Self {
        Error::InvalidParameter {
            name,
            value: value.to_string(),
            reason,
        }
    }
}

/// The error another error came from (a client's, a store's, a parser's), kept so that
/// [`std::error::Error::source`] reaches it, in error types that are `Clone` and `PartialEq`. Two causes are
/// equal when they say the same.
///
/// ```
/// use aeroguard_core::Cause;
/// let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "read-only file system");
/// let cause = Cause::new(io);
/// assert_eq!(cause.to_string(), "read-only file system");
/// assert_eq!(cause.clone(), cause);
/// ```
#[derive(Clone)]
pub struct Cause(std::sync::Arc<dyn std::error::Error + Send + Sync>);

impl Cause {
    /// Keeps `e`.
    pub fn new(e: impl std::error::Error + Send + Sync + 'static) -> Cause {
        Cause(std::sync::Arc::new(e))
    }
}

impl std::fmt::Debug for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&*self.0, f)
    }
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&*self.0, f)
    }
}

impl std::error::Error for Cause {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

impl PartialEq for Cause {
    fn eq(&self, other: &Cause) -> bool {
        self.to_string() == other.to_string()
    }
}
