//! The election authority: the one login that writes the election keys, serving members whose own logins may
//! not ([`RedisOptions::with_election_authority`]).
//!
//! Each member posts its election writes to a stream only its login may write (`<prefix>-node/<node>/ask`),
//! so the stream a request comes from names the member: the authority runs the request as that node, refuses
//! one that names a candidacy another node joined, and answers on a list under the same node's keys. Several
//! authorities may serve at once: they read the streams as one consumer group, so each request is run once.
//! The scripts they run are the same atomic scripts a member with write access runs itself, so two authorities
//! never disagree about who holds a lease.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use aeroguard_core::NodeId;
use tokio::sync::Semaphore;

use super::ballot::{self, Call, GROUP};
use super::election::Keys;
use super::requests::{Request, make_groups, read, reclaim, server_ms};
use super::{BACKEND, RedisCoordinator, RedisOptions, Session};
use crate::{Coordinator, Error, Result};

/// Members one authority serves at most.
pub const MAX_MEMBERS: usize = 1_000;
/// The longest lease a member may ask for.
pub const MAX_LEASE: Duration = Duration::from_secs(60);
/// Requests one authority runs at once (a grant may wait for replicas; renewals must not queue behind it).
const IN_FLIGHT: usize = 64;

#[derive(Debug, Default)]
struct Counts {
    served: AtomicU64,
    refused: AtomicU64,
}

/// Serves the election writes of members whose logins may not make them.
///
/// The authority logs in with credentials that may write `<prefix>:el:*`, `<prefix>:failover:*` and
/// `<prefix>-node/*` (SECURITY.md, "Least privilege for members"); members log in with their own, which may
/// only read those election keys. Run one or more per deployment, each with a distinct `instance` name.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use aeroguard_consensus::redis::{RedisCredentials, RedisElectionAuthority, RedisOptions};
/// let options = RedisOptions::sentinel(&["127.0.0.1:26379"], "aeroguard")
///     .with_credentials(RedisCredentials::parse("authority:secret")?);
/// let members = vec!["n1".parse()?, "n2".parse()?, "n3".parse()?];
/// let authority = RedisElectionAuthority::start("authority-1".parse()?, options, members).await?;
/// // ... members connect with `RedisOptions::with_election_authority()` and their own logins ...
/// authority.close().await;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct RedisElectionAuthority {
    coordinator: Arc<RedisCoordinator>,
    task: Option<tokio::task::JoinHandle<()>>,
    counts: Arc<Counts>,
    stop: Arc<AtomicBool>,
}

impl RedisElectionAuthority {
    /// Connects as `instance` and serves `members` until closed.
    ///
    /// Fails with `InvalidParameter` for no members, more than [`MAX_MEMBERS`], a member named twice, or
    /// options that ask an authority themselves; and as [`RedisCoordinator::connect`] fails.
    pub async fn start(instance: NodeId, options: RedisOptions, members: Vec<NodeId>) -> Result<Self> {
        if options.election_authority {
            return Err(Error::parameter(
                "election_authority",
                true,
                "the authority writes the election keys itself: its options must not ask an authority",
            ));
        }
        let mut seen = std::collections::HashSet::new();
        if members.is_empty() || members.len() > MAX_MEMBERS || !members.iter().all(|m| seen.insert(m)) {
            return Err(Error::parameter(
                "members",
                members.len(),
                "must name 1 to 1,000 distinct members",
            ));
        }
        let coordinator = RedisCoordinator::connect(instance.clone(), options).await?;
        let counts = Arc::new(Counts::default());
        let session = coordinator.session.clone();
        let span = tracing::info_span!("election authority", %instance);
        let stop = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn(tracing::Instrument::instrument(
            serve(
                session,
                instance.to_string(),
                members,
                counts.clone(),
                stop.clone(),
            ),
            span,
        ));
        Ok(RedisElectionAuthority {
            coordinator,
            task: Some(task),
            counts,
            stop,
        })
    }

    /// Requests answered so far (refusals included).
    pub fn served(&self) -> u64 {
        self.counts.served.load(Ordering::Relaxed)
    }

    /// Requests refused so far: malformed, or naming another node's candidacy.
    pub fn refused(&self) -> u64 {
        self.counts.refused.load(Ordering::Relaxed)
    }

    /// Stops reading requests, answers those it has read (for up to a session timeout), and closes the
    /// connection. Requests another authority should take are left to it.
    pub async fn close(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(task) = self.task.take() {
            let limit = self.coordinator.session.options.session.timeout;
            let abort = task.abort_handle();
            if tokio::time::timeout(limit, task).await.is_err() {
                abort.abort();
            }
        }
        self.coordinator.close().await;
    }
}

impl Drop for RedisElectionAuthority {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

async fn serve(
    session: Session,
    instance: String,
    members: Vec<NodeId>,
    counts: Arc<Counts>,
    stop: Arc<AtomicBool>,
) {
    let prefix = session.options.prefix.clone();
    let streams: Vec<(String, String)> = members
        .iter()
        .map(|m| (super::keys::own(&prefix, m.as_str(), "ask"), m.to_string()))
        .collect();
    let nodes: HashMap<String, String> = streams.iter().cloned().collect();
    let permits = Arc::new(Semaphore::new(IN_FLIGHT));
    let block = (session.options.session.timeout / 4).max(Duration::from_millis(100));
    let mut groups = false;
    let mut reclaimed = tokio::time::Instant::now();
    while !stop.load(Ordering::SeqCst) && !session.is_closed() {
        if !groups {
            groups = make_groups(&session, &streams).await.is_ok();
            if !groups {
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        }
        // Requests another authority read and never answered (it stopped or died with them).
        let due = reclaimed.elapsed() >= session.options.operation_timeout;
        let batch = if due {
            reclaimed = tokio::time::Instant::now();
            reclaim(&session, &streams, &instance).await
        } else {
            read(&session, &streams, &instance, block).await
        };
        let batch = match batch {
            Ok(b) => b,
            Err(e) => {
                // A failover may have lost the groups with the streams: make them again.
                tracing::debug!(error = %e, "reading requests failed");
                groups = false;
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        if batch.is_empty() {
            continue;
        }
        let Ok(now) = server_ms(&session).await else {
            continue;
        };
        for (stream, entries) in batch {
            let Some(node) = nodes.get(&stream) else {
                continue;
            };
            for (id, fields) in entries {
                let Ok(permit) = permits.clone().acquire_owned().await else {
                    return;
                };
                let request = Request {
                    node: node.clone(),
                    stream: stream.clone(),
                    id,
                    fields,
                };
                let (session, counts) = (session.clone(), counts.clone());
                tokio::spawn(async move {
                    handle(&session, request, now, &counts).await;
                    drop(permit);
                });
            }
        }
    }
    // Answer what was read before stopping.
    let _all = permits
        .acquire_many(u32::try_from(IN_FLIGHT).unwrap_or(u32::MAX))
        .await;
}

/// Runs one request and answers it; a request older than a session timeout is dropped unanswered (its
/// member has given up waiting and asks again).
async fn handle(session: &Session, request: Request, now_ms: u64, counts: &Counts) {
    let nonce = request.field("reply");
    let posted = request
        .id
        .split_once('-')
        .and_then(|(ms, _)| ms.parse::<u64>().ok())
        .unwrap_or(0);
    let fresh = now_ms.saturating_sub(posted) <= session.options.ttl_ms();
    let nonce_ok = !nonce.is_empty() && nonce.len() <= 32 && nonce.bytes().all(|b| b.is_ascii_hexdigit());
    if fresh && nonce_ok {
        let answer = run(session, &request).await;
        if matches!(&answer, Err(Error::Forbidden { .. })) {
            counts.refused.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(node = %request.node, error = ?answer, "refused an election request");
        }
        let reply = super::keys::own(&session.options.prefix, &request.node, &format!("reply:{nonce}"));
        let (body, keep) = (ballot::encode(&answer), session.options.ttl_ms() * 2);
        let answered = session
            .run("authority answer", |mut c| async move {
                redis::pipe()
                    .atomic()
                    .cmd("LPUSH")
                    .arg(&reply)
                    .arg(&body)
                    .ignore()
                    .cmd("PEXPIRE")
                    .arg(&reply)
                    .arg(keep)
                    .ignore()
                    .query_async::<()>(&mut c)
                    .await
            })
            .await;
        crate::error::best_effort("answer an election request", answered);
        counts.served.fetch_add(1, Ordering::Relaxed);
    } else if !nonce_ok {
        counts.refused.fetch_add(1, Ordering::Relaxed);
    }
    let (stream, id) = (request.stream.clone(), request.id.clone());
    let done = session
        .run("authority ack", |mut c| async move {
            redis::pipe()
                .cmd("XACK")
                .arg(&stream)
                .arg(GROUP)
                .arg(&id)
                .ignore()
                .cmd("XDEL")
                .arg(&stream)
                .arg(&id)
                .ignore()
                .query_async::<()>(&mut c)
                .await
        })
        .await;
    crate::error::best_effort("remove an election request", done);
}

/// The request's call, checked, run as its node.
async fn run(session: &Session, request: &Request) -> Result<ballot::Answer> {
    let (node, field) = (request.node.as_str(), |name: &str| request.field(name));
    let refuse = |reason: String| Error::Forbidden {
        backend: BACKEND,
        operation: "election request",
        reason,
    };
    let name = field("el");
    crate::error::check_name("election", &name).map_err(|e| refuse(e.to_string()))?;
    let min = u64::try_from(super::options::MIN_SESSION.as_millis()).unwrap_or(0);
    let max = u64::try_from(MAX_LEASE.as_millis()).unwrap_or(u64::MAX);
    let ttl = field("ttl")
        .parse::<u64>()
        .ok()
        .filter(|t| (min..=max).contains(t))
        .ok_or_else(|| {
            refuse(format!(
                "a lease of {:?} ms is outside {min}..={max}",
                field("ttl")
            ))
        })?;
    let call = Call::parse(node, &field("op"), &field("member"), &field("witnessed")).map_err(refuse)?;
    let keys = Keys::of(&session.options.prefix, &name, true);
    ballot::run(session, &keys, node, ttl, &call).await
}
