//! The one error type of `aeroguard-prognostics`.

/// Everything that can go wrong here. Each kind names what was wrong.
///
/// ```
/// use aeroguard_prognostics::Error;
/// let e = Error::NonFinite { what: "cycle", index: 3, column: 7 };
/// assert_eq!(e.to_string(), "cycle 3 has a non-finite value in column 7");
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Nothing to learn from or to score.
    #[error("{what} is empty")]
    Empty {
        /// What was empty.
        what: &'static str,
    },
    /// A value was NaN or infinite.
    #[error("{what} {index} has a non-finite value in column {column}")]
    NonFinite {
        /// What held it (`"cycle"`, `"target"`).
        what: &'static str,
        /// Its position.
        index: usize,
        /// The column (0 for a scalar).
        column: usize,
    },
    /// A row or table of the wrong width.
    #[error("{what} has {got} columns, expected {expected}")]
    Shape {
        /// What had the wrong shape.
        what: &'static str,
        /// The width the model was fitted on.
        expected: usize,
        /// The width given.
        got: usize,
    },
    /// Too few units to fit and calibrate.
    #[error("{what} needs at least {needed} units, got {got}")]
    TooFewUnits {
        /// What needed them.
        what: &'static str,
        /// The least that works.
        needed: usize,
        /// How many were given.
        got: usize,
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
    /// The gradient-boosting library refused the data.
    #[error("training failed: {0}")]
    Training(String),
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
