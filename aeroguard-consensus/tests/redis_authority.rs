//! Least privilege for members on Redis: members' own users (`AEROGUARD_MEMBERS`; r1-r3 here) may read the
//! elections but not write them; an election authority (`AEROGUARD_REDIS_AUTHORITY`) runs their election writes
//! as them and no one else. Their elections work; no key or command of the election recipes, tried with a
//! member's own login, changes who holds an election, any token, the quiet period or the epoch; and a request
//! naming another member's candidacy is refused.
#![cfg(all(feature = "redis", feature = "live-services"))]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aeroguard_consensus::redis::{RedisCoordinator, RedisCredentials, RedisElectionAuthority, RedisOptions};
use aeroguard_consensus::{Coordinator, Grant};

mod support;
use support::redis::{master_addr, master_conn_as, options, raw_client};
use support::services_credential;

const MEMBERS: [&str; 3] = ["r1", "r2", "r3"];

fn unique(base: &str) -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    format!("{base}-{}-{nanos}", std::process::id())
}

/// Member `node`'s own login (`node:password`).
fn login(node: &str) -> String {
    services_credential("AEROGUARD_MEMBERS")
        .split_whitespace()
        .find(|m| m.split_once(':').is_some_and(|(n, _)| n == node))
        .unwrap_or_else(|| panic!("the services have no login for {node}"))
        .to_string()
}

async fn authority(instance: &str) -> RedisElectionAuthority {
    let options = options().with_credentials(credentials("AEROGUARD_REDIS_AUTHORITY"));
    let members = MEMBERS.iter().map(|m| m.parse().unwrap()).collect();
    RedisElectionAuthority::start(instance.parse().unwrap(), options, members)
        .await
        .unwrap()
}

fn credentials(name: &str) -> RedisCredentials {
    RedisCredentials::parse(&services_credential(name)).unwrap()
}

fn member_options(node: &str) -> RedisOptions {
    options()
        .with_credentials(RedisCredentials::parse(&login(node)).unwrap())
        .with_election_authority()
}

async fn member(node: &str) -> std::sync::Arc<RedisCoordinator> {
    RedisCoordinator::connect(node.parse().unwrap(), member_options(node))
        .await
        .unwrap()
}

/// A raw connection to the master as member `node`'s own login, which waits as long as a `BLPOP` asks.
async fn raw(node: &str) -> redis::aio::MultiplexedConnection {
    let patient = redis::AsyncConnectionConfig::new().set_response_timeout(None);
    raw_client(&master_addr().await, &login(node))
        .get_multiplexed_async_connection_with_config(&patient)
        .await
        .unwrap()
}

async fn grant(c: &RedisCoordinator, election: &str) -> Option<Grant> {
    c.election(election).unwrap().grant().await.unwrap()
}

/// A running authority, and a fresh election that member `node` holds through it.
struct Held {
    authority: RedisElectionAuthority,
    election: String,
    holder: std::sync::Arc<RedisCoordinator>,
    leadership: aeroguard_consensus::Leadership,
    grant: Grant,
}

async fn held_by(node: &str) -> Held {
    let authority = authority(&unique("authority")).await;
    let election = unique("el");
    let holder = member(node).await;
    let leadership = holder.election(&election).unwrap().campaign().await.unwrap();
    let grant = grant(&holder, &election).await.unwrap();
    assert_eq!((grant.node.as_str(), grant.token), (node, leadership.token()));
    Held {
        authority,
        election,
        holder,
        leadership,
        grant,
    }
}

impl Held {
    /// Checks the grant is as it was and the holder still trusts it, then resigns and closes everything.
    async fn unchanged_then_closed(self) {
        assert_eq!(grant(&self.holder, &self.election).await, Some(self.grant));
        assert!(self.leadership.ensure().is_ok());
        self.leadership.resign().await.unwrap();
        self.holder.close().await;
        self.authority.close().await;
    }
}

#[tokio::test]
async fn members_elect_through_the_authority_and_a_departure_hands_over_at_once() {
    let authority = authority(&unique("authority")).await;
    let election = unique("el");
    let (r1, r2) = (member("r1").await, member("r2").await);
    let first = r1.election(&election).unwrap().campaign().await.unwrap();
    let seen = grant(&r2, &election).await.unwrap();
    assert_eq!((seen.node.as_str(), seen.token), ("r1", first.token()));
    let contender = r2.election(&election).unwrap();
    let second = tokio::spawn(async move { contender.campaign().await });
    // The lease outlives several sessions' worth of renewals, each through the authority.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(
        first.ensure().is_ok(),
        "renewals through the authority keep the lease"
    );
    assert!(!second.is_finished(), "nobody else is elected while r1 holds it");
    let resigned = std::time::Instant::now();
    first.resign().await.unwrap();
    let second = tokio::time::timeout(Duration::from_secs(3), second)
        .await
        .expect("the successor is woken, not left to its timeout")
        .unwrap()
        .unwrap();
    let handover = resigned.elapsed();
    assert!(second.token() > seen.token, "tokens rise: {:?}", second.token());
    assert_eq!(grant(&r1, &election).await.unwrap().node.as_str(), "r2");
    eprintln!("handover through the authority: {handover:?}");
    second.resign().await.unwrap();
    r1.close().await;
    r2.close().await;
    authority.close().await;
}

#[tokio::test]
async fn a_members_own_login_changes_no_election_key_and_no_other_members_keys() {
    let held = held_by("r2").await;
    let election = held.election.clone();
    let mut r1 = raw("r1").await;
    let base = format!("aeroguard:el:{{{election}}}");
    let failover = "aeroguard:failover:{master}";
    let mut tries: Vec<Vec<String>> = Vec::new();
    for suffix in [
        "lease", "token", "term", "seq", "renewals", "released", "queue", "alive",
    ] {
        let key = format!("{base}:{suffix}");
        tries.push(vec!["SET".into(), key.clone(), "r1~000000000001".into()]);
        tries.push(vec!["DEL".into(), key.clone()]);
        tries.push(vec!["INCR".into(), key.clone()]);
        tries.push(vec!["PEXPIRE".into(), key.clone(), "1".into()]);
        tries.push(vec!["ZADD".into(), key, "0".into(), "r1~000000000001".into()]);
    }
    for suffix in ["epoch", "quiet", "base"] {
        tries.push(vec![
            "SET".into(),
            format!("{failover}:{suffix}"),
            "9007199254740991".into(),
        ]);
    }
    // A script is checked command by command against the caller's login.
    tries.push(vec![
        "EVAL".into(),
        "return redis.call('SET', KEYS[1], ARGV[1])".into(),
        "1".into(),
        format!("{base}:lease"),
        "r1~000000000001".into(),
    ]);
    // Another member's own keys: its requests to the authority, its session, its answers and wake-up lists.
    tries.push(vec![
        "XADD".into(),
        "aeroguard-node/r2/ask".into(),
        "*".into(),
        "op".into(),
        "leave".into(),
    ]);
    tries.push(vec![
        "SET".into(),
        "aeroguard-node/r2/session:x".into(),
        "1".into(),
    ]);
    tries.push(vec![
        "LPUSH".into(),
        "aeroguard-node/r2/reply:00".into(),
        "{}".into(),
    ]);
    tries.push(vec!["SET".into(), "aeroguard:session:{r2}:x".into(), "1".into()]);
    for words in &tries {
        let mut cmd = redis::cmd(&words[0]);
        for w in &words[1..] {
            cmd.arg(w);
        }
        let refused = cmd
            .query_async::<redis::Value>(&mut r1)
            .await
            .expect_err("refused");
        assert_eq!(refused.code(), Some("NOPERM"), "{words:?}: {refused:?}");
    }
    // It may read them.
    let holder: Option<String> = redis::cmd("GET")
        .arg(format!("{base}:lease"))
        .query_async(&mut r1)
        .await
        .unwrap();
    assert!(holder.is_some_and(|h| h.starts_with("r2~")));
    held.unchanged_then_closed().await;
}

#[tokio::test]
async fn a_request_naming_another_members_candidacy_or_a_long_lease_is_refused() {
    let held = held_by("r2").await;
    let election = held.election.clone();
    let mut admin = master_conn_as("AEROGUARD_REDIS_ADMIN").await;
    let queue: Vec<String> = redis::cmd("ZRANGE")
        .arg(format!("aeroguard:el:{{{election}}}:queue"))
        .arg(0)
        .arg(-1)
        .query_async(&mut admin)
        .await
        .unwrap();
    let theirs = queue[0].clone();
    assert!(theirs.starts_with("r2~"), "{queue:?}");
    let mut r1 = raw("r1").await;
    let requests = [
        ("leave", theirs.as_str(), "2000"),
        ("renew", theirs.as_str(), "2000"),
        ("acquire", theirs.as_str(), "2000"),
        ("join", "", "36000000"),
    ];
    for (i, (op, member, ttl)) in requests.into_iter().enumerate() {
        let nonce = format!("{:x}", 0xab00 + i);
        redis::cmd("XADD")
            .arg("aeroguard-node/r1/ask")
            .arg("*")
            .arg("op")
            .arg(op)
            .arg("el")
            .arg(&election)
            .arg("member")
            .arg(member)
            .arg("ttl")
            .arg(ttl)
            .arg("witnessed")
            .arg("-1")
            .arg("reply")
            .arg(&nonce)
            .query_async::<String>(&mut r1)
            .await
            .unwrap();
        let (_, answer): (String, String) = redis::cmd("BLPOP")
            .arg(format!("aeroguard-node/r1/reply:{nonce}"))
            .arg(5)
            .query_async(&mut r1)
            .await
            .unwrap();
        assert!(answer.contains("\"refused\""), "{op} {member}: {answer}");
    }
    held.unchanged_then_closed().await;
}

#[tokio::test]
async fn an_authority_refuses_options_that_ask_an_authority_and_bad_member_lists() {
    let asking = options().with_election_authority();
    let e = RedisElectionAuthority::start("a1".parse().unwrap(), asking, vec!["r1".parse().unwrap()])
        .await
        .unwrap_err();
    assert!(e.to_string().contains("election_authority"), "{e}");
    for members in [vec![], vec!["r1".parse().unwrap(), "r1".parse().unwrap()]] {
        let e = RedisElectionAuthority::start("a1".parse().unwrap(), options(), members)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("members"), "{e}");
    }
}

#[tokio::test]
async fn the_service_reads_grants_with_a_user_that_writes_no_election_key() {
    let held = held_by("r3").await;
    let election = held.election.clone();
    let service = options()
        .with_credentials(credentials("AEROGUARD_SERVICE_REDIS_AUTH"))
        .with_election_authority();
    let reader = RedisCoordinator::connect("sentinel-service".parse().unwrap(), service)
        .await
        .unwrap();
    assert_eq!(grant(&reader, &election).await.as_ref(), Some(&held.grant));
    let mut raw = raw_client(
        &master_addr().await,
        &services_credential("AEROGUARD_SERVICE_REDIS_AUTH"),
    )
    .get_multiplexed_async_connection()
    .await
    .unwrap();
    for key in [
        format!("aeroguard:el:{{{election}}}:lease"),
        format!("aeroguard:el:{{{election}}}:term"),
        "aeroguard:failover:{master}:epoch".to_string(),
        "aeroguard:failover:{master}:quiet".to_string(),
    ] {
        let refused = redis::cmd("SET")
            .arg(&key)
            .arg("sentinel-service~000000000001")
            .query_async::<redis::Value>(&mut raw)
            .await
            .expect_err("refused");
        assert_eq!(refused.code(), Some("NOPERM"), "{key}: {refused:?}");
    }
    reader.close().await;
    held.unchanged_then_closed().await;
}

#[tokio::test]
async fn a_request_an_authority_took_and_never_answered_is_answered_by_another() {
    let election = unique("el");
    let mut admin = master_conn_as("AEROGUARD_REDIS_ADMIN").await;
    let stream = "aeroguard-node/r1/ask";
    let made: redis::RedisResult<()> = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(stream)
        .arg("authority")
        .arg("$")
        .arg("MKSTREAM")
        .query_async(&mut admin)
        .await;
    assert!(made.is_ok() || made.is_err_and(|e| e.code() == Some("BUSYGROUP")));
    let mut r1 = raw("r1").await;
    let nonce = format!("{:x}", std::process::id());
    redis::cmd("XADD")
        .arg(stream)
        .arg("*")
        .arg("op")
        .arg("join")
        .arg("el")
        .arg(&election)
        .arg("ttl")
        .arg("2000")
        .arg("reply")
        .arg(&nonce)
        .query_async::<String>(&mut r1)
        .await
        .unwrap();
    // An authority that dies right after reading it: the request is its, and nobody answers.
    let taken: redis::Value = redis::cmd("XREADGROUP")
        .arg("GROUP")
        .arg("authority")
        .arg("died")
        .arg("COUNT")
        .arg(100)
        .arg("STREAMS")
        .arg(stream)
        .arg(">")
        .query_async(&mut admin)
        .await
        .unwrap();
    assert!(format!("{taken:?}").contains(&nonce), "{taken:?}");
    let authority = authority(&unique("authority")).await;
    let (_, answer): (String, String) = redis::cmd("BLPOP")
        .arg(format!("aeroguard-node/r1/reply:{nonce}"))
        .arg(5)
        .query_async(&mut r1)
        .await
        .unwrap();
    assert!(answer.contains("\"member\":\"r1~"), "{answer}");
    authority.close().await;
}
