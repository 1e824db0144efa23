//! A TOML file a node keeps in force from the config recipe (the alert rules, the action policy): the newest
//! good version of its key (the shipped file until one is set), kept current by a watch for the node's whole
//! life; a bad version is refused with its line and reason, reported, and the last good one stays.

use std::sync::Arc;

use aeroguard_consensus::{Config, ConfigEvent, Coordinator};

use crate::alerting::RuleFile;
use crate::{Emit, Error, NodeEvent, Result};

/// How a watched file is read: its text to the value in force, or why not (with the line).
pub type Parse<T> = Arc<dyn Fn(&str) -> std::result::Result<T, String> + Send + Sync>;

/// The event that reports a version applied or refused: node, version, applied, detail.
pub type Report = fn(String, u64, bool, String) -> NodeEvent;

/// A file in force on a node, and the watch that keeps it current (stopped when this is dropped).
pub struct Watched<T> {
    latest: Arc<parking_lot::Mutex<(u64, T)>>,
    task: tokio::task::JoinHandle<()>,
}

impl<T> Drop for Watched<T> {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl<T: Clone + Send + 'static> Watched<T> {
    /// Reads `key` (or the `shipped` text), starts watching it; `describe` says what is in force.
    pub async fn start(
        coord: &Arc<dyn Coordinator>,
        key: &str,
        shipped: &str,
        parse: Parse<T>,
        (report, describe): (Report, fn(&T) -> String),
        emit: &Emit,
    ) -> Result<Watched<T>> {
        let check = parse.clone();
        let config =
            Config::<RuleFile>::new(coord.config(), key)?.with_validator(move |f| check(&f.toml).map(drop));
        let first = match config.get().await {
            Ok(Some(v)) => parse(&v.value.toml).map(|t| (v.version, t)).ok(),
            _ => None,
        };
        let first = match first {
            Some(f) => f,
            None => (
                0,
                parse(shipped).map_err(|e| Error::Run(format!("the shipped {key}: {e}")))?,
            ),
        };
        let latest = Arc::new(parking_lot::Mutex::new(first));
        let mut watch = config.watch().await?;
        let (l2, e2, me) = (latest.clone(), emit.clone(), coord.node().to_string());
        let task = tokio::spawn(async move {
            while let Some(event) = watch.next().await {
                match event {
                    ConfigEvent::Applied(v) => {
                        if let Ok(value) = parse(&v.value.toml) {
                            let detail = describe(&value);
                            *l2.lock() = (v.version, value);
                            e2(report(me.clone(), v.version, true, detail));
                        }
                    }
                    ConfigEvent::Rejected { version, error } => {
                        e2(report(me.clone(), version, false, error.to_string()));
                    }
                }
            }
        });
        Ok(Watched { latest, task })
    }

    /// The version in force (0: the shipped file) and its value.
    pub fn current(&self) -> (u64, T) {
        self.latest.lock().clone()
    }

    /// The version in force, without copying the value (a leader checks it every round).
    pub fn version(&self) -> u64 {
        self.latest.lock().0
    }
}
