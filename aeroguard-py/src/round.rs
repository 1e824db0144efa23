//! The measurement round: the leader's and the followers' sides.

use std::sync::Arc;

use parking_lot::Mutex;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::election::Leadership;
use crate::errors;
use crate::runtime::{block, maybe_seconds, seconds};

/// What `RoundLeader.run` returns: round, token, answers (node, JSON), missing nodes, quorum reached.
pub(crate) type RoundOutcome = (u64, u64, Vec<(String, String)>, Vec<String>, bool);

/// The leader's side of rounds (values are JSON text).
#[pyclass(module = "aeroguard")]
pub struct RoundLeader {
    pub(crate) inner: Arc<aeroguard_consensus::round::RoundLeader<serde_json::Value>>,
    /// The last run's members whose answers the backend could not vouch for, with why.
    pub(crate) unattested: Mutex<Vec<(String, String)>>,
}

/// A follower's side of rounds.
#[pyclass(module = "aeroguard")]
pub struct RoundFollower {
    pub(crate) inner: Arc<tokio::sync::Mutex<aeroguard_consensus::round::RoundFollower<serde_json::Value>>>,
    pub(crate) last: Mutex<Option<aeroguard_consensus::round::Announcement>>,
}

pub(crate) fn round_options(
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

/// The term of `leadership`, shared for a round (`LeadershipLostError` once resigned).
pub(crate) fn held(leadership: &Leadership) -> PyResult<Arc<aeroguard_consensus::Leadership>> {
    leadership
        .inner
        .lock()
        .clone()
        .ok_or_else(|| errors::LeadershipLostError::new_err("resigned"))
}

/// A round's result as Python sees it; its unattested members kept in `unattested`.
pub(crate) fn outcome(
    r: aeroguard_consensus::round::RoundResult<serde_json::Value>,
    unattested: &Mutex<Vec<(String, String)>>,
) -> RoundOutcome {
    *unattested.lock() = r
        .unattested
        .iter()
        .map(|(n, why)| (n.to_string(), why.clone()))
        .collect();
    (
        r.round,
        r.token.0,
        r.answered
            .into_iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
        r.missing.into_iter().map(|n| n.to_string()).collect(),
        r.reached_quorum,
    )
}

/// Waits for `f`'s next round, or until `limit` passes (a timeout error).
pub(crate) async fn next_round(
    f: &tokio::sync::Mutex<aeroguard_consensus::round::RoundFollower<serde_json::Value>>,
    limit: Option<std::time::Duration>,
) -> aeroguard_consensus::Result<aeroguard_consensus::round::Announcement> {
    let mut f = f.lock().await;
    match limit {
        Some(t) => tokio::time::timeout(t, f.next_round()).await.map_err(|_| {
            aeroguard_consensus::Error::Timeout {
                operation: "next round",
                after: t,
            }
        })?,
        None => f.next_round().await,
    }
}

#[pymethods]
impl RoundLeader {
    /// The last run's members whose answers the backend could not vouch for (a ZooKeeper slot not written by
    /// the roster's identity for the node): `[(node, why)]`. They count as missing.
    #[getter]
    fn unattested(&self) -> Vec<(String, String)> {
        self.unattested.lock().clone()
    }

    /// Opens the next round under `leadership` and collects it: `(round, token, answers {node: json},
    /// missing [node], reached_quorum)`. `LeadershipLostError` or `FencedError` if a newer leader took over.
    fn run(&self, py: Python<'_>, leadership: &Leadership) -> crate::errors::Result<RoundOutcome> {
        let (inner, lead) = (self.inner.clone(), held(leadership)?);
        let r = block(py, async move { inner.run(&lead).await })??;
        Ok(outcome(r, &self.unattested))
    }
}

impl RoundFollower {
    /// The round `next_round` returned last, and the answer (JSON text) parsed.
    pub(crate) fn answer(
        &self,
        value: &str,
    ) -> PyResult<(aeroguard_consensus::round::Announcement, serde_json::Value)> {
        let value: serde_json::Value =
            serde_json::from_str(value).map_err(|e| PyValueError::new_err(format!("value: {e}")))?;
        let a = self
            .last
            .lock()
            .clone()
            .ok_or_else(|| PyValueError::new_err("no round yet: call next_round() first"))?;
        Ok((a, value))
    }
}

#[pymethods]
impl RoundFollower {
    /// Waits for the next round: `(round, token, leader)`.
    #[pyo3(signature = (timeout = None))]
    fn next_round(&self, py: Python<'_>, timeout: Option<f64>) -> crate::errors::Result<(u64, u64, String)> {
        let inner = self.inner.clone();
        let limit = maybe_seconds("timeout", timeout)?;
        let a = block(py, async move { next_round(&inner, limit).await })??;
        let out = (a.round, a.token.0, a.leader.to_string());
        *self.last.lock() = Some(a);
        Ok(out)
    }

    /// Hands in this node's answer (JSON text) for the round `next_round` returned last.
    fn submit(&self, py: Python<'_>, value: &str) -> crate::errors::Result<()> {
        let (a, value) = self.answer(value)?;
        let inner = self.inner.clone();
        Ok(block(
            py,
            async move { inner.lock().await.submit(&a, &value).await },
        )??)
    }
}
