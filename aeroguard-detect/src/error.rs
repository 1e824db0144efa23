//! The one error type of `aeroguard-detect`.

/// Everything that can go wrong in detection. Each kind names what was wrong.
///
/// ```
/// use aeroguard_detect::Error;
/// let e = Error::Shape { what: "rows to score", expected: 8, got: 7 };
/// assert_eq!(e.to_string(), "rows to score have 7 columns, expected 8");
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A parameter is out of its domain; the name is the builder's method.
    #[error("invalid parameter `{name}` = {value}: {reason}")]
    InvalidParameter {
        /// The parameter.
        name: &'static str,
        /// The rejected value, formatted.
        value: String,
        /// What it must be.
        reason: &'static str,
    },
    /// The input has the wrong number of columns.
    #[error("{what} have {got} columns, expected {expected}")]
    Shape {
        /// Which input.
        what: &'static str,
        /// The width the model was fitted on.
        expected: usize,
        /// The width given.
        got: usize,
    },
    /// A value is NaN or infinite.
    #[error("{what}: non-finite value {value} at row {row}, column {column}")]
    NonFinite {
        /// Which input.
        what: &'static str,
        /// Row index.
        row: usize,
        /// Column index.
        column: usize,
        /// The value.
        value: f64,
    },
    /// Too few rows to fit.
    #[error("{what} needs at least {needed} rows to fit, got {got}")]
    NotEnoughRows {
        /// Which model.
        what: &'static str,
        /// The minimum.
        needed: usize,
        /// Given.
        got: usize,
    },
    /// A rule refers to a sensor column the data does not have.
    #[error("rule {rule} refers to sensor column {sensor}, but rows have {width} columns")]
    NoSuchSensor {
        /// The rule's position in the set.
        rule: usize,
        /// The column it names.
        sensor: usize,
        /// The data's width.
        width: usize,
    },
    /// A saved model could not be read or written.
    #[error("model {operation} failed: {reason}")]
    Model {
        /// `"save"` or `"load"`; `"score"` for a member written in another language (a Python model).
        operation: &'static str,
        /// Why.
        reason: String,
        /// The error it came from (the JSON parser's), when there was one.
        #[source]
        cause: Option<aeroguard_core::Cause>,
    },
    /// A fitting backend (linfa) failed.
    #[error("{what} failed to fit: {reason}")]
    Fit {
        /// Which model.
        what: &'static str,
        /// The backend's message.
        reason: String,
        /// The backend's error, when there was one.
        #[source]
        cause: Option<aeroguard_core::Cause>,
    },
    /// The voter was given no members, or a vote rule it cannot satisfy.
    #[error("invalid ensemble: {reason}")]
    Ensemble {
        /// Why.
        reason: String,
    },
    /// An alert rule file is malformed or holds a bad rule.
    #[error("alert rules, line {line}: {reason}")]
    RuleFile {
        /// The 1-based line of the problem (0 when it concerns the whole file).
        line: usize,
        /// What is wrong there.
        reason: String,
    },
    /// An action policy file is malformed or holds a bad rule.
    #[error("action policy, line {line}: {reason}")]
    PolicyFile {
        /// The 1-based line of the problem (0 when it concerns the whole file).
        line: usize,
        /// What is wrong there.
        reason: String,
    },
}

impl Error {
    pub(crate) fn parameter(name: &'static str, value: impl std::fmt::Debug, reason: &'static str) -> Self {
        Error::InvalidParameter {
            name,
            value: format!("{value:?}"),
            reason,
        }
    }
}

/// `Result<T, Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;
