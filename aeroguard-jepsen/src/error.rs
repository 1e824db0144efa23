//! The harness's error type.

/// What can go wrong in a fault-injection run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A coordination backend failed.
    #[error(transparent)]
    Consensus(#[from] aeroguard_consensus::Error),
    /// A file, a pipe or a process failed.
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
    /// A run was set up wrongly, or a step of it failed.
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
