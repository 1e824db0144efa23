//! The one error type of the example programs.

/// What can go wrong in an example program: each wraps the library error it came from, or says what was wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A coordination backend failed.
    #[error(transparent)]
    Consensus(#[from] aeroguard_consensus::Error),
    /// A detector failed.
    #[error(transparent)]
    Detect(#[from] aeroguard_detect::Error),
    /// Fusion failed, or an identifier was refused.
    #[error(transparent)]
    Core(#[from] aeroguard_core::Error),
    /// A remaining-life model could not be fitted or refused a cycle.
    #[error(transparent)]
    Prognostics(#[from] aeroguard_prognostics::Error),
    /// Benchmark data could not be read or scored.
    #[error(transparent)]
    Eval(#[from] aeroguard_eval::Error),
    /// A file, a pipe or a socket failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// JSON could not be encoded or decoded.
    #[error("{what}: {source}")]
    Json {
        /// What was being encoded or decoded.
        what: &'static str,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// A run was set up wrongly, or a check of its outcome failed.
    #[error("{0}")]
    Run(String),
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
