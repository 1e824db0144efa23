//! Coordination with Kazoo's conventions: a client (a context manager) per node, blocking calls run on the
//! bindings' runtime with the GIL released, Ctrl-C interrupting them, watches calling back on threads of their
//! own.

use std::sync::Arc;

use parking_lot::Mutex;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::ints::{Int, opt};
use crate::runtime::{block, runtime, seconds};
use aeroguard_consensus::{Coordinator, Expect};

use crate::election::Election;
use crate::queue::Queue;
use crate::round::{RoundFollower, RoundLeader, round_options};
use crate::runtime::{Callbacks, memory};
use crate::watch::{Registration, Watch};

mod connect;

pub(crate) use connect::{Conn, Pending};
use connect::{ZkLogins, zk_options};

/// One node's connection to a coordination backend. Use it as a context manager.
#[pyclass(module = "aeroguard")]
pub struct Client {
    conn: std::sync::OnceLock<Conn>,
    pub(crate) pending: Mutex<Option<Pending>>,
}

impl Client {
    /// The session, or `CoordinationError` for a client made with `connect=False` and not started yet.
    pub(crate) fn coord(&self) -> PyResult<Arc<dyn Coordinator>> {
        self.conn.get().map(|c| c.inner.clone()).ok_or_else(|| {
            crate::errors::CoordinationError::new_err(
                "the client is not started: it was made with connect=False, call start() first",
            )
        })
    }

    /// The concrete coordinator of a started Redis client, for its history store.
    pub(crate) fn redis(&self) -> Option<Arc<aeroguard_consensus::redis::RedisCoordinator>> {
        self.conn.get().and_then(|c| c.redis.clone())
    }

    /// Keeps the session a start opened (a client started twice at once keeps the first).
    pub(crate) fn started(&self, conn: Conn) {
        if self.conn.set(conn).is_ok() {
            self.pending.lock().take();
        }
    }
}

#[pymethods]
impl Client {
    /// `backend` is `"memory"` (shared by the clients of this process), `"zookeeper"` (`hosts`; `zk_auth`, the
    /// cluster's digest credential `user:password`; `zk_node_auth`, this node's own; `zk_members`, the roster
    /// `{node: "digest:user:hash" | "sasl:user"}` whose identities alone count in elections and rounds;
    /// `zk_sasl`, a shared SASL login `user:password` that opens the session on an ensemble that admits SASL
    /// logins only; `zk_node_sasl`, in its place, this node's own SASL login, whose identity `sasl:user` alone
    /// writes its candidacies and answers, which no other member can then withdraw) or `"redis"` (`url`, or
    /// `sentinels` and `master`; `redis_auth` and `sentinel_auth`, ACL users as `user:password`; `redis_ca`,
    /// the path of the CA certificate (PEM) for TLS to servers and Sentinels, with `redis_cert` and `redis_key`
    /// the paths of this client's certificate and key for servers that authenticate clients by certificate;
    /// `redis_prefix`, the prefix of every key (default `aeroguard`: an ACL user limited to `~other:*` works
    /// under `other`); `min_replicas`, the replicas each write must reach within `replica_timeout` seconds
    /// (Redis `WAIT`), else `NotReplicatedError`; `election_authority`, for a login that may not write
    /// elections: an `ElectionAuthority` runs them). `zk_root` is the ZooKeeper root znode (default
    /// `/aeroguard`). With `connect=False` nothing is opened until `start()` (as Kazoo's client), or `await
    /// start_async()` from asyncio (`aeroguard.aio`).
    #[new]
    #[pyo3(signature = (backend = "memory", *, node, hosts = None, url = None, sentinels = None, master = "aeroguard", session_timeout = 4.0, zk_auth = None, zk_node_auth = None, zk_members = None, zk_sasl = None, zk_node_sasl = None, zk_root = None, redis_auth = None, sentinel_auth = None, redis_ca = None, redis_cert = None, redis_key = None, redis_prefix = None, min_replicas = 0, replica_timeout = 1.0, election_authority = false, connect = true))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        backend: &str,
        node: &str,
        hosts: Option<String>,
        url: Option<String>,
        sentinels: Option<Vec<String>>,
        master: &str,
        session_timeout: f64,
        zk_auth: Option<String>,
        zk_node_auth: Option<String>,
        zk_members: Option<std::collections::BTreeMap<String, String>>,
        zk_sasl: Option<String>,
        zk_node_sasl: Option<String>,
        zk_root: Option<String>,
        redis_auth: Option<String>,
        sentinel_auth: Option<String>,
        redis_ca: Option<String>,
        redis_cert: Option<String>,
        redis_key: Option<String>,
        redis_prefix: Option<String>,
        min_replicas: u32,
        replica_timeout: f64,
        election_authority: bool,
        connect: bool,
    ) -> crate::errors::Result<Self> {
        let session = seconds("session_timeout", session_timeout)?;
        if session.is_zero() {
            return Err(crate::errors::value_error("session_timeout must be above zero"));
        }
        let id = node
            .parse()
            .map_err(|e: aeroguard_core::Error| PyValueError::new_err(e.to_string()))?;
        let pending = match backend {
            "memory" => {
                let options = aeroguard_consensus::SessionOptions::new(session).with_grace(session * 3 / 10);
                let cluster = memory()?;
                let _inside = runtime()?.enter();
                let client = Client {
                    conn: std::sync::OnceLock::new(),
                    pending: Mutex::new(None),
                };
                client.started(Conn {
                    inner: cluster.connect_with(id, options)?,
                    redis: None,
                });
                return Ok(client);
            }
            "zookeeper" => {
                let logins = ZkLogins {
                    auth: zk_auth,
                    node_auth: zk_node_auth,
                    members: zk_members,
                    sasl: zk_sasl,
                    node_sasl: zk_node_sasl,
                };
                let mut options = zk_options(hosts, session, logins)?;
                if let Some(root) = zk_root {
                    options = options.with_root(root);
                }
                Pending::ZooKeeper(id, options)
            }
            "redis" => {
                let mut options = crate::redis_args::RedisArgs {
                    url,
                    sentinels,
                    master: master.to_string(),
                    session,
                    auth: redis_auth,
                    sentinel_auth,
                    ca: redis_ca,
                    cert: redis_cert,
                    key: redis_key,
                    prefix: redis_prefix,
                    min_replicas,
                    replica_timeout,
                }
                .options()?;
                if election_authority {
                    options = options.with_election_authority();
                }
                Pending::Redis(id, options)
            }
            other => {
                return Err(crate::errors::value_error(format!(
                    "unknown backend {other:?}: memory, zookeeper or redis"
                )));
            }
        };
        let client = Client {
            conn: std::sync::OnceLock::new(),
            pending: Mutex::new(Some(pending)),
        };
        if connect {
            client.start(py)?;
        }
        Ok(client)
    }

    /// Opens the session of a client made with `connect=False` (nothing to do once started).
    fn start(&self, py: Python<'_>) -> crate::errors::Result<()> {
        let Some(pending) = self.pending.lock().clone() else {
            return Ok(());
        };
        self.started(block(py, pending.connect())??);
        Ok(())
    }

    /// The node this client speaks for.
    #[getter]
    fn node(&self) -> String {
        match (self.conn.get(), &*self.pending.lock()) {
            (Some(c), _) => c.inner.node().to_string(),
            (None, Some(Pending::ZooKeeper(id, _) | Pending::Redis(id, _))) => id.to_string(),
            (None, None) => String::new(),
        }
    }

    /// `"memory"`, `"zookeeper"` or `"redis"`.
    #[getter]
    fn backend(&self) -> &'static str {
        match (self.conn.get(), &*self.pending.lock()) {
            (Some(c), _) => c.inner.backend(),
            (None, Some(Pending::ZooKeeper(..))) => "zookeeper",
            (None, _) => "redis",
        }
    }

    /// The election called `name`.
    fn election(&self, name: &str) -> crate::errors::Result<Election> {
        let client = self.coord()?;
        client.election(name)?;
        Ok(Election {
            client,
            name: name.to_string(),
        })
    }

    /// The queue called `name`. An item delivered `max_deliveries` times without an ack moves to the queue
    /// `"<name>.dead"` on its next take (`None`: no limit).
    #[pyo3(signature = (name, max_deliveries = 16))]
    fn queue(&self, name: &str, max_deliveries: Option<u32>) -> crate::errors::Result<Queue> {
        let options = match max_deliveries {
            Some(0) => {
                return Err(crate::errors::value_error(
                    "max_deliveries: must be at least 1 (None: no limit)",
                ));
            }
            Some(n) => aeroguard_consensus::QueueOptions::max_deliveries(n),
            None => aeroguard_consensus::QueueOptions::unlimited(),
        };
        Ok(Queue {
            inner: self.coord()?.queue_with(name, options)?,
        })
    }

    /// Registers this node in `service` with a JSON-serialisable payload; dropping the registration (or closing
    /// the client) removes it.
    #[pyo3(signature = (service, payload = None))]
    fn register(
        &self,
        py: Python<'_>,
        service: &str,
        payload: Option<&str>,
    ) -> crate::errors::Result<Registration> {
        let payload: serde_json::Value = match payload {
            Some(p) => serde_json::from_str(p).map_err(|e| PyValueError::new_err(format!("payload: {e}")))?,
            None => serde_json::Value::Null,
        };
        let registry = self.coord()?.registry();
        let service = service.to_string();
        let r = block(py, async move { registry.register(&service, payload).await })??;
        Ok(Registration {
            inner: Mutex::new(Some(r)),
        })
    }

    /// The live nodes of `service`, with their payloads as JSON text.
    fn instances(&self, py: Python<'_>, service: &str) -> crate::errors::Result<Vec<(String, String)>> {
        let registry = self.coord()?.registry();
        let service = service.to_string();
        let all = block(py, async move { registry.instances(&service).await })??;
        Ok(all
            .into_iter()
            .map(|i| (i.node.to_string(), i.payload.to_string()))
            .collect())
    }

    /// Calls `callback(nodes: list[str])` with the membership of `service` now and after every change, from a
    /// background thread, until the returned watch is stopped.
    fn watch_members(
        &self,
        py: Python<'_>,
        service: &str,
        callback: Py<PyAny>,
    ) -> crate::errors::Result<Watch> {
        let registry = self.coord()?.registry();
        let service = service.to_string();
        let mut watch = block(py, async move { registry.watch(&service).await })??;
        let calls = Callbacks::start("members", move |py, nodes: Vec<String>| {
            callback.call1(py, (nodes,)).map(drop)
        })?;
        let task = runtime()?.spawn(async move {
            while let Some(m) = watch.next().await {
                if !calls.send(m.nodes().iter().map(|n| n.to_string()).collect()) {
                    return;
                }
            }
        });
        Ok(Watch { task: Some(task) })
    }

    /// The current `(version, value)` of config `key` (bytes), or None.
    fn get_config(&self, py: Python<'_>, key: &str) -> crate::errors::Result<Option<(u64, Py<PyBytes>)>> {
        let store = self.coord()?.config();
        let key = key.to_string();
        let v = block(py, async move { store.get_raw(&key).await })??;
        Ok(v.map(|v| (v.version, PyBytes::new(py, &v.value).unbind())))
    }

    /// Writes config `key` if it is at `version` (`None`: any version, `0`: must not exist yet); returns the
    /// new version. `ConflictError` otherwise.
    #[pyo3(signature = (key, value, version = None))]
    fn set_config(
        &self,
        py: Python<'_>,
        key: &str,
        value: Vec<u8>,
        version: Option<Int<u64>>,
    ) -> crate::errors::Result<u64> {
        let version = opt(version);
        let expect = match version {
            None => Expect::Any,
            Some(0) => Expect::Absent,
            Some(v) => Expect::Version(v),
        };
        let store = self.coord()?.config();
        let key = key.to_string();
        Ok(block(
            py,
            async move { store.set_raw(&key, value, expect).await },
        )??)
    }

    /// Calls `callback(version, value: bytes)` for the current value of `key` and every newer one, from a
    /// background thread, until the returned watch is stopped.
    fn watch_config(&self, py: Python<'_>, key: &str, callback: Py<PyAny>) -> crate::errors::Result<Watch> {
        let store = self.coord()?.config();
        let key = key.to_string();
        let mut watch = block(py, async move { store.watch_raw(&key).await })??;
        let calls = Callbacks::start("config", move |py, (version, value): (u64, Vec<u8>)| {
            callback.call1(py, (version, PyBytes::new(py, &value))).map(drop)
        })?;
        let task = runtime()?.spawn(async move {
            while let Some(v) = watch.next().await {
                if !calls.send((v.version, v.value)) {
                    return;
                }
            }
        });
        Ok(Watch { task: Some(task) })
    }

    /// The leader's side of round `name` among the registered members of `service`: collects answers for up to
    /// `deadline` seconds until `quorum` ("majority", "all" or a count) answered.
    #[pyo3(signature = (name, service, *, deadline = 1.0, quorum = "majority"))]
    fn round_leader(
        &self,
        name: &str,
        service: &str,
        deadline: f64,
        quorum: &str,
    ) -> crate::errors::Result<RoundLeader> {
        let options = round_options(name, service, deadline, quorum)?;
        let inner = aeroguard_consensus::round::RoundLeader::new(self.coord()?, options)?;
        Ok(RoundLeader {
            inner: Arc::new(inner),
            unattested: Default::default(),
        })
    }

    /// A follower's side of round `name`.
    #[pyo3(signature = (name, service))]
    fn round_follower(
        &self,
        py: Python<'_>,
        name: &str,
        service: &str,
    ) -> crate::errors::Result<RoundFollower> {
        let options = round_options(name, service, 1.0, "majority")?;
        let c = self.coord()?;
        let f = block(py, async move {
            aeroguard_consensus::round::RoundFollower::new(c, &options).await
        })??;
        Ok(RoundFollower {
            inner: Arc::new(tokio::sync::Mutex::new(f)),
            last: Mutex::new(None),
        })
    }

    /// Closes the session: its registrations, leadership and claims go at once (a client never started has
    /// nothing to close).
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let Some(c) = self.conn.get().map(|c| c.inner.clone()) else {
            return Ok(());
        };
        block(py, async move { c.close().await })
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __exit__(&self, py: Python<'_>, _t: Py<PyAny>, _v: Py<PyAny>, _tb: Py<PyAny>) -> PyResult<bool> {
        self.close(py)?;
        Ok(false)
    }
}
