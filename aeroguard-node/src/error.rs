//! The node crate's error type.

/// What can go wrong in a node or a cluster run: each variant wraps the library error it came from, or says
/// what was wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A coordination backend failed.
    #[error(transparent)]
    Consensus(#[from] aeroguard_consensus::Error),
    /// A detector or the alert engine failed.
    #[error(transparent)]
    Detect(#[from] aeroguard_detect::Error),
    /// Fusion failed, or an identifier was refused.
    #[error(transparent)]
    Core(#[from] aeroguard_core::Error),
    /// A notifier could not be set up.
    #[error(transparent)]
    Notify(#[from] aeroguard_detect::alert::NotifyError),
    /// The analysis service's client or keys failed.
    #[error(transparent)]
    Sentinel(#[from] aeroguard_sentinel::Error),
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
