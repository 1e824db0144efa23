//! Store-and-forward for a node: what a leader must deliver (its fused rounds for the history, its posts to the
//! analysis service) is written to an outbox on disk first, and forwarders deliver it in order when the link
//! is up. A link that drops, a service that restarts or a crash of the node loses nothing; a deposed leader's
//! buffered rounds are refused by the history's fence. When an outbox cannot take an entry (a full disk), a
//! round and an alert go straight to the history and the notifier if they answer (written through, with a
//! warning), so a full disk alone neither loses them nor holds up the alerts.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::{Error, Result};
use aeroguard_consensus::history::HistoryStore;
use aeroguard_consensus::outbox::{Append, Outbox, OutboxLimits, OutboxStats, Outcome};
use aeroguard_detect::alert::{AlertEvent, AlertStatus, Notifier};
use serde::Serialize;

use super::{Emit, NodeEvent};

mod hook;
mod post;
use post::Refusals;
pub use post::{POST_REFUSALS, Post};

/// How long a post may wait for the service's answer before it is retried.
const POST_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the outboxes of `run`'s node `node` live under `dir`.
pub fn outbox_file(dir: &Path, run: &str, node: &str, what: &str) -> PathBuf {
    dir.join(run).join(format!("{node}-{what}.redb"))
}

/// A node's outboxes and their forwarders (stopped when this is dropped).
pub struct Deliveries {
    dir: PathBuf,
    run: String,
    me: String,
    limits: OutboxLimits,
    emit: Emit,
    appends: Arc<Outbox<Append>>,
    posts: Option<Arc<Outbox<Post>>>,
    alerts: Option<Arc<Outbox<Vec<AlertEvent>>>>,
    actions: Option<Arc<Outbox<aeroguard_detect::action::ActionRecord>>>,
    /// Where the forwarders deliver, for what an outbox cannot take.
    history: Arc<dyn HistoryStore>,
    notifier: Option<Arc<dyn Notifier>>,
    link_up: Arc<AtomicBool>,
    forwarders: Vec<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for Deliveries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deliveries")
            .field("appends", &self.appends)
            .field("posts", &self.posts)
            .field("alerts", &self.alerts)
            .field("actions", &self.actions)
            .finish_non_exhaustive()
    }
}

impl Deliveries {
    /// Opens node `me`'s history outbox for `run` under `dir` (what an earlier life of the node left is
    /// forwarded first) and starts forwarding it to `history`. Each outbox is bounded by `limits`.
    pub fn open(
        dir: &Path,
        run: &str,
        me: &str,
        history: Arc<dyn HistoryStore>,
        limits: OutboxLimits,
        emit: Emit,
    ) -> Result<Deliveries> {
        let file = outbox_file(dir, run, me, "history");
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| Error::io(format!("create {}", parent.display()), e))?;
        }
        let appends = Arc::new(Outbox::<Append>::open(&file, limits)?);
        let link_up = Arc::new(AtomicBool::new(true));
        let (outbox, up, node, e) = (appends.clone(), link_up.clone(), me.to_string(), emit.clone());
        let direct = history.clone();
        let forwarder = tokio::spawn(async move {
            let deliver = |a: &Append| {
                let (a, history, up) = (a.clone(), history.clone(), up.clone());
                async move {
                    if !up.load(Ordering::SeqCst) {
                        return Outcome::Retry("the link to the history is down".into());
                    }
                    Append::outcome(history.append(&a.series, &a.writer, &a.points).await)
                }
            };
            forward(&outbox, deliver, "history", &node, &e).await;
        });
        Ok(Deliveries {
            dir: dir.to_path_buf(),
            run: run.to_string(),
            me: me.to_string(),
            limits,
            emit,
            appends,
            posts: None,
            alerts: None,
            actions: None,
            history: direct,
            notifier: None,
            link_up,
            forwarders: vec![forwarder],
        })
    }

    /// Also posts each round to the analysis service at `addr` (`host:port`), with the node's key if any.
    pub fn with_posts(mut self, addr: String, key: Option<String>) -> Result<Deliveries> {
        let file = outbox_file(&self.dir, &self.run, &self.me, "posts");
        let posts = Arc::new(Outbox::<Post>::open(&file, self.limits)?);
        let (outbox, node, e) = (posts.clone(), self.me.clone(), self.emit.clone());
        let bearer = key.map(|k| format!("Bearer {k}"));
        self.forwarders.push(tokio::spawn(async move {
            let refusals = Arc::new(parking_lot::Mutex::new(Refusals::default()));
            let deliver = |p: &Post| {
                let (refusals, key) = (refusals.clone(), (p.series.clone(), p.at));
                let body = serde_json::json!({
                    "series": p.series,
                    "token": p.token,
                    "readings": [{ "at": p.at, "values": p.values }],
                })
                .to_string();
                let (addr, bearer) = (addr.clone(), bearer.clone());
                async move {
                    let headers: Vec<(&str, &str)> =
                        bearer.iter().map(|b| ("authorization", b.as_str())).collect();
                    // A link that hangs (no answer, no reset) is a link down too.
                    let request = aeroguard_sentinel::client::request(
                        &addr,
                        "POST",
                        "/ingest",
                        Some(body.as_bytes()),
                        &headers,
                    );
                    match tokio::time::timeout(POST_TIMEOUT, request).await {
                        Ok(answer) => {
                            let refused = refusals.lock().count(key, &answer);
                            Post::outcome(answer, refused)
                        }
                        Err(_) => Outcome::Retry(format!("no answer in {POST_TIMEOUT:?}")),
                    }
                }
            };
            forward(&outbox, deliver, "service", &node, &e).await;
        }));
        self.posts = Some(posts);
        Ok(self)
    }

    /// Also sends alert transitions (firing, resolved) to `notifier`, through an outbox of their own: a
    /// notification waits out an unreachable receiver, and one the receiver refuses for good is dropped,
    /// counted.
    pub fn with_notifier(mut self, notifier: Arc<dyn Notifier>) -> Result<Deliveries> {
        let file = outbox_file(&self.dir, &self.run, &self.me, "alerts");
        let alerts = Arc::new(Outbox::<Vec<AlertEvent>>::open(&file, self.limits)?);
        let (outbox, node, e) = (alerts.clone(), self.me.clone(), self.emit.clone());
        self.notifier = Some(notifier.clone());
        self.forwarders.push(tokio::spawn(async move {
            let deliver = |events: &Vec<AlertEvent>| {
                let (events, notifier) = (events.clone(), notifier.clone());
                async move {
                    match notifier.notify(&events).await {
                        Ok(()) => Outcome::Sent,
                        Err(e) if e.is_permanent() => Outcome::Refused(e.to_string()),
                        Err(e) => Outcome::Retry(e.to_string()),
                    }
                }
            };
            forward(&outbox, deliver, "notifier", &node, &e).await;
        }));
        self.alerts = Some(alerts);
        Ok(self)
    }

    /// Writes the firing and resolved transitions among `events` to disk, if the node notifies; the forwarder
    /// sends them. A batch with a firing alert is precious: a full outbox drops resolved ones before it. When the
    /// outbox cannot take the batch (a full disk), it goes to the notifier at once; the error only when neither
    /// took it.
    pub async fn notify(&self, events: &[AlertEvent]) -> Result<()> {
        let news: Vec<AlertEvent> = events
            .iter()
            .filter(|e| e.status != AlertStatus::Pending)
            .cloned()
            .collect();
        let (Some(outbox), false) = (&self.alerts, news.is_empty()) else {
            return Ok(());
        };
        let pushed = if news.iter().any(|e| e.status == AlertStatus::Firing) {
            outbox.push_precious(&news)
        } else {
            outbox.push(&news)
        };
        let Err(full) = pushed else {
            return Ok(());
        };
        let Some(notifier) = &self.notifier else {
            return Err(full.into());
        };
        match tokio::time::timeout(POST_TIMEOUT, notifier.notify(&news)).await {
            Ok(Ok(())) => {
                self.wrote_through("notifier", &full);
                Ok(())
            }
            Ok(Err(e)) => Err(Error::Run(format!("alerts outbox: {full}; the notifier: {e}"))),
            Err(_) => Err(Error::Run(format!(
                "alerts outbox: {full}; the notifier did not answer in {POST_TIMEOUT:?}"
            ))),
        }
    }

    /// Writes a fenced append to disk; the forwarder delivers it. When the outbox cannot take it (a full disk)
    /// and the link is up, it goes to the history at once; the error only when neither took it.
    pub async fn append(&self, append: &Append) -> Result<()> {
        let Err(full) = self.appends.push(append) else {
            return Ok(());
        };
        if !self.link_is_up() {
            return Err(full.into());
        }
        let direct = self
            .history
            .append(&append.series, &append.writer, &append.points);
        match tokio::time::timeout(POST_TIMEOUT, direct).await {
            Ok(Ok(())) => {
                self.wrote_through("history", &full);
                Ok(())
            }
            Ok(Err(e)) => Err(Error::Run(format!("history outbox: {full}; the history: {e}"))),
            Err(_) => Err(Error::Run(format!(
                "history outbox: {full}; the history did not answer in {POST_TIMEOUT:?}"
            ))),
        }
    }

    /// Reports an entry written through to `to` past an outbox that could not take it.
    fn wrote_through(&self, to: &str, why: &aeroguard_consensus::Error) {
        (self.emit)(NodeEvent::Warn {
            node: self.me.clone(),
            message: format!("outbox to the {to}: {why}; delivered at once instead"),
        });
    }

    /// Writes a post to disk, if the node posts; the forwarder delivers it.
    pub fn post(&self, post: &Post) -> Result<()> {
        match &self.posts {
            Some(outbox) => Ok(outbox.push(post).map(drop)?),
            None => Ok(()),
        }
    }

    /// Whether the link to the history is up (it is, but during the main job's simulated outage).
    pub fn link_is_up(&self) -> bool {
        self.link_up.load(Ordering::SeqCst)
    }

    /// Cuts (`false`) or restores the link to the history (the simulated outage of the main job).
    pub fn set_link(&self, up: bool) {
        self.link_up.store(up, Ordering::SeqCst);
    }

    /// The highest round among the appends still waiting (a leader counts them as reported).
    pub fn last_buffered_round(&self) -> Result<u64> {
        Ok(self
            .appends
            .oldest(usize::MAX)?
            .into_iter()
            .filter_map(|(_, a)| a.ok())
            .flat_map(|a| a.points)
            .filter_map(|p| p.detail?.get("round")?.as_u64())
            .max()
            .unwrap_or(0))
    }

    /// The outboxes' figures: the history's, and the posts' if the node posts.
    pub fn stats(&self) -> (OutboxStats, Option<OutboxStats>) {
        (self.appends.stats(), self.posts.as_ref().map(|p| p.stats()))
    }

    /// The alerts outbox's figures, if the node notifies.
    pub fn alert_stats(&self) -> Option<OutboxStats> {
        self.alerts.as_ref().map(|a| a.stats())
    }

    /// The outboxes' figures as OpenMetrics text ([`outbox_metrics`](super::outbox_metrics)).
    pub fn metrics(&self) -> String {
        super::outbox_metrics(&self.figures())
    }

    /// Each outbox's name (`history`, `service`, `notifier`, `actions`) and figures.
    pub fn figures(&self) -> Vec<(&'static str, OutboxStats)> {
        let (history, posts) = self.stats();
        let mut all = vec![("history", history)];
        all.extend(posts.map(|p| ("service", p)));
        all.extend(self.alert_stats().map(|a| ("notifier", a)));
        all.extend(self.actions.as_ref().map(|a| ("actions", a.stats())));
        all
    }
}

impl Drop for Deliveries {
    fn drop(&mut self) {
        for f in &self.forwarders {
            f.abort();
        }
    }
}

/// Forwards `outbox` forever: a pass whenever something is pushed, a doubling backoff (25 ms to 1 s) while the
/// receiver asks to retry; once it takes everything after holding back, a `forwarded` event with the count.
async fn forward<T, F, Fut>(outbox: &Outbox<T>, mut deliver: F, to: &'static str, node: &str, emit: &Emit)
where
    T: Serialize + serde::de::DeserializeOwned,
    F: FnMut(&T) -> Fut,
    Fut: std::future::Future<Output = Outcome>,
{
    let first = Duration::from_millis(25);
    let mut backoff = first;
    let mut held: Option<u64> = None;
    loop {
        match outbox.forward(&mut deliver).await {
            Ok(pass) => {
                if let Some(sent) = held.as_mut() {
                    *sent += pass.sent;
                }
                if pass.stopped.is_some() {
                    held.get_or_insert(0);
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                    continue;
                }
                backoff = first;
                if let Some(sent) = held.take() {
                    emit(NodeEvent::Forwarded {
                        node: node.to_string(),
                        to: to.to_string(),
                        sent,
                    });
                }
            }
            Err(e) => {
                emit(NodeEvent::Warn {
                    node: node.to_string(),
                    message: format!("outbox to the {to}: {e}"),
                });
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
        outbox.pushed(Duration::from_secs(1)).await;
    }
}
