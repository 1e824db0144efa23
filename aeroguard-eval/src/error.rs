//! The crate's error type.

/// What went wrong reading or scoring benchmark data.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A data file could not be read or parsed.
    #[error("{path}: line {line}: {reason}")]
    Data {
        /// The file.
        path: String,
        /// 1-based line number (0 when the file could not be opened).
        line: u64,
        /// What was wrong.
        reason: String,
        /// The error it came from (reading the file, parsing its JSON), when there was one.
        #[source]
        cause: Option<aeroguard_core::Cause>,
    },
    /// A remaining-life model could not be fitted or refused a cycle.
    #[error("{what}: {source}")]
    Prognostics {
        /// What was being done.
        what: &'static str,
        /// The cause.
        #[source]
        source: aeroguard_prognostics::Error,
    },
    /// Predictions do not match the rows they score.
    #[error("{what}: expected {expected}, got {got}")]
    Shape {
        /// What was measured.
        what: &'static str,
        /// The length expected.
        expected: usize,
        /// The length given.
        got: usize,
    },
}

/// `Result<T, Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;
