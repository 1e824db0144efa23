//! Runnable AeroGuard programs; see the `examples/` folder of this package. This library holds the small
//! helpers they share.

/// Every program of this package allocates with mimalloc: the service and the load generator allocate per row
/// and per request on several threads, where glibc's malloc spent a quarter of the time (arena locks,
/// consolidation).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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

    use aeroguard_consensus::redis::{RedisCoordinator, RedisCredentials, RedisOptions, RedisTls};
    use aeroguard_consensus::zookeeper::{ZkAuth, ZkCoordinator, ZkDigest, ZkIdentity, ZkOptions};
    use aeroguard_consensus::{Coordinator, Error, Result};

    /// The ensemble started by `scripts/services start`.
    pub const ZK_HOSTS: &str = "127.0.0.1:2181,127.0.0.1:2182,127.0.0.1:2183";
    /// The Sentinels started by `scripts/services start`.
    pub const SENTINELS: [&str; 3] = ["127.0.0.1:26379", "127.0.0.1:26380", "127.0.0.1:26381"];
    /// The master name the Sentinels monitor.
    pub const MASTER: &str = "aeroguard";

    /// The state folder of `scripts/services` (`AEROGUARD_SERVICES_DIR`, default `/tmp/aeroguard-services`).
    pub fn services_dir() -> std::path::PathBuf {
        std::env::var_os("AEROGUARD_SERVICES_DIR")
            .map_or_else(|| "/tmp/aeroguard-services".into(), Into::into)
    }

    /// A credential of the test services whose state folder is `dir`: the line `name=...` of its
    /// `credentials` file.
    ///
    /// ```
    /// let dir = std::env::temp_dir().join(format!("ag-doc-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// std::fs::write(dir.join("credentials"), "AEROGUARD_DOC_CRED=u:p\nAEROGUARD_DOC_CRED2=v:q\n")?;
    /// let got = aeroguard_examples::backend::services_credential_in(&dir, "AEROGUARD_DOC_CRED")?;
    /// assert_eq!(got, "u:p");
    /// assert_eq!(aeroguard_examples::backend::services_credential_in(&dir, "AEROGUARD_DOC_CRED2")?, "v:q");
    /// assert!(aeroguard_examples::backend::services_credential_in(&dir, "AEROGUARD_NONE").is_err());
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn services_credential_in(dir: &std::path::Path, name: &str) -> Result<String> {
        let file = dir.join("credentials");
        let missing = |why: String| Error::Unauthorized {
            backend: if name.contains("_ZK_") {
                "zookeeper"
            } else {
                "redis"
            },
            operation: "read the test services' credentials",
            reason: format!(
                "{name} is not set and {why}: run `scripts/services start`, then `eval \"$(scripts/services env)\"`"
            ),
        };
        let text = std::fs::read_to_string(&file)
            .map_err(|e| missing(format!("{} is unreadable ({e})", file.display())))?;
        text.lines()
            .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix('=')))
            .map(str::to_string)
            .ok_or_else(|| missing(format!("{} has no {name}", file.display())))
    }

    /// A credential of the test services: the environment variable `name` (as `scripts/services env` exports
    /// it), else [`services_credential_in`] the folder of [`services_dir`].
    pub fn services_credential(name: &str) -> Result<String> {
        match std::env::var(name) {
            Ok(v) => Ok(v),
            Err(_) => services_credential_in(&services_dir(), name),
        }
    }

    /// The cluster's ZooKeeper credentials for the test services (`AEROGUARD_ZK_AUTH`, `user:password`);
    /// `None` when they run without authentication (the credential is empty).
    pub fn zk_auth() -> Result<Option<ZkAuth>> {
        let credential = services_credential("AEROGUARD_ZK_AUTH")?;
        if credential.is_empty() {
            return Ok(None);
        }
        Ok(Some(ZkAuth::member(ZkDigest::parse(&credential)?)))
    }

    /// Node `node`'s own login in `logins` (the form of the test services' `AEROGUARD_MEMBERS`: space-separated
    /// `node:password`).
    ///
    /// ```
    /// use aeroguard_examples::backend::login_in;
    /// assert_eq!(login_in("n1:p1 n2:p2", "n2").as_deref(), Some("n2:p2"));
    /// assert_eq!(login_in("n1:p1 n2:p2", "n"), None);
    /// ```
    pub fn login_in(logins: &str, node: &str) -> Option<String> {
        logins
            .split_whitespace()
            .find(|m| m.split_once(':').is_some_and(|(n, _)| n == node))
            .map(str::to_string)
    }

    /// Node `node`'s own login among the test services' `AEROGUARD_MEMBERS` ([`login_in`]), if it has one: its
    /// ZooKeeper digest credential and its Redis ACL user, which alone writes its inbox slots.
    pub fn member_login(node: &str) -> Option<String> {
        login_in(&member_logins(), node)
    }

    fn member_logins() -> String {
        // Services run plain, and state folders from before members had logins, have none.
        services_credential("AEROGUARD_MEMBERS").unwrap_or_default()
    }

    /// ZooKeeper credentials for node `node`: the cluster's ([`zk_auth`]), its own login ([`member_login`]),
    /// and the roster of every member login, so a leader counts round answers from those identities only.
    pub fn zk_member_auth(node: &str) -> Result<Option<ZkAuth>> {
        let Some(mut auth) = zk_auth()? else {
            return Ok(None);
        };
        for login in member_logins().split_whitespace() {
            let digest = ZkDigest::parse(login)?;
            if digest.user() == node {
                auth = auth.with_node(digest.clone());
            }
            auth = auth.with_member(digest.user(), ZkIdentity::of(&digest));
        }
        Ok(Some(auth))
    }

    /// `options` with node `node`'s own Redis user ([`member_login`]) when it has one, else the library's
    /// ([`redis_auth`]).
    pub fn redis_member_auth(node: &str, options: RedisOptions) -> Result<RedisOptions> {
        let options = redis_auth(options)?;
        Ok(match member_login(node) {
            Some(login) => options.with_credentials(RedisCredentials::parse(&login)?),
            None => options,
        })
    }

    /// `options` with the test services' Redis credentials: the library's ACL user (`AEROGUARD_REDIS_AUTH`)
    /// for the servers, the Sentinels' client user (`AEROGUARD_SENTINEL_AUTH`) and TLS with their CA
    /// (`AEROGUARD_REDIS_CA`, when they run TLS).
    pub fn redis_auth(mut options: RedisOptions) -> Result<RedisOptions> {
        // Empty when the services run without authentication.
        let user = services_credential("AEROGUARD_REDIS_AUTH")?;
        if !user.is_empty() {
            options = options.with_credentials(RedisCredentials::parse(&user)?);
        }
        let client = services_credential("AEROGUARD_SENTINEL_AUTH")?;
        if !client.is_empty() {
            options = options.with_sentinel_credentials(RedisCredentials::parse(&client)?);
        }
        // TLS when the services run it (their CA is then among the credentials).
        Ok(match services_credential("AEROGUARD_REDIS_CA") {
            Ok(ca) if !ca.is_empty() => options.with_tls(RedisTls::from_ca_file(ca)?),
            _ => options,
        })
    }

    /// The analysis service's history on the test services' Redis (through the Sentinels): its own ACL user
    /// (`AEROGUARD_SERVICE_REDIS_AUTH`) and key prefix (`aeroguard-svc`), apart from the cluster's.
    pub async fn service_history() -> aeroguard_consensus::Result<aeroguard_consensus::redis::RedisHistory> {
        let mut options = redis_auth(
            RedisOptions::sentinel(&SENTINELS, MASTER).with_session_timeout(Duration::from_secs(4)),
        )?
        .with_prefix("aeroguard-svc");
        // The service's own user (empty when the services run without authentication).
        let own = services_credential("AEROGUARD_SERVICE_REDIS_AUTH")?;
        if !own.is_empty() {
            options = options.with_credentials(RedisCredentials::parse(&own)?);
        }
        let node = "sentinel-service"
            .parse()
            .map_err(|_| aeroguard_consensus::Error::InvalidName {
                what: "node",
                name: "sentinel-service".into(),
                reason: "not a node id",
            })?;
        Ok(RedisCoordinator::connect(node, options).await?.history())
    }

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

        /// Redis options for the test services' Sentinels, with their credentials ([`redis_auth`]).
        pub fn redis_options(session: Duration) -> Result<RedisOptions> {
            redis_auth(RedisOptions::sentinel(&SENTINELS, MASTER).with_session_timeout(session))
        }

        /// Connects `node` with session timeout `session` to the test services, with its own login when it has
        /// one ([`zk_member_auth`], [`redis_member_auth`]).
        pub async fn connect(self, node: &str, session: Duration) -> Result<Arc<dyn Coordinator>> {
            let id =
                aeroguard_core::NodeId::new(node).map_err(|_| aeroguard_consensus::Error::InvalidName {
                    what: "node",
                    name: node.to_string(),
                    reason: "not a valid node id",
                })?;
            Ok(match self {
                Backend::ZooKeeper => {
                    let mut options = ZkOptions::new(ZK_HOSTS).with_session_timeout(session);
                    options.auth = zk_member_auth(node)?;
                    ZkCoordinator::connect(id, options).await?
                }
                Backend::Redis => {
                    let options = RedisOptions::sentinel(&SENTINELS, MASTER).with_session_timeout(session);
                    RedisCoordinator::connect(id, redis_member_auth(node, options)?).await?
                }
            })
        }
    }
}

pub mod bench;
pub mod cluster;
mod error;
pub mod http;
pub mod jepsen;
pub mod netcut;
pub mod plot;
pub mod sentinel;

pub use error::{Error, Result};
