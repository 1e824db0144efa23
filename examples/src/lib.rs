//! Runnable AeroGuard programs; see the `examples/` folder of this package. This library holds the small
//! helpers they share.

/// Logging for the programs: `tracing` events to stderr, filtered by `RUST_LOG` (default: warnings, and
/// this package's info). The libraries only emit events; a program decides whether and where they print.
pub fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn,aeroguard_examples=info"));
    // A second call (tests starting several programs in one process) keeps the first subscriber.
    let _ignored = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

/// A progress bar on stderr for a long run of `len` steps; hidden (and free) when stderr is not a terminal,
/// so logs and CI output stay clean.
pub fn progress(len: u64, what: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(len);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {elapsed} {msg}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_prefix(what.to_string());
    bar
}

/// Prints a line above `bar` when it is drawn, or plainly when it is hidden.
pub fn say(bar: &indicatif::ProgressBar, line: &str) {
    if bar.is_hidden() {
        println!("{line}");
    } else {
        bar.println(line);
    }
}

/// The coordination backends the example programs can run on, chosen with `--backend`.
pub mod backend {
    use std::sync::Arc;
    use std::time::Duration;

    use aeroguard_consensus::redis::{RedisCoordinator, RedisOptions};
    use aeroguard_consensus::zookeeper::{ZkCoordinator, ZkOptions};
    use aeroguard_consensus::{Coordinator, Result};

    /// The ensemble started by `scripts/services start`.
    pub const ZK_HOSTS: &str = "127.0.0.1:2181,127.0.0.1:2182,127.0.0.1:2183";
    /// The Sentinels started by `scripts/services start`.
    pub const SENTINELS: [&str; 3] = ["127.0.0.1:26379", "127.0.0.1:26380", "127.0.0.1:26381"];
    /// The master name the Sentinels monitor.
    pub const MASTER: &str = "aeroguard";

    /// A backend with real servers (a `--backend` value).
    ///
    /// ```
    /// use aeroguard_examples::backend::Backend;
    /// use clap::ValueEnum;
    /// assert_eq!(Backend::from_str("redis", false), Ok(Backend::Redis));
    /// assert_eq!(Backend::from_str("zk", false), Ok(Backend::ZooKeeper));
    /// assert!(Backend::from_str("etcd", false).is_err());
    /// ```
    #[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
    pub enum Backend {
        /// The 3-node ZooKeeper ensemble.
        #[value(name = "zookeeper", alias = "zk")]
        ZooKeeper,
        /// Redis through its Sentinels.
        Redis,
    }

    impl Backend {
        /// The backend's name.
        pub fn name(self) -> &'static str {
            match self {
                Backend::ZooKeeper => "zookeeper",
                Backend::Redis => "redis",
            }
        }

        /// Redis options for the test services' Sentinels.
        pub fn redis_options(session: Duration) -> RedisOptions {
            RedisOptions::sentinel(&SENTINELS, MASTER).with_session_timeout(session)
        }

        /// Connects `node` with session timeout `session` to the test services.
        pub async fn connect(self, node: &str, session: Duration) -> Result<Arc<dyn Coordinator>> {
            let id =
                aeroguard_core::NodeId::new(node).map_err(|_| aeroguard_consensus::Error::InvalidName {
                    what: "node",
                    name: node.to_string(),
                    reason: "not a valid node id",
                })?;
            Ok(match self {
                Backend::ZooKeeper => {
                    ZkCoordinator::connect(id, ZkOptions::new(ZK_HOSTS).with_session_timeout(session)).await?
                }
                Backend::Redis => RedisCoordinator::connect(id, Self::redis_options(session)).await?,
            })
        }
    }
}

pub mod cluster;
mod error;
pub mod http;
pub mod jepsen;
pub mod plot;
pub mod sentinel;

pub use error::{Error, Result};
