//! Typed, versioned configuration with compare-and-set and watches.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use tokio::sync::mpsc;

use crate::{Error, Result};

/// A value with the version it was stored at. Versions start at 1 and grow by one per write of that key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Versioned<T> {
    /// The version.
    pub version: u64,
    /// The value.
    pub value: T,
}

/// What a compare-and-set expects to find.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Write whatever is there.
    Any,
    /// The key must not exist yet.
    Absent,
    /// The key must be at this version.
    Version(u64),
}

impl fmt::Display for Expect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expect::Any => f.write_str("any version"),
            Expect::Absent => f.write_str("no value"),
            Expect::Version(v) => write!(f, "version {v}"),
        }
    }
}

/// A stream of raw versions of one key; see [`ConfigStore::watch_raw`].
#[derive(Debug)]
pub struct RawConfigWatch {
    pub(crate) rx: mpsc::Receiver<Versioned<Vec<u8>>>,
}

impl RawConfigWatch {
    /// The next version: newer than the last one returned (intermediate versions may be skipped), or, after a
    /// Redis failover that lost writes, an older version number (or the same number with other bytes): the
    /// store rolled back, and what it holds now is in force.
    pub async fn next(&mut self) -> Option<Versioned<Vec<u8>>> {
        self.rx.recv().await
    }
}

/// The backend's byte-level store. Use it through [`Config`], which adds serde and validation.
#[async_trait]
pub trait ConfigStore: fmt::Debug + Send + Sync + 'static {
    /// The current value of `key`, if any.
    async fn get_raw(&self, key: &str) -> Result<Option<Versioned<Vec<u8>>>>;

    /// Writes `value` if the key is as `expect` says, returning the new version; [`Error::Conflict`] otherwise.
    async fn set_raw(&self, key: &str, value: Vec<u8>, expect: Expect) -> Result<u64>;

    /// Watches `key`: the current value first (if any), then each newer version. A watcher always ends on the
    /// latest version, though it may skip intermediate ones. A store that rolled back (a lossy Redis failover)
    /// is reported as it now is, so the writes after a rollback are seen although they reuse version numbers.
    async fn watch_raw(&self, key: &str) -> Result<RawConfigWatch>;
}

type Validator<T> = Arc<dyn Fn(&T) -> std::result::Result<(), String> + Send + Sync>;

/// A typed view of one configuration key: JSON on the wire, validated on read.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use aeroguard_consensus::{Config, Coordinator, Expect, memory::MemoryCluster};
/// #[derive(serde::Serialize, serde::Deserialize, Clone, Debug, PartialEq)]
/// struct Sampling { period_ms: u64 }
///
/// let node = MemoryCluster::new().connect("n1".parse()?)?;
/// let cfg = Config::<Sampling>::new(node.config(), "sampling")?
///     .with_validator(|s| if s.period_ms >= 10 { Ok(()) } else { Err("period_ms below 10".into()) });
/// let v1 = cfg.set(&Sampling { period_ms: 500 }, Expect::Absent).await?;
/// assert_eq!(cfg.get().await?.unwrap().value.period_ms, 500);
/// assert!(cfg.set(&Sampling { period_ms: 5 }, Expect::Version(v1)).await.is_err()); // fails validation
/// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
/// ```
pub struct Config<T> {
    store: Arc<dyn ConfigStore>,
    key: String,
    validator: Option<Validator<T>>,
    _t: PhantomData<fn() -> T>,
}

impl<T> Clone for Config<T> {
    fn clone(&self) -> Self {
        Config {
            store: self.store.clone(),
            key: self.key.clone(),
            validator: self.validator.clone(),
            _t: PhantomData,
        }
    }
}

impl<T> fmt::Debug for Config<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("key", &self.key)
            .field("store", &self.store)
            .finish()
    }
}

/// One step of a [`ConfigWatch`].
#[derive(Debug, Clone, PartialEq)]
pub enum ConfigEvent<T> {
    /// A new version decoded and validated: it is now in force.
    Applied(Versioned<T>),
    /// A new version failed to decode or validate: the previous good value stays in force.
    Rejected {
        /// The rejected version.
        version: u64,
        /// Why ([`Error::Invalid`]).
        error: Error,
    },
}

impl<T: Serialize + DeserializeOwned + Send + Sync + 'static> Config<T> {
    /// A typed view of `key` in `store`.
    pub fn new(store: Arc<dyn ConfigStore>, key: &str) -> Result<Self> {
        crate::error::check_name("config key", key)?;
        Ok(Config {
            store,
            key: key.to_string(),
            validator: None,
            _t: PhantomData,
        })
    }

    /// Adds a check every value must pass, on write and on read.
    pub fn with_validator(
        mut self,
        check: impl Fn(&T) -> std::result::Result<(), String> + Send + Sync + 'static,
    ) -> Self {
        self.validator = Some(Arc::new(check));
        self
    }

    /// The key.
    pub fn key(&self) -> &str {
        &self.key
    }

    fn decode(&self, raw: Versioned<Vec<u8>>) -> Result<Versioned<T>> {
        let invalid = |reason: String| Error::Invalid {
            what: "config",
            key: self.key.clone(),
            version: raw.version,
            reason,
        };
        let value: T = serde_json::from_slice(&raw.value).map_err(|e| invalid(e.to_string()))?;
        if let Some(check) = &self.validator {
            check(&value).map_err(invalid)?;
        }
        Ok(Versioned {
            version: raw.version,
            value,
        })
    }

    /// The current value, decoded and validated ([`Error::Invalid`] if it does not).
    pub async fn get(&self) -> Result<Option<Versioned<T>>> {
        match self.store.get_raw(&self.key).await? {
            Some(raw) => self.decode(raw).map(Some),
            None => Ok(None),
        }
    }

    /// Validates and writes `value` if the key is as `expect` says; returns the new version.
    pub async fn set(&self, value: &T, expect: Expect) -> Result<u64> {
        if let Some(check) = &self.validator {
            check(value).map_err(|reason| Error::Invalid {
                what: "config",
                key: self.key.clone(),
                version: 0,
                reason,
            })?;
        }
        let bytes = serde_json::to_vec(value).map_err(|e| Error::Invalid {
            what: "config",
            key: self.key.clone(),
            version: 0,
            reason: e.to_string(),
        })?;
        self.store.set_raw(&self.key, bytes, expect).await
    }

    /// Watches the key; see [`ConfigWatch`].
    pub async fn watch(&self) -> Result<ConfigWatch<T>> {
        Ok(ConfigWatch {
            config: self.clone(),
            raw: self.store.watch_raw(&self.key).await?,
            current: None,
        })
    }
}

/// Typed versions of one key as they arrive, keeping the last good value in force.
#[derive(Debug)]
pub struct ConfigWatch<T> {
    config: Config<T>,
    raw: RawConfigWatch,
    current: Option<Versioned<T>>,
}

impl<T: Serialize + DeserializeOwned + Clone + Send + Sync + 'static> ConfigWatch<T> {
    /// The next version: applied, or rejected with the reason (the previous value then stays current).
    pub async fn next(&mut self) -> Option<ConfigEvent<T>> {
        let raw = self.raw.next().await?;
        let version = raw.version;
        Some(match self.config.decode(raw) {
            Ok(v) => {
                self.current = Some(v.clone());
                ConfigEvent::Applied(v)
            }
            Err(error) => ConfigEvent::Rejected { version, error },
        })
    }

    /// The last good value, the one in force.
    pub fn current(&self) -> Option<&Versioned<T>> {
        self.current.as_ref()
    }
}
