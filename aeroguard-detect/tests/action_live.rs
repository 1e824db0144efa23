//! Action calls against a real receiver (`scripts/services`: the HTTPS webhook receiver, whose `/actions/` paths
//! keep the newest fencing token and the keys they took): a call carries its leader's token and its episode's
//! key; a repeat is acknowledged and not taken again; a deposed leader's late call is refused, for good.

use aeroguard_core::Timestamp;
use aeroguard_detect::action::{ActionHook, ActionRecord, Actions, Facts, parse_policy};
use aeroguard_detect::{MemberRecord, Verdict, Vote};

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: eval \"$(bash scripts/services env)\""))
}

fn received(path: &str) -> Vec<serde_json::Value> {
    let log = std::fs::read_to_string(var("AEROGUARD_WEBHOOK_LOG")).unwrap_or_default();
    log.lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("a JSON line"))
        .filter(|v| v["path"] == path)
        .collect()
}

fn alarm() -> Verdict {
    let member = |name: &str, score: f64, vote| MemberRecord {
        name: name.into(),
        score: Some(score),
        threshold: 0.5,
        weight: 1.0,
        vote,
        fault: None,
        drivers: vec![],
    };
    Verdict {
        alarm: true,
        passed: true,
        yes: 2.0,
        required: 2.0,
        available: 3.0,
        degraded: false,
        members: vec![
            member("iforest", 0.8, Vote::Yes),
            member("autoencoder", 0.7, Vote::Yes),
            member("lstm", 0.3, Vote::No),
        ],
    }
}

/// The action of an alarm on `subject` at `s` seconds, by `leader` under `token`.
fn action(subject: &str, s: i64, token: u64, leader: &str) -> ActionRecord {
    let policy = parse_policy(
        "[[action]]\nname = \"upset\"\nvote = true\nwebhook = true\nrecommend = \"Inspect {subject}: {votes}\"\n",
    )
    .unwrap();
    let at = Timestamp::from_millis(1_700_000_000_000 + s * 1000);
    let mut actions = Actions::new(policy);
    let mut acted = actions
        .observe(&Facts::new(subject, at).with_verdict(alarm()))
        .unwrap();
    assert_eq!(acted.len(), 1);
    acted.remove(0).fenced(token, leader)
}

#[tokio::test]
async fn an_action_call_carries_token_and_key_and_stale_leaders_are_refused() {
    let path = format!("/actions/{}-{}", std::process::id(), Timestamp::now().as_millis());
    let ca = std::fs::read(var("AEROGUARD_RECEIVERS_CA")).unwrap();
    let hook = ActionHook::new(&format!("https://localhost:8443{path}"))
        .unwrap()
        .with_ca(&ca)
        .unwrap()
        .with_bearer(&var("AEROGUARD_WEBHOOK_TOKEN"));
    let first = action("pump-7", 0, 7, "n1");
    hook.call(&first).await.unwrap();
    // The outbox tries again after a lost answer: the same key, acknowledged, not taken again.
    hook.call(&first).await.unwrap();
    // A successor (token 8) acts on another episode.
    hook.call(&action("pump-7", 60, 8, "n2")).await.unwrap();
    // The deposed leader's late call (token 7, an episode of its own) is refused, and no retry can help.
    let err = hook.call(&action("pump-7", 90, 7, "n1")).await.unwrap_err();
    assert!(err.to_string().contains("409"), "{err}");
    assert!(err.is_permanent(), "{err:?}");

    let got = received(&path);
    let outcomes: Vec<&str> = got.iter().map(|l| l["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["accepted", "repeat", "accepted", "stale"]);
    let headers = &got[0]["headers"];
    assert_eq!(headers["idempotency-key"], first.key.as_str());
    assert_eq!(headers["x-aeroguard-fencing-token"], "7");
    let body: ActionRecord = serde_json::from_str(got[0]["body"].as_str().unwrap()).unwrap();
    assert_eq!(body, first);
    assert!(
        body.recommendation.contains("iforest yes 0.8 > 0.5") && body.votes.is_some(),
        "the vote record travels: {}",
        body.recommendation
    );
}

#[tokio::test]
async fn a_call_without_the_receivers_trust_or_token_is_refused() {
    let path = format!("/actions/refused-{}", std::process::id());
    let url = format!("https://localhost:8443{path}");
    let untrusted = ActionHook::new(&url)
        .unwrap()
        .with_bearer(&var("AEROGUARD_WEBHOOK_TOKEN"));
    let err = untrusted.call(&action("pump-7", 0, 1, "n1")).await.unwrap_err();
    assert!(err.to_string().to_lowercase().contains("certificate"), "{err}");
    let ca = std::fs::read(var("AEROGUARD_RECEIVERS_CA")).unwrap();
    let no_token = ActionHook::new(&url).unwrap().with_ca(&ca).unwrap();
    let err = no_token.call(&action("pump-7", 0, 1, "n1")).await.unwrap_err();
    assert!(err.to_string().contains("401"), "{err}");
    assert!(received(&path).is_empty());
}
