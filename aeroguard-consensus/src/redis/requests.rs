//! The requests members post to an election authority: the consumer group on each member's stream, reading
//! new requests, taking over those another authority left unanswered, and the server's clock they are aged by.

use std::collections::HashMap;
use std::time::Duration;

use super::ballot::GROUP;
use super::{BACKEND, Session};
use crate::{Error, Result};

/// Requests read at once.
pub(super) const BATCH: usize = 64;

/// One request as read: the member's node, its stream, the entry's id and fields.
pub(super) struct Request {
    pub node: String,
    pub stream: String,
    pub id: String,
    pub fields: HashMap<String, redis::Value>,
}

impl Request {
    /// A field's text ('' when absent or not text).
    pub fn field(&self, name: &str) -> String {
        self.fields
            .get(name)
            .and_then(|v| redis::from_redis_value::<String>(v.clone()).ok())
            .unwrap_or_default()
    }
}

/// The consumer group on every member's stream (made with the stream; one that exists is kept).
pub(super) async fn make_groups(session: &Session, streams: &[(String, String)]) -> Result<()> {
    for (stream, _) in streams {
        let key = stream.clone();
        let made = session
            .run("authority groups", |mut c| async move {
                redis::cmd("XGROUP")
                    .arg("CREATE")
                    .arg(&key)
                    .arg(GROUP)
                    .arg("$")
                    .arg("MKSTREAM")
                    .query_async::<()>(&mut c)
                    .await
            })
            .await;
        match made {
            Ok(()) => {}
            Err(e) if e.to_string().contains("BUSYGROUP") => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

pub(super) type Batch = Vec<(String, Vec<(String, HashMap<String, redis::Value>)>)>;

/// New requests on any member's stream, waiting up to `block`.
pub(super) async fn read(
    session: &Session,
    streams: &[(String, String)],
    instance: &str,
    block: Duration,
) -> Result<Batch> {
    const OP: &str = "authority read";
    let mut conn = session.pool.dedicated(OP).await?;
    let options = redis::streams::StreamReadOptions::default()
        .group(GROUP, instance)
        .count(BATCH)
        .block(usize::try_from(block.as_millis()).unwrap_or(1).max(1));
    let mut cmd = redis::cmd("XREADGROUP");
    cmd.arg(&options).arg("STREAMS");
    for (stream, _) in streams {
        cmd.arg(stream);
    }
    for _ in streams {
        cmd.arg(">");
    }
    let reply = cmd.query_async::<Option<redis::streams::StreamReadReply>>(&mut conn);
    match tokio::time::timeout(session.pool.blocking_limit(block), reply).await {
        Ok(Ok(reply)) => {
            session.pool.give_back(conn);
            Ok(reply
                .map(|r| r.keys)
                .unwrap_or_default()
                .into_iter()
                .map(|k| (k.key, k.ids.into_iter().map(|e| (e.id, e.map)).collect()))
                .collect())
        }
        Ok(Err(e)) => Err(session.pool.fail(e, OP)),
        Err(_) => Err(Error::ConnectionLoss {
            backend: BACKEND,
            operation: OP,
        }),
    }
}

/// Requests idle longer than an operation timeout in another consumer's hands, taken over by this one.
pub(super) async fn reclaim(
    session: &Session,
    streams: &[(String, String)],
    instance: &str,
) -> Result<Batch> {
    let idle = u64::try_from(session.options.operation_timeout.as_millis()).unwrap_or(u64::MAX);
    let mut out = Vec::new();
    for (stream, _) in streams {
        let key = stream.clone();
        let claimed: redis::streams::StreamAutoClaimReply = session
            .run("authority reclaim", |mut c| async move {
                redis::cmd("XAUTOCLAIM")
                    .arg(&key)
                    .arg(GROUP)
                    .arg(instance)
                    .arg(idle)
                    .arg("0-0")
                    .arg("COUNT")
                    .arg(BATCH)
                    .query_async(&mut c)
                    .await
            })
            .await?;
        if !claimed.claimed.is_empty() {
            let entries = claimed.claimed.into_iter().map(|e| (e.id, e.map)).collect();
            out.push((stream.clone(), entries));
        }
    }
    Ok(out)
}

/// The server's clock in milliseconds.
pub(super) async fn server_ms(session: &Session) -> Result<u64> {
    let (secs, micros): (u64, u64) = session
        .run("authority clock", |mut c| async move {
            redis::cmd("TIME").query_async(&mut c).await
        })
        .await?;
    Ok(secs * 1000 + micros / 1000)
}
