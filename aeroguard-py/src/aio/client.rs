//! The client's awaitable twins.

use std::sync::Arc;

use parking_lot::Mutex;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use super::{AsyncWatch, Bytes, Event, awaitable};
use crate::client::Client;
use crate::ints::{Int, opt};
use crate::round::{RoundFollower, round_options};
use crate::watch::Registration;
use aeroguard_consensus::Expect;

#[pymethods]
impl Client {
    /// `start`, awaitable.
    fn start_async<'py>(slf: Py<Self>, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let pending = slf.borrow(py).pending.lock().clone();
        awaitable(py, async move {
            if let Some(p) = pending {
                let conn = p.connect().await?;
                Python::attach(|py| slf.borrow(py).started(conn));
            }
            Ok(())
        })
    }

    /// `register`, awaitable.
    #[pyo3(signature = (service, payload = None))]
    fn register_async<'py>(
        &self,
        py: Python<'py>,
        service: &str,
        payload: Option<&str>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let payload: serde_json::Value = match payload {
            Some(p) => serde_json::from_str(p).map_err(|e| PyValueError::new_err(format!("payload: {e}")))?,
            None => serde_json::Value::Null,
        };
        let (registry, service) = (self.coord()?.registry(), service.to_string());
        awaitable(py, async move {
            let r = registry.register(&service, payload).await?;
            Ok(Registration {
                inner: Mutex::new(Some(r)),
            })
        })
    }

    /// `instances`, awaitable.
    fn instances_async<'py>(&self, py: Python<'py>, service: &str) -> PyResult<Bound<'py, PyAny>> {
        let (registry, service) = (self.coord()?.registry(), service.to_string());
        awaitable(py, async move {
            let all = registry.instances(&service).await?;
            Ok(all
                .into_iter()
                .map(|i| (i.node.to_string(), i.payload.to_string()))
                .collect::<Vec<_>>())
        })
    }

    /// The membership of `service` now and after every change, as an async iterator of node lists.
    fn members_async(&self, service: &str) -> PyResult<AsyncWatch> {
        let (registry, service) = (self.coord()?.registry(), service.to_string());
        AsyncWatch::start(move |tx| async move {
            let mut watch = match registry.watch(&service).await {
                Ok(w) => w,
                Err(e) => {
                    let _ = tx.send(Err(e.into())).await;
                    return;
                }
            };
            while let Some(m) = watch.next().await {
                let nodes = m.nodes().iter().map(|n| n.to_string()).collect();
                if tx.send(Ok(Event::Members(nodes))).await.is_err() {
                    return;
                }
            }
        })
    }

    /// `get_config`, awaitable.
    fn get_config_async<'py>(&self, py: Python<'py>, key: &str) -> PyResult<Bound<'py, PyAny>> {
        let (store, key) = (self.coord()?.config(), key.to_string());
        awaitable(py, async move {
            let v = store.get_raw(&key).await?;
            Ok(v.map(|v| (v.version, Bytes(v.value))))
        })
    }

    /// `set_config`, awaitable.
    #[pyo3(signature = (key, value, version = None))]
    fn set_config_async<'py>(
        &self,
        py: Python<'py>,
        key: &str,
        value: Vec<u8>,
        version: Option<Int<u64>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let expect = match opt(version) {
            None => Expect::Any,
            Some(0) => Expect::Absent,
            Some(v) => Expect::Version(v),
        };
        let (store, key) = (self.coord()?.config(), key.to_string());
        awaitable(py, async move { Ok(store.set_raw(&key, value, expect).await?) })
    }

    /// Config `key`'s current value and every newer one, as an async iterator of `(version, bytes)`.
    fn config_async(&self, key: &str) -> PyResult<AsyncWatch> {
        let (store, key) = (self.coord()?.config(), key.to_string());
        AsyncWatch::start(move |tx| async move {
            let mut watch = match store.watch_raw(&key).await {
                Ok(w) => w,
                Err(e) => {
                    let _ = tx.send(Err(e.into())).await;
                    return;
                }
            };
            while let Some(v) = watch.next().await {
                if tx.send(Ok(Event::Config(v.version, v.value))).await.is_err() {
                    return;
                }
            }
        })
    }

    /// `round_follower`, awaitable.
    #[pyo3(signature = (name, service))]
    fn round_follower_async<'py>(
        &self,
        py: Python<'py>,
        name: &str,
        service: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let options = round_options(name, service, 1.0, "majority")?;
        let c = self.coord()?;
        awaitable(py, async move {
            let f = aeroguard_consensus::round::RoundFollower::new(c, &options).await?;
            Ok(RoundFollower {
                inner: Arc::new(tokio::sync::Mutex::new(f)),
                last: Mutex::new(None),
            })
        })
    }

    /// `close`, awaitable.
    fn close_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let c = self.coord().ok();
        awaitable(py, async move {
            if let Some(c) = c {
                c.close().await;
            }
            Ok(())
        })
    }
}
