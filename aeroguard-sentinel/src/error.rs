//! The service crate's error type.

/// What can go wrong in the service's library: each variant wraps the library error it came from, or names
/// what was wrong.
///
/// ```
/// use aeroguard_sentinel::{ApiKeys, Error};
/// let refused = ApiKeys::parse("n1 admin sha256:00").unwrap_err();
/// assert!(matches!(refused, Error::Keys { line: Some(1), .. }));
/// assert!(refused.to_string().contains("line 1"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A coordination backend or the history store failed.
    #[error(transparent)]
    Consensus(#[from] aeroguard_consensus::Error),
    /// A detector failed.
    #[error(transparent)]
    Detect(#[from] aeroguard_detect::Error),
    /// A file or a socket failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A keys file was refused.
    #[error("keys file{}: {reason}", line.map(|l| format!(" line {l}")).unwrap_or_default())]
    Keys {
        /// The line that was wrong (1-based), when one was.
        line: Option<usize>,
        /// What was wrong.
        reason: String,
    },
    /// Fewer training readings per series than the chosen model fits on.
    #[error("{rows} training readings per series, but the model needs at least {needed}")]
    TrainingRows {
        /// The readings asked for.
        rows: usize,
        /// The fewest the model fits on.
        needed: usize,
    },
    /// An HTTP request of the client failed.
    #[error("HTTP {what}: {reason}")]
    Http {
        /// The request.
        what: String,
        /// Why.
        reason: String,
    },
}

impl Error {
    /// An I/O error, saying what was being done.
    pub fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            what: what.into(),
            source,
        }
    }
}

/// `Result<T, Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;
