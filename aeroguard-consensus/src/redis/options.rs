//! How to reach Redis, and the parameters of a coordinator's session with it.

use std::time::Duration;

use crate::{Error, Result, SessionOptions};

/// Where the Redis master is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedisTarget {
    /// One server, by URL (`redis://127.0.0.1:6379/0`).
    Direct {
        /// The URL.
        url: String,
    },
    /// The master named `master`, as reported by these Sentinels (`redis://127.0.0.1:26379`, ...).
    Sentinel {
        /// Sentinel URLs.
        sentinels: Vec<String>,
        /// The master's name in the Sentinels' configuration.
        master: String,
    },
    /// A Redis Cluster, reached through any of these nodes (`redis://host:port`): for
    /// [`RedisClusterHistory`](super::RedisClusterHistory) only (feature `redis-cluster`). The coordination
    /// recipes need one master and refuse it.
    Cluster {
        /// Seed node URLs: the client learns the rest from them.
        nodes: Vec<String>,
    },
}

impl RedisTarget {
    /// The addresses this target names, for messages: without any user or password a URL carries.
    ///
    /// ```
    /// use aeroguard_consensus::redis::RedisTarget;
    /// let t = RedisTarget::Direct { url: "redis://app:secret@10.0.0.5:6379/0".into() };
    /// assert_eq!(t.addresses(), "redis://10.0.0.5:6379/0");
    /// ```
    pub fn addresses(&self) -> String {
        let bare = |url: &str| match (url.split_once("://"), url.rfind('@')) {
            (Some((scheme, _)), Some(at)) => format!("{scheme}://{}", &url[at + 1..]),
            _ => url.to_string(),
        };
        match self {
            RedisTarget::Direct { url } => bare(url),
            RedisTarget::Sentinel { sentinels, master } => format!(
                "the Sentinels {} (master {master})",
                sentinels.iter().map(|s| bare(s)).collect::<Vec<_>>().join(", ")
            ),
            RedisTarget::Cluster { nodes } => format!(
                "the cluster nodes {}",
                nodes.iter().map(|s| bare(s)).collect::<Vec<_>>().join(", ")
            ),
        }
    }
}

/// How far a write must have gone before it counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// The master has it (the default: Redis' own behaviour).
    Master,
    /// At least `count` replicas have it within `timeout` (`WAIT count timeout`), else
    /// [`Error::NotReplicated`]. Applies to election grants, config writes, history writes and queue puts.
    Replicas {
        /// Replicas that must acknowledge.
        count: u32,
        /// How long to wait for them.
        timeout: Duration,
    },
}

/// The shortest session timeout (and so lease) the backend takes.
pub(crate) const MIN_SESSION: Duration = Duration::from_millis(300);

/// Connection parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct RedisOptions {
    /// Where the master is.
    pub target: RedisTarget,
    /// The prefix of every key.
    pub prefix: String,
    /// The session timeout `T` (the TTL of sessions, leases, registrations and queue claims) and the grace: how
    /// long a leader tolerates a suspended connection before it stops trusting its leadership (the lease
    /// deadline at `9T/10` applies in any case).
    pub session: SessionOptions,
    /// The time limit of one command (and of connecting).
    pub operation_timeout: Duration,
    /// How far writes must go.
    pub durability: Durability,
    /// The servers' `min-replicas-max-lag`: how long a master cut off from its replicas may still take writes
    /// (lease renewals among them). After a Sentinel failover no lease is granted for the quiet period
    /// `T + max_replica_lag + 1 s` (the `+ 1 s` is the replicas' acknowledgement period), so a leader cut off
    /// with the old master has stopped trusting its lease before anyone else is granted one. Default 2 s, the
    /// test services' setting; it must be at least the servers' (DESIGN.md, "Redis failover").
    pub max_replica_lag: Duration,
    /// The ACL user of the master and replicas (`None`: the `default` user, for a server without
    /// authentication). Credentials in a direct URL (`redis://user:password@host`) work too; these win.
    pub credentials: Option<super::RedisCredentials>,
    /// The ACL user of the Sentinels (they authenticate clients separately from the servers).
    pub sentinel_credentials: Option<super::RedisCredentials>,
    /// TLS to the servers and the Sentinels (`None`: plain TCP, unless a direct URL says `rediss://`).
    #[cfg(feature = "tls")]
    pub tls: Option<super::RedisTls>,
    /// This node's login may not write the election keys: an election authority
    /// ([`RedisElectionAuthority`](super::RedisElectionAuthority)) writes them for it (see
    /// [`with_election_authority`](Self::with_election_authority)).
    pub election_authority: bool,
}

impl RedisOptions {
    fn with_target(target: RedisTarget) -> Self {
        RedisOptions {
            target,
            prefix: "aeroguard".into(),
            session: SessionOptions::new(Duration::from_secs(4)),
            operation_timeout: Duration::from_secs(1),
            durability: Durability::Master,
            max_replica_lag: Duration::from_secs(2),
            credentials: None,
            sentinel_credentials: None,
            #[cfg(feature = "tls")]
            tls: None,
            election_authority: false,
        }
    }

    /// Speaks TLS to the servers and the Sentinels, trusting `tls`'s CA.
    #[cfg(feature = "tls")]
    pub fn with_tls(mut self, tls: super::RedisTls) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Authenticates to the master and replicas as `credentials`.
    ///
    /// ```
    /// use aeroguard_consensus::redis::{RedisCredentials, RedisOptions};
    /// let o = RedisOptions::sentinel(&["127.0.0.1:26379"], "aeroguard")
    ///     .with_credentials(RedisCredentials::parse("aeroguard:secret")?)
    ///     .with_sentinel_credentials(RedisCredentials::parse("client:other-secret")?);
    /// assert_eq!(o.credentials.as_ref().and_then(|c| c.username()), Some("aeroguard"));
    /// # Ok::<(), aeroguard_consensus::Error>(())
    /// ```
    pub fn with_credentials(mut self, credentials: super::RedisCredentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// Authenticates to the Sentinels as `credentials`.
    pub fn with_sentinel_credentials(mut self, credentials: super::RedisCredentials) -> Self {
        self.sentinel_credentials = Some(credentials);
        self
    }

    /// One server by URL, with a 4 s session timeout.
    ///
    /// ```
    /// use aeroguard_consensus::redis::RedisOptions;
    /// let o = RedisOptions::direct("redis://127.0.0.1:6379").with_session_timeout(std::time::Duration::from_secs(2));
    /// assert_eq!(o.session.grace, std::time::Duration::from_secs(1));
    /// ```
    pub fn direct(url: impl Into<String>) -> Self {
        Self::with_target(RedisTarget::Direct { url: url.into() })
    }

    /// The master `master` through these Sentinels (`host:port` or `redis://host:port`).
    pub fn sentinel(sentinels: &[&str], master: impl Into<String>) -> Self {
        let sentinels = sentinels.iter().map(|s| with_scheme(s)).collect();
        Self::with_target(RedisTarget::Sentinel {
            sentinels,
            master: master.into(),
        })
    }

    /// A Redis Cluster through these seed nodes (`host:port` or `redis://host:port`), for the history
    /// ([`RedisClusterHistory`](super::RedisClusterHistory)).
    ///
    /// ```
    /// use aeroguard_consensus::redis::{RedisOptions, RedisTarget};
    /// let o = RedisOptions::cluster(&["127.0.0.1:7001", "127.0.0.1:7002"]);
    /// assert_eq!(o.target, RedisTarget::Cluster { nodes: vec!["redis://127.0.0.1:7001".into(), "redis://127.0.0.1:7002".into()] });
    /// ```
    pub fn cluster(nodes: &[&str]) -> Self {
        Self::with_target(RedisTarget::Cluster {
            nodes: nodes.iter().map(|s| with_scheme(s)).collect(),
        })
    }

    /// Sets the session timeout and the grace to half of it.
    pub fn with_session_timeout(mut self, timeout: Duration) -> Self {
        self.session = SessionOptions::new(timeout);
        self
    }

    /// Sets the key prefix.
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Runs this node's elections through an election authority, for a login that may not write election keys
    /// (a member's own ACL user; SECURITY.md, "Least privilege for members"). The node posts each join,
    /// campaign step, renewal and departure to a stream only its login writes (`<prefix>-node/<node>/ask`) and
    /// waits for the answer; a [`RedisElectionAuthority`](super::RedisElectionAuthority) runs it as that node
    /// and no other. The node's session key and wake-up lists move under its own keys too, and it checks the
    /// failover epoch without raising it (the authority raises it). Every candidate of an election should ask
    /// the authority, or none: the two wake their successors on different lists.
    ///
    /// ```
    /// use aeroguard_consensus::redis::RedisOptions;
    /// let o = RedisOptions::sentinel(&["127.0.0.1:26379"], "aeroguard").with_election_authority();
    /// assert!(o.election_authority);
    /// ```
    pub fn with_election_authority(mut self) -> Self {
        self.election_authority = true;
        self
    }

    /// Sets how far writes must go.
    pub fn with_durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    pub(crate) fn validate(&self) -> Result<()> {
        crate::error::check_name("key prefix", &self.prefix)?;
        if self.session.timeout < MIN_SESSION {
            return Err(Error::parameter(
                "session_timeout",
                self.session.timeout,
                "must be at least 300 ms",
            ));
        }
        self.session.validate()?;
        if self.operation_timeout.is_zero() || self.operation_timeout >= self.session.timeout {
            return Err(Error::parameter(
                "operation_timeout",
                self.operation_timeout,
                "must be positive and shorter than the session timeout",
            ));
        }
        if self.max_replica_lag > Duration::from_secs(3600) {
            return Err(Error::parameter(
                "max_replica_lag",
                self.max_replica_lag,
                "must be at most an hour (it is the servers' min-replicas-max-lag)",
            ));
        }
        if let RedisTarget::Sentinel { sentinels, master } = &self.target {
            if sentinels.is_empty() {
                return Err(Error::parameter(
                    "sentinels",
                    sentinels,
                    "must name at least one Sentinel",
                ));
            }
            crate::error::check_name("master", master)?;
        }
        if let RedisTarget::Cluster { nodes } = &self.target
            && (nodes.is_empty() || nodes.len() > 64)
        {
            return Err(Error::parameter("nodes", nodes, "must name 1 to 64 seed nodes"));
        }
        Ok(())
    }

    /// Sets the servers' `min-replicas-max-lag` (see [`RedisOptions::max_replica_lag`]).
    ///
    /// ```
    /// use std::time::Duration;
    /// use aeroguard_consensus::redis::RedisOptions;
    /// let o = RedisOptions::sentinel(&["127.0.0.1:26379"], "aeroguard")
    ///     .with_session_timeout(Duration::from_secs(4))
    ///     .with_max_replica_lag(Duration::from_secs(10));
    /// assert_eq!(o.quiet_period(), Duration::from_secs(15));
    /// ```
    pub fn with_max_replica_lag(mut self, lag: Duration) -> Self {
        self.max_replica_lag = lag;
        self
    }

    /// How long no lease is granted after a Sentinel failover: `T + max_replica_lag + 1 s`.
    pub fn quiet_period(&self) -> Duration {
        self.session.timeout + self.max_replica_lag + Duration::from_secs(1)
    }

    /// The session timeout in milliseconds, as scripts take it.
    pub(crate) fn ttl_ms(&self) -> u64 {
        u64::try_from(self.session.timeout.as_millis()).unwrap_or(u64::MAX)
    }
}

/// `host:port` as a `redis://` URL; URLs as they are.
fn with_scheme(s: &str) -> String {
    if s.contains("://") {
        s.to_string()
    } else {
        format!("redis://{s}")
    }
}
