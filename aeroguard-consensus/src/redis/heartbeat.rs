//! Keeping a Redis session alive: its key opened and extended every third of the session timeout, the queue
//! claims it holds touched, a new session opened (epoch + 1) when the key is gone.

use std::time::Duration;

use tokio::time::Instant;

use super::session::RedisSession;
use super::{queue, scripts};
use crate::{Result, SessionState};

pub(super) fn new_session_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.write_u32(std::process::id());
    format!("{:016x}", hasher.finish())
}

/// Opens a session key; the session id on success.
pub(super) async fn open_session(session: &RedisSession) -> Result<String> {
    let sid = new_session_id();
    let key = session.session_key(&sid);
    let ttl = session.options.ttl_ms();
    session
        .run("open session", |mut c| async move {
            redis::cmd("SET")
                .arg(&key)
                .arg(1)
                .arg("PX")
                .arg(ttl)
                .query_async::<()>(&mut c)
                .await
        })
        .await?;
    Ok(sid)
}

/// Extends the session every `T/3` and keeps held queue entries claimed; maps failures to `Suspended`, a
/// silence longer than `T` or a missing session key to `Expired`, then opens a new session.
pub(super) async fn heartbeat(session: std::sync::Weak<RedisSession>) {
    let Some(c) = session.upgrade() else { return };
    let period = c.options.session.timeout / 3;
    let ttl = c.options.ttl_ms();
    drop(c);
    let mut last_ok = Instant::now();
    let mut wait = period;
    loop {
        tokio::time::sleep(wait).await;
        wait = period;
        let Some(c) = session.upgrade() else { return };
        if c.is_closed() {
            return;
        }
        let sent = Instant::now();
        let sid = c.session_id.lock().clone();
        let key = c.session_key(&sid);
        let beat = c
            .run("session heartbeat", |mut conn| async move {
                scripts::SESSION_BEAT
                    .key(&key)
                    .arg(ttl)
                    .invoke_async::<i64>(&mut conn)
                    .await
            })
            .await;
        let expired = match beat {
            Ok(1) => {
                last_ok = sent;
                c.status.send_if_modified(|s| {
                    let changed = s.state != SessionState::Connected;
                    s.state = SessionState::Connected;
                    changed
                });
                touch_held(&c, &sid).await;
                false
            }
            Ok(_) => true,
            Err(_) if sent.duration_since(last_ok) >= c.options.session.timeout => true,
            Err(_) => {
                c.status.send_if_modified(|s| {
                    let changed = s.state != SessionState::Suspended;
                    s.state = SessionState::Suspended;
                    changed
                });
                // Try again soon: a failover ends within seconds, and the session key must be extended
                // before it runs out.
                wait = (period / 8).max(Duration::from_millis(50));
                false
            }
        };
        if !expired {
            continue;
        }
        c.status.send_modify(|s| s.state = SessionState::Expired);
        drop(c);
        // A new session, backing off while the server is unreachable.
        let mut backoff = Duration::from_millis(100);
        loop {
            let Some(c) = session.upgrade() else { return };
            if c.is_closed() {
                return;
            }
            match open_session(&c).await {
                Ok(sid) => {
                    *c.session_id.lock() = sid;
                    c.held.lock().clear();
                    c.status.send_modify(|s| {
                        s.state = SessionState::Connected;
                        s.epoch += 1;
                    });
                    last_ok = Instant::now();
                    break;
                }
                Err(_) => {
                    drop(c);
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                }
            }
        }
    }
}

/// Resets the idle time of the entries the session holds, so `XAUTOCLAIM` leaves them alone.
async fn touch_held(c: &RedisSession, sid: &str) {
    let held: Vec<(String, Vec<String>)> = c
        .held
        .lock()
        .iter()
        .filter(|(_, ids)| !ids.is_empty())
        .map(|(k, ids)| (k.clone(), ids.iter().cloned().collect()))
        .collect();
    let consumer = format!("{}|{sid}", c.node);
    for (stream, ids) in held {
        let (consumer, key) = (consumer.clone(), stream.clone());
        let kept = c
            .run("keep queue claims", |mut conn| async move {
                let mut inv = scripts::QUEUE_TOUCH.key(&key);
                inv.arg(queue::GROUP).arg(&consumer).arg(0);
                for id in &ids {
                    inv.arg(id);
                }
                inv.invoke_async::<i64>(&mut conn).await
            })
            .await;
        if let Err(error) = kept {
            // The entries may be reclaimed by another consumer once idle for T: at-least-once still holds.
            tracing::warn!(%stream, %error, "could not keep queue claims");
        }
    }
}
