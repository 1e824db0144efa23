//! The writes of an election (join, a campaign step, a renewal, a departure) as values: run as scripts on the
//! master by a login that may write the election's keys, or posted to an election authority by one that may not
//! ([`RedisOptions::election_authority`](super::RedisOptions::election_authority)), which runs them the same way
//! as the asking node and no other.

use std::time::Duration;

use super::election::Keys;
use super::{BACKEND, Session, scripts};
use crate::{Error, Result};

/// The authority's consumer group on every node's request stream.
pub(crate) const GROUP: &str = "authority";
/// Requests a node's stream keeps at most (`XADD MAXLEN ~`): a node cannot grow it without bound.
pub(crate) const STREAM_CAP: u32 = 1_000;

/// One election write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Call {
    /// Join the queue: the member name.
    Join,
    /// One campaign step for `member`, with the renewal count it has seen stand still for a lease (-1: none).
    Acquire { member: String, witnessed: i64 },
    /// Extend `member`'s lease if it still holds it.
    Renew { member: String },
    /// Leave the election (resigning the lease if held).
    Leave { member: String },
}

/// What a call answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Answer {
    /// The member name a join made.
    Member(String),
    /// A campaign step's `(token, wait, renewals)` (see `scripts::ELECTION_ACQUIRE`).
    Step(i64, i64, i64),
    /// A renewal's answer: 1 extended, 0 no longer held.
    Renewed(i64),
    /// Left.
    Left,
}

impl Call {
    fn op(&self) -> &'static str {
        match self {
            Call::Join => "join",
            Call::Acquire { .. } => "acquire",
            Call::Renew { .. } => "renew",
            Call::Leave { .. } => "leave",
        }
    }

    fn operation(&self) -> &'static str {
        match self {
            Call::Join => "join election",
            Call::Acquire { .. } => "campaign",
            Call::Renew { .. } => "renew lease",
            Call::Leave { .. } => "leave election",
        }
    }

    fn member(&self) -> &str {
        match self {
            Call::Join => "",
            Call::Acquire { member, .. } | Call::Renew { member } | Call::Leave { member } => member,
        }
    }

    /// The call a request's fields describe, checked to be `node`'s own: every member it names was made by a
    /// join of `node` (`<node>~<12 digits>`).
    pub(crate) fn parse(
        node: &str,
        op: &str,
        member: &str,
        witnessed: &str,
    ) -> std::result::Result<Call, String> {
        let own = member
            .strip_prefix(node)
            .and_then(|rest| rest.strip_prefix('~'))
            .is_some_and(|seq| seq.len() == 12 && seq.bytes().all(|b| b.is_ascii_digit()));
        if op != "join" && !own {
            return Err(format!("{member:?} is not a candidacy of {node}"));
        }
        let member = member.to_string();
        Ok(match op {
            "join" => Call::Join,
            "acquire" => Call::Acquire {
                member,
                witnessed: witnessed
                    .parse()
                    .map_err(|_| format!("witnessed {witnessed:?} is not a number"))?,
            },
            "renew" => Call::Renew { member },
            "leave" => Call::Leave { member },
            other => return Err(format!("unknown request {other:?}")),
        })
    }
}

/// Runs `call` for this coordinator: directly, or through the authority when its login may not write.
pub(crate) async fn call(session: &Session, keys: &Keys, call: Call) -> Result<Answer> {
    if session.options.election_authority {
        ask(session, keys, &call).await
    } else {
        run(
            session,
            keys,
            session.node.as_str(),
            session.options.ttl_ms(),
            &call,
        )
        .await
    }
}

/// Runs `call` as node `node` on the master, with leases of `ttl` ms.
pub(crate) async fn run(session: &Session, keys: &Keys, node: &str, ttl: u64, call: &Call) -> Result<Answer> {
    let k = keys.clone();
    let operation = call.operation();
    match call {
        Call::Join => {
            let node = node.to_string();
            let member = session
                .run(operation, |mut c| async move {
                    scripts::ELECTION_JOIN
                        .key(&k.queue)
                        .key(&k.alive)
                        .key(&k.lease)
                        .key(&k.token)
                        .key(&k.seq)
                        .arg(&node)
                        .arg(ttl)
                        .invoke_async::<String>(&mut c)
                        .await
                })
                .await?;
            Ok(Answer::Member(member))
        }
        Call::Acquire { member, witnessed } => {
            let (m, w) = (member.clone(), *witnessed);
            // With replicas asked for, a grant is not used before they have it (`WAIT` after the script).
            let answer = session
                .run_replicated(operation, |mut c| async move {
                    scripts::ELECTION_ACQUIRE
                        .key(&k.queue)
                        .key(&k.alive)
                        .key(&k.lease)
                        .key(&k.token)
                        .key(&k.term)
                        .key(&k.epoch[0])
                        .key(&k.epoch[1])
                        .key(&k.renewals)
                        .key(&k.released)
                        .arg(&m)
                        .arg(ttl)
                        .arg(w)
                        .invoke_async::<(i64, i64, i64)>(&mut c)
                        .await
                })
                .await;
            match answer {
                Ok((token, wait, count)) => Ok(Answer::Step(token, wait, count)),
                Err(e @ Error::NotReplicated { .. }) => {
                    // Perhaps granted, not replicated: not used, and not kept.
                    let leave = Call::Leave {
                        member: member.clone(),
                    };
                    crate::error::best_effort(
                        "leave unreplicated grant",
                        Box::pin(run(session, keys, node, ttl, &leave)).await.map(|_| ()),
                    );
                    Err(e)
                }
                Err(e) => Err(e),
            }
        }
        Call::Renew { member } => {
            let m = member.clone();
            let renewed = session
                .run(operation, |mut c| async move {
                    scripts::ELECTION_RENEW
                        .key(&k.queue)
                        .key(&k.alive)
                        .key(&k.lease)
                        .key(&k.renewals)
                        .arg(&m)
                        .arg(ttl)
                        .invoke_async::<i64>(&mut c)
                        .await
                })
                .await?;
            Ok(Answer::Renewed(renewed))
        }
        Call::Leave { member } => {
            let m = member.clone();
            session
                .run(operation, |mut c| async move {
                    let mut script = scripts::ELECTION_LEAVE.key(&k.queue);
                    script
                        .key(&k.alive)
                        .key(&k.lease)
                        .key(&k.renewals)
                        .key(&k.released)
                        .arg(&m);
                    for arg in k.wake.leave_args() {
                        script.arg(arg);
                    }
                    script.invoke_async::<i64>(&mut c).await
                })
                .await?;
            Ok(Answer::Left)
        }
    }
}

/// How long a node waits for the authority's answer: two operation timeouts, plus the replicas' wait a grant
/// may make.
fn patience(session: &Session) -> Duration {
    let wait = match session.options.durability {
        super::Durability::Master => Duration::ZERO,
        super::Durability::Replicas { timeout, .. } => timeout,
    };
    session.options.operation_timeout * 2 + wait
}

/// Posts `call` to this node's request stream and waits for the authority's answer on a list of its own.
async fn ask(session: &Session, keys: &Keys, call: &Call) -> Result<Answer> {
    let operation = call.operation();
    let (prefix, node) = (&session.options.prefix, session.node.as_str());
    let nonce = super::heartbeat::new_session_id();
    let stream = super::keys::own(prefix, node, "ask");
    let reply = super::keys::own(prefix, node, &format!("reply:{nonce}"));
    let fields = [
        ("op", call.op().to_string()),
        ("el", keys.name.clone()),
        ("member", call.member().to_string()),
        ("ttl", session.options.ttl_ms().to_string()),
        (
            "witnessed",
            match call {
                Call::Acquire { witnessed, .. } => witnessed.to_string(),
                _ => "-1".into(),
            },
        ),
        ("reply", nonce),
    ];
    session
        .run(operation, |mut c| async move {
            let mut cmd = redis::cmd("XADD");
            cmd.arg(&stream).arg("MAXLEN").arg("~").arg(STREAM_CAP).arg("*");
            for (field, value) in &fields {
                cmd.arg(*field).arg(value);
            }
            cmd.query_async::<String>(&mut c).await
        })
        .await?;
    let limit = patience(session);
    let mut conn = session.pool.dedicated(operation).await?;
    let mut cmd = redis::cmd("BLPOP");
    cmd.arg(&reply).arg(limit.as_secs_f64());
    let answer = cmd.query_async::<Option<(String, String)>>(&mut conn);
    let answer = match tokio::time::timeout(session.pool.blocking_limit(limit), answer).await {
        Ok(Ok(a)) => {
            session.pool.give_back(conn);
            a
        }
        Ok(Err(e)) => return Err(session.pool.fail(e, operation)),
        Err(_) => {
            return Err(Error::ConnectionLoss {
                backend: BACKEND,
                operation,
            });
        }
    };
    let Some((_, answer)) = answer else {
        return Err(Error::Timeout {
            operation: "an answer from the election authority",
            after: limit,
        });
    };
    decode(&answer, operation)
}

/// An answer as the authority writes it (JSON): `{"member": ...}`, `{"step": [token, wait, renewals]}`,
/// `{"renewed": n}`, `{"left": true}`, or `{"error": kind, "reason": ...}` with kind `retry`, `refused` or
/// `not_replicated` (then `wanted` and `acked`).
pub(crate) fn encode(answer: &Result<Answer>) -> String {
    let value = match answer {
        Ok(Answer::Member(m)) => serde_json::json!({ "member": m }),
        Ok(Answer::Step(t, w, c)) => serde_json::json!({ "step": [t, w, c] }),
        Ok(Answer::Renewed(n)) => serde_json::json!({ "renewed": n }),
        Ok(Answer::Left) => serde_json::json!({ "left": true }),
        Err(Error::NotReplicated { wanted, acked, .. }) => {
            serde_json::json!({ "error": "not_replicated", "wanted": wanted, "acked": acked })
        }
        Err(e) if e.is_retryable() => serde_json::json!({ "error": "retry", "reason": e.to_string() }),
        Err(e) => serde_json::json!({ "error": "refused", "reason": e.to_string() }),
    };
    value.to_string()
}

/// The answer [`encode`] wrote, or the error it carries.
pub(crate) fn decode(answer: &str, operation: &'static str) -> Result<Answer> {
    let malformed = || Error::Backend {
        backend: BACKEND,
        operation,
        message: format!("malformed answer from the election authority: {answer:?}"),
        cause: None,
    };
    let v: serde_json::Value = serde_json::from_str(answer).map_err(|_| malformed())?;
    if let Some(m) = v.get("member").and_then(|m| m.as_str()) {
        return Ok(Answer::Member(m.to_string()));
    }
    if let Some(step) = v.get("step").and_then(|s| s.as_array()) {
        let n: Vec<i64> = step.iter().filter_map(serde_json::Value::as_i64).collect();
        return match n[..] {
            [t, w, c] => Ok(Answer::Step(t, w, c)),
            _ => Err(malformed()),
        };
    }
    if let Some(n) = v.get("renewed").and_then(serde_json::Value::as_i64) {
        return Ok(Answer::Renewed(n));
    }
    if v.get("left").is_some() {
        return Ok(Answer::Left);
    }
    let reason = v
        .get("reason")
        .and_then(|r| r.as_str())
        .unwrap_or_default()
        .to_string();
    let count = |field: &str| {
        v.get(field)
            .and_then(serde_json::Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(0)
    };
    match v.get("error").and_then(|e| e.as_str()) {
        Some("not_replicated") => Err(Error::NotReplicated {
            operation,
            wanted: count("wanted"),
            acked: count("acked"),
        }),
        Some("retry") => Err(Error::Overloaded {
            backend: BACKEND,
            operation,
            reason: format!("the election authority: {reason}"),
        }),
        Some("refused") => Err(Error::Forbidden {
            backend: BACKEND,
            operation,
            reason: format!("the election authority refused: {reason}"),
        }),
        _ => Err(malformed()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn answers_survive_the_trip_and_errors_keep_their_kind() {
        for a in [
            Answer::Member("n1~000000000007".into()),
            Answer::Step(1 << 33, 0, 4),
            Answer::Renewed(1),
            Answer::Left,
        ] {
            assert_eq!(decode(&encode(&Ok(a.clone())), "campaign").unwrap(), a);
        }
        let not = Error::NotReplicated {
            operation: "campaign",
            wanted: 2,
            acked: 1,
        };
        assert!(matches!(
            decode(&encode(&Err(not)), "campaign"),
            Err(Error::NotReplicated {
                wanted: 2,
                acked: 1,
                ..
            })
        ));
        let lost = Error::ConnectionLoss {
            backend: BACKEND,
            operation: "campaign",
        };
        assert!(
            decode(&encode(&Err(lost)), "campaign")
                .unwrap_err()
                .is_retryable()
        );
        let refused = Error::Closed;
        assert!(matches!(
            decode(&encode(&Err(refused)), "campaign"),
            Err(Error::Forbidden { .. })
        ));
        for junk in ["", "[]", "{\"step\": [1]}", "{\"error\": \"other\"}"] {
            assert!(
                matches!(decode(junk, "campaign"), Err(Error::Backend { .. })),
                "{junk}"
            );
        }
    }

    #[test]
    fn a_node_may_name_only_candidacies_it_joined() {
        assert_eq!(Call::parse("n1", "join", "", "-1"), Ok(Call::Join));
        assert!(Call::parse("n1", "renew", "n1~000000000001", "-1").is_ok());
        for member in [
            "n2~000000000001",
            "n1~1",
            "n10~000000000001",
            "n1",
            "n1~00000000000x",
            "",
        ] {
            assert!(Call::parse("n1", "renew", member, "-1").is_err(), "{member}");
        }
        assert!(Call::parse("n1", "acquire", "n1~000000000001", "x").is_err());
        assert!(Call::parse("n1", "grant", "n1~000000000001", "-1").is_err());
    }
}
