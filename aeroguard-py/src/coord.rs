//! Coordination with Kazoo's conventions: a client (a context manager) per node, blocking calls run on a
//! runtime owned by the bindings with the GIL released, Ctrl-C interrupting them, watches calling back.

use std::future::Future;
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;
use std::time::Duration;

use aeroguard_consensus::memory::MemoryCluster;
use aeroguard_consensus::redis::{RedisCoordinator, RedisOptions};
use aeroguard_consensus::zookeeper::{ZkCoordinator, ZkOptions};
use aeroguard_consensus::{Coordinator, Delivery as RsDelivery, Expect, Leadership as RsLeadership};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::errors;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("aeroguard")
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("cannot start the AeroGuard runtime: {e}"))
    })
}

/// Seconds from Python as a duration: a negative, NaN or enormous value is a `ValueError`, not a panic.
fn seconds(what: &str, v: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(v)
        .map_err(|_| PyValueError::new_err(format!("{what} = {v}: not a usable number of seconds")))
}

fn maybe_seconds(what: &str, v: Option<f64>) -> PyResult<Option<Duration>> {
    v.map(|v| seconds(what, v)).transpose()
}

/// The memory cluster every `Client("memory")` of this process shares.
fn memory() -> &'static MemoryCluster {
    static CLUSTER: OnceLock<MemoryCluster> = OnceLock::new();
    CLUSTER.get_or_init(|| {
        let _inside = runtime().enter();
        MemoryCluster::new()
    })
}

/// Runs `fut` on the runtime without the GIL, checking for Ctrl-C every 50 ms.
fn block<T: Send, F: Future<Output = T> + Send>(py: Python<'_>, fut: F) -> PyResult<T> {
    let mut fut = Box::pin(fut);
    loop {
        let step = py.detach(|| {
            runtime().block_on(async { tokio::time::timeout(Duration::from_millis(50), &mut fut).await })
        });
        match step {
            Ok(v) => return Ok(v),
            Err(_) => py.check_signals()?,
        }
    }
}

/// One node's connection to a coordination backend. Use it as a context manager.
#[pyclass(module = "aeroguard")]
pub struct Client {
    inner: Arc<dyn Coordinator>,
}

#[pymethods]
impl Client {
    /// `backend` is `"memory"` (shared by the clients of this process), `"zookeeper"` (`hosts`) or `"redis"`
    /// (`url`, or `sentinels` and `master`).
    #[new]
    #[pyo3(signature = (backend = "memory", *, node, hosts = None, url = None, sentinels = None, master = "aeroguard", session_timeout = 4.0))]
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
    ) -> PyResult<Self> {
        let session = seconds("session_timeout", session_timeout)?;
        if session.is_zero() {
            return Err(PyValueError::new_err("session_timeout must be above zero"));
        }
        let id = node
            .parse()
            .map_err(|e: aeroguard_core::Error| PyValueError::new_err(e.to_string()))?;
        let inner: Arc<dyn Coordinator> = match backend {
            "memory" => {
                let options = aeroguard_consensus::memory::MemoryOptions {
                    session_timeout: session,
                    grace: session * 3 / 10,
                };
                let cluster = memory();
                let _inside = runtime().enter();
                cluster.connect_with(id, options).map_err(errors::consensus)?
            }
            "zookeeper" => {
                let hosts = hosts.unwrap_or_else(|| "127.0.0.1:2181".into());
                let options = ZkOptions::new(hosts).with_session_timeout(session);
                block(py, ZkCoordinator::connect(id, options))?.map_err(errors::consensus)?
            }
            "redis" => {
                let options = match (url, sentinels) {
                    (Some(u), None) => RedisOptions::direct(u),
                    (None, Some(s)) => {
                        let refs: Vec<&str> = s.iter().map(String::as_str).collect();
                        RedisOptions::sentinel(&refs, master)
                    }
                    (None, None) => RedisOptions::direct("redis://127.0.0.1:6379"),
                    (Some(_), Some(_)) => {
                        return Err(PyValueError::new_err("give url or sentinels, not both"));
                    }
                }
                .with_session_timeout(session);
                block(py, RedisCoordinator::connect(id, options))?.map_err(errors::consensus)?
            }
            other => {
                return Err(PyValueError::new_err(format!(
                    "unknown backend {other:?}: memory, zookeeper or redis"
                )));
            }
        };
        Ok(Client { inner })
    }

    /// The node this client speaks for.
    #[getter]
    fn node(&self) -> String {
        self.inner.node().to_string()
    }

    /// `"memory"`, `"zookeeper"` or `"redis"`.
    #[getter]
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    /// The election called `name`.
    fn election(&self, name: &str) -> PyResult<Election> {
        self.inner.election(name).map_err(errors::consensus)?;
        Ok(Election {
            client: self.inner.clone(),
            name: name.to_string(),
        })
    }

    /// The queue called `name`.
    fn queue(&self, name: &str) -> PyResult<Queue> {
        Ok(Queue {
            inner: self.inner.queue(name).map_err(errors::consensus)?,
        })
    }

    /// Registers this node in `service` with a JSON-serialisable payload; dropping the registration (or closing
    /// the client) removes it.
    #[pyo3(signature = (service, payload = None))]
    fn register(&self, py: Python<'_>, service: &str, payload: Option<&str>) -> PyResult<Registration> {
        let payload: serde_json::Value = match payload {
            Some(p) => serde_json::from_str(p).map_err(|e| PyValueError::new_err(format!("payload: {e}")))?,
            None => serde_json::Value::Null,
        };
        let registry = self.inner.registry();
        let service = service.to_string();
        let r = block(py, async move { registry.register(&service, payload).await })?
            .map_err(errors::consensus)?;
        Ok(Registration {
            inner: Mutex::new(Some(r)),
        })
    }

    /// The live nodes of `service`, with their payloads as JSON text.
    fn instances(&self, py: Python<'_>, service: &str) -> PyResult<Vec<(String, String)>> {
        let registry = self.inner.registry();
        let service = service.to_string();
        let all = block(py, async move { registry.instances(&service).await })?.map_err(errors::consensus)?;
        Ok(all
            .into_iter()
            .map(|i| (i.node.to_string(), i.payload.to_string()))
            .collect())
    }

    /// Calls `callback(nodes: list[str])` with the membership of `service` now and after every change, from a
    /// background thread, until the returned watch is stopped.
    fn watch_members(&self, py: Python<'_>, service: &str, callback: Py<PyAny>) -> PyResult<Watch> {
        let registry = self.inner.registry();
        let service = service.to_string();
        let mut watch =
            block(py, async move { registry.watch(&service).await })?.map_err(errors::consensus)?;
        let task = runtime().spawn(async move {
            while let Some(m) = watch.next().await {
                let nodes: Vec<String> = m.nodes().iter().map(|n| n.to_string()).collect();
                Python::attach(|py| {
                    if let Err(e) = callback.call1(py, (nodes,)) {
                        e.write_unraisable(py, None);
                    }
                });
            }
        });
        Ok(Watch { task: Some(task) })
    }

    /// The current `(version, value)` of config `key` (bytes), or None.
    fn get_config(&self, py: Python<'_>, key: &str) -> PyResult<Option<(u64, Py<PyBytes>)>> {
        let store = self.inner.config();
        let key = key.to_string();
        let v = block(py, async move { store.get_raw(&key).await })?.map_err(errors::consensus)?;
        Ok(v.map(|v| (v.version, PyBytes::new(py, &v.value).unbind())))
    }

    /// Writes config `key` if it is at `version` (`None`: any version, `0`: must not exist yet); returns the
    /// new version. `ConflictError` otherwise.
    #[pyo3(signature = (key, value, version = None))]
    fn set_config(&self, py: Python<'_>, key: &str, value: Vec<u8>, version: Option<u64>) -> PyResult<u64> {
        let expect = match version {
            None => Expect::Any,
            Some(0) => Expect::Absent,
            Some(v) => Expect::Version(v),
        };
        let store = self.inner.config();
        let key = key.to_string();
        block(py, async move { store.set_raw(&key, value, expect).await })?.map_err(errors::consensus)
    }

    /// Calls `callback(version, value: bytes)` for the current value of `key` and every newer one, from a
    /// background thread, until the returned watch is stopped.
    fn watch_config(&self, py: Python<'_>, key: &str, callback: Py<PyAny>) -> PyResult<Watch> {
        let store = self.inner.config();
        let key = key.to_string();
        let mut watch = block(py, async move { store.watch_raw(&key).await })?.map_err(errors::consensus)?;
        let task = runtime().spawn(async move {
            while let Some(v) = watch.next().await {
                Python::attach(|py| {
                    if let Err(e) = callback.call1(py, (v.version, PyBytes::new(py, &v.value))) {
                        e.write_unraisable(py, None);
                    }
                });
            }
        });
        Ok(Watch { task: Some(task) })
    }

    /// The leader's side of round `name` among the registered members of `service`: collects answers for up to
    /// `deadline` seconds until `quorum` ("majority", "all" or a count) answered.
    #[pyo3(signature = (name, service, *, deadline = 1.0, quorum = "majority"))]
    fn round_leader(&self, name: &str, service: &str, deadline: f64, quorum: &str) -> PyResult<RoundLeader> {
        let options = round_options(name, service, deadline, quorum)?;
        let inner = aeroguard_consensus::round::RoundLeader::new(self.inner.clone(), options)
            .map_err(errors::consensus)?;
        Ok(RoundLeader {
            inner: Arc::new(inner),
        })
    }

    /// A follower's side of round `name`.
    #[pyo3(signature = (name, service))]
    fn round_follower(&self, py: Python<'_>, name: &str, service: &str) -> PyResult<RoundFollower> {
        let options = round_options(name, service, 1.0, "majority")?;
        let c = self.inner.clone();
        let f = block(py, async move {
            aeroguard_consensus::round::RoundFollower::new(c, &options).await
        })?
        .map_err(errors::consensus)?;
        Ok(RoundFollower {
            inner: Arc::new(tokio::sync::Mutex::new(f)),
            last: Mutex::new(None),
        })
    }

    /// Closes the session: its registrations, leadership and claims go at once.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let c = self.inner.clone();
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

/// A registration; `close()` (or dropping it) deregisters.
#[pyclass(module = "aeroguard")]
pub struct Registration {
    inner: Mutex<Option<aeroguard_consensus::Registration>>,
}

#[pymethods]
impl Registration {
    /// Deregisters now.
    fn close(&self) {
        let r = self.inner.lock().take();
        if let Some(r) = r {
            let _guard = runtime().enter();
            drop(r);
        }
    }
}

/// A running watch; `stop()` ends it.
#[pyclass(module = "aeroguard")]
pub struct Watch {
    task: Option<tokio::task::JoinHandle<()>>,
}

#[pymethods]
impl Watch {
    /// Stops calling back.
    fn stop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

/// An election; see `Client.election`.
#[pyclass(module = "aeroguard")]
pub struct Election {
    client: Arc<dyn Coordinator>,
    name: String,
}

#[pymethods]
impl Election {
    /// Campaigns until elected (or `timeout` seconds pass: `TimeoutError`); Ctrl-C interrupts.
    #[pyo3(signature = (timeout = None))]
    fn campaign(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Leadership> {
        let e = self.client.election(&self.name).map_err(errors::consensus)?;
        let limit = maybe_seconds("timeout", timeout)?;
        let won = block(py, async move {
            match limit {
                Some(t) => tokio::time::timeout(t, e.campaign()).await.map_err(|_| {
                    aeroguard_consensus::Error::Timeout {
                        operation: "campaign",
                        after: t,
                    }
                })?,
                None => e.campaign().await,
            }
        })?
        .map_err(errors::consensus)?;
        Ok(Leadership {
            inner: Mutex::new(Some(won)),
        })
    }

    /// Kazoo's `run`: campaigns, calls `func(*args)` as leader, resigns, returns what `func` returned.
    #[pyo3(signature = (func, *args))]
    fn run(
        &self,
        py: Python<'_>,
        func: Py<PyAny>,
        args: Bound<'_, pyo3::types::PyTuple>,
    ) -> PyResult<Py<PyAny>> {
        let lead = self.campaign(py, None)?;
        let out = func.call1(py, args);
        lead.resign(py)?;
        out
    }

    /// Every candidate, the leader first.
    fn contenders(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        let e = self.client.election(&self.name).map_err(errors::consensus)?;
        let all = block(py, async move { e.contenders().await })?.map_err(errors::consensus)?;
        Ok(all.into_iter().map(|n| n.to_string()).collect())
    }

    /// The current leader, if any.
    fn leader(&self, py: Python<'_>) -> PyResult<Option<String>> {
        let e = self.client.election(&self.name).map_err(errors::consensus)?;
        let l = block(py, async move { e.leader().await })?.map_err(errors::consensus)?;
        Ok(l.map(|n| n.to_string()))
    }
}

/// A term of leadership with its fencing token.
#[pyclass(module = "aeroguard")]
pub struct Leadership {
    inner: Mutex<Option<RsLeadership>>,
}

#[pymethods]
impl Leadership {
    /// The fencing token: pass it with every write made as leader.
    #[getter]
    fn token(&self) -> PyResult<u64> {
        let g = self.inner.lock();
        g.as_ref()
            .map(|l| l.token().0)
            .ok_or_else(|| errors::LeadershipLostError::new_err("resigned"))
    }

    /// Whether the leadership can still be trusted.
    fn is_trusted(&self) -> bool {
        self.inner.lock().as_ref().is_some_and(|l| l.is_trusted())
    }

    /// The token, or `LeadershipLostError` if the leadership is no longer trusted.
    fn ensure(&self) -> PyResult<u64> {
        let g = self.inner.lock();
        match g.as_ref() {
            Some(l) => l.ensure().map(|t| t.0).map_err(errors::consensus),
            None => Err(errors::LeadershipLostError::new_err("resigned")),
        }
    }

    /// Steps down now.
    fn resign(&self, py: Python<'_>) -> PyResult<()> {
        let l = self.inner.lock().take();
        match l {
            Some(l) => block(py, async move { l.resign().await })?.map_err(errors::consensus),
            None => Ok(()),
        }
    }
}

/// A queue with at-least-once delivery.
#[pyclass(module = "aeroguard")]
pub struct Queue {
    inner: Arc<dyn aeroguard_consensus::Queue>,
}

#[pymethods]
impl Queue {
    /// Appends an item.
    fn put(&self, py: Python<'_>, item: Vec<u8>) -> PyResult<()> {
        let q = self.inner.clone();
        block(py, async move { q.put(item).await })?.map_err(errors::consensus)
    }

    /// Takes the oldest item, waiting up to `timeout` seconds (forever with None): `TimeoutError` if none.
    /// Ack the delivery, or it comes back.
    #[pyo3(signature = (timeout = None))]
    fn get(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Delivery> {
        let q = self.inner.clone();
        let t = maybe_seconds("timeout", timeout)?;
        let d = block(py, async move { q.take(t).await })?.map_err(errors::consensus)?;
        Ok(Delivery {
            inner: Mutex::new(Some(d)),
        })
    }

    fn __len__(&self, py: Python<'_>) -> PyResult<usize> {
        let q = self.inner.clone();
        block(py, async move { q.len().await })?.map_err(errors::consensus)
    }
}

/// A taken item; `ack()` removes it for good.
#[pyclass(module = "aeroguard")]
pub struct Delivery {
    inner: Mutex<Option<RsDelivery>>,
}

#[pymethods]
impl Delivery {
    /// The item's bytes.
    #[getter]
    fn payload<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let g = self.inner.lock();
        let d = g.as_ref().ok_or_else(|| PyValueError::new_err("already acked"))?;
        Ok(PyBytes::new(py, d.payload()))
    }

    /// Removes the item.
    fn ack(&self, py: Python<'_>) -> PyResult<()> {
        let d = self.inner.lock().take();
        match d {
            Some(d) => block(py, async move { d.ack().await })?.map_err(errors::consensus),
            None => Err(PyValueError::new_err("already acked")),
        }
    }
}

impl Drop for Delivery {
    fn drop(&mut self) {
        let d = self.inner.lock().take();
        if let Some(d) = d {
            let _guard = runtime().enter();
            drop(d);
        }
    }
}

/// What `RoundLeader.run` returns: round, token, answers (node, JSON), missing nodes, quorum reached.
type RoundOutcome = (u64, u64, Vec<(String, String)>, Vec<String>, bool);

/// The leader's side of rounds (values are JSON text).
#[pyclass(module = "aeroguard")]
pub struct RoundLeader {
    inner: Arc<aeroguard_consensus::round::RoundLeader<serde_json::Value>>,
}

/// A follower's side of rounds.
#[pyclass(module = "aeroguard")]
pub struct RoundFollower {
    inner: Arc<tokio::sync::Mutex<aeroguard_consensus::round::RoundFollower<serde_json::Value>>>,
    last: Mutex<Option<aeroguard_consensus::round::Announcement>>,
}

fn round_options(
    name: &str,
    service: &str,
    deadline: f64,
    quorum: &str,
) -> PyResult<aeroguard_consensus::round::RoundOptions> {
    use aeroguard_consensus::round::{Quorum, RoundOptions};
    let deadline = seconds("deadline", deadline)?;
    if deadline.is_zero() {
        return Err(PyValueError::new_err("deadline must be above zero"));
    }
    let q =
        match quorum {
            "majority" => Quorum::Majority,
            "all" => Quorum::All,
            n => Quorum::AtLeast(n.parse().map_err(|_| {
                PyValueError::new_err(format!("quorum {n:?}: \"majority\", \"all\" or a count"))
            })?),
        };
    Ok(RoundOptions::new(name, service, deadline, q))
}

#[pymethods]
impl RoundLeader {
    /// Opens the next round under `leadership` and collects it: `(round, token, answers {node: json},
    /// missing [node], reached_quorum)`. `LeadershipLostError` or `FencedError` if a newer leader took over.
    fn run(&self, py: Python<'_>, leadership: &Leadership) -> PyResult<RoundOutcome> {
        let inner = self.inner.clone();
        let guard = leadership.inner.lock();
        let lead = guard
            .as_ref()
            .ok_or_else(|| errors::LeadershipLostError::new_err("resigned"))?;
        let r = block(py, inner.run(lead))?.map_err(errors::consensus)?;
        Ok((
            r.round,
            r.token.0,
            r.answered
                .into_iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            r.missing.into_iter().map(|n| n.to_string()).collect(),
            r.reached_quorum,
        ))
    }
}

#[pymethods]
impl RoundFollower {
    /// Waits for the next round: `(round, token, leader)`.
    #[pyo3(signature = (timeout = None))]
    fn next_round(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<(u64, u64, String)> {
        let inner = self.inner.clone();
        let limit = maybe_seconds("timeout", timeout)?;
        let a = block(py, async move {
            let mut f = inner.lock().await;
            match limit {
                Some(t) => tokio::time::timeout(t, f.next_round()).await.map_err(|_| {
                    aeroguard_consensus::Error::Timeout {
                        operation: "next round",
                        after: t,
                    }
                })?,
                None => f.next_round().await,
            }
        })?
        .map_err(errors::consensus)?;
        let out = (a.round, a.token.0, a.leader.to_string());
        *self.last.lock() = Some(a);
        Ok(out)
    }

    /// Hands in this node's answer (JSON text) for the round `next_round` returned last.
    fn submit(&self, py: Python<'_>, value: &str) -> PyResult<()> {
        let value: serde_json::Value =
            serde_json::from_str(value).map_err(|e| PyValueError::new_err(format!("value: {e}")))?;
        let a = self
            .last
            .lock()
            .clone()
            .ok_or_else(|| PyValueError::new_err("no round yet: call next_round() first"))?;
        let inner = self.inner.clone();
        block(py, async move { inner.lock().await.submit(&a, &value).await })?.map_err(errors::consensus)
    }
}
