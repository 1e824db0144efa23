//! Runnable AeroGuard programs; see the `examples/` folder of this package. This library holds the small
//! helpers they share.

/// A tiny seeded generator (SplitMix64) for simulations: deterministic for a seed, no dependencies.
///
/// ```
/// let mut a = aeroguard_examples::SplitMix64::new(1);
/// let mut b = aeroguard_examples::SplitMix64::new(1);
/// assert_eq!(a.next_u64(), b.next_u64());
/// assert!((0.0..1.0).contains(&a.uniform()));
/// ```
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.uniform().max(f64::MIN_POSITIVE);
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

/// The value after `--name` in `args`, parsed; `None` if absent. Exits with a message if it does not parse.
pub fn arg_value<T: std::str::FromStr>(args: &[String], name: &str) -> Option<T> {
    let pos = args.iter().position(|a| a == name)?;
    match args.get(pos + 1).map(|v| v.parse::<T>()) {
        Some(Ok(v)) => Some(v),
        _ => {
            eprintln!("error: {name} needs a value of the right type");
            std::process::exit(2);
        }
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

    /// A backend with real servers.
    ///
    /// ```
    /// use aeroguard_examples::backend::Backend;
    /// assert_eq!("redis".parse::<Backend>(), Ok(Backend::Redis));
    /// assert!("etcd".parse::<Backend>().is_err());
    /// ```
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Backend {
        /// The 3-node ZooKeeper ensemble.
        ZooKeeper,
        /// Redis through its Sentinels.
        Redis,
    }

    impl std::str::FromStr for Backend {
        type Err = String;
        fn from_str(s: &str) -> std::result::Result<Self, String> {
            match s {
                "zookeeper" | "zk" => Ok(Backend::ZooKeeper),
                "redis" => Ok(Backend::Redis),
                other => Err(format!("unknown backend {other:?}: zookeeper or redis")),
            }
        }
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
pub mod http;
pub mod sentinel;
pub mod svg;
