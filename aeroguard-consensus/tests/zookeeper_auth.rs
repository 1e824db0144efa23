//! Authentication and ACLs on the ensemble of `scripts/services start` (which admits SASL logins only): a
//! client without credentials, a stranger with credentials of its own making, an outsider with the wrong ones,
//! a member touching another's znodes and a read-only observer each get a typed error, and nothing changes.
#![cfg(all(feature = "zookeeper", feature = "live-services"))]

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use aeroguard_consensus::zookeeper::{ZkAuth, ZkCoordinator, ZkDigest, ZkOptions};
use aeroguard_consensus::{Coordinator, Error, Expect};
use zookeeper_client as zk;

mod support;
use support::zk::{cluster, cluster_credential, digest_member, gate, hosts, member, own_login, raw_as};

/// A root of its own per test, so the tests run side by side.
fn root() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "/agauth-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

fn options(root: &str, auth: ZkAuth) -> ZkOptions {
    ZkOptions::new(hosts())
        .with_session_timeout(Duration::from_secs(2))
        .with_root(root)
        .with_auth(auth)
}

async fn connect(node: &str, root: &str, auth: ZkAuth) -> std::sync::Arc<ZkCoordinator> {
    ZkCoordinator::connect(node.parse().unwrap(), options(root, auth))
        .await
        .unwrap()
}

/// A raw client with the shared SASL login and the digest `credentials` (`user:password`).
async fn raw(credentials: &str) -> zk::Client {
    raw_as(&gate(), &[credentials]).await
}

fn outsider() -> ZkDigest {
    // The cluster's user name with a wrong password: a different identity to ZooKeeper.
    ZkDigest::new(cluster().user(), "wrong-password").unwrap()
}

/// The cluster's state the attacks must leave alone: the leader's candidate, a config value, a round
/// announcement.
struct Scene {
    root: String,
    lead: aeroguard_consensus::Leadership,
    leader: std::sync::Arc<ZkCoordinator>,
    candidate: String,
}

async fn scene() -> Scene {
    let root = root();
    let leader = connect("n1", &root, member("n1")).await;
    let lead = leader.election("pump").unwrap().campaign().await.unwrap();
    let config = leader.config();
    config
        .set_raw("limits", b"{\"max\":7}".to_vec(), Expect::Absent)
        .await
        .unwrap();
    config
        .set_raw("round-pump", b"{\"round\":3}".to_vec(), Expect::Absent)
        .await
        .unwrap();
    let admin = raw(&cluster_credential()).await;
    let children = admin
        .list_children(&format!("{root}/elections/pump/n1"))
        .await
        .unwrap();
    assert_eq!(children.len(), 1, "{children:?}");
    let candidate = format!("{root}/elections/pump/n1/{}", children[0]);
    Scene {
        root,
        lead,
        leader,
        candidate,
    }
}

impl Scene {
    /// Nothing changed: the same leader with the same token, the same config and announcement.
    async fn unchanged(&self) {
        assert!(self.lead.ensure().is_ok(), "{:?}", self.lead.loss());
        let now = self.leader.election("pump").unwrap().leader().await.unwrap();
        assert_eq!(now.unwrap().as_str(), "n1");
        let config = self.leader.config();
        let limits = config.get_raw("limits").await.unwrap().unwrap();
        assert_eq!(
            (limits.value.as_slice(), limits.version),
            (&b"{\"max\":7}"[..], 1)
        );
        let round = config.get_raw("round-pump").await.unwrap().unwrap();
        assert_eq!(
            (round.value.as_slice(), round.version),
            (&b"{\"round\":3}"[..], 1)
        );
    }

    /// Every attack with a raw client: delete the candidate, rewrite config, announce a round, join the
    /// election, loosen the root's ACL. Returns the errors.
    async fn attack(&self, client: &zk::Client) -> Vec<zk::Error> {
        let root = &self.root;
        let mut errors = Vec::new();
        let mut record = |r: Result<(), zk::Error>| errors.push(r.expect_err("the attack must fail"));
        record(client.delete(&self.candidate, None).await);
        record(
            client
                .set_data(&format!("{root}/config/limits"), b"{\"max\":1e9}", None)
                .await
                .map(drop),
        );
        record(
            client
                .set_data(&format!("{root}/config/round-pump"), b"{\"round\":99}", None)
                .await
                .map(drop),
        );
        record(client.delete(&format!("{root}/config/round-pump"), None).await);
        let opts = zk::CreateMode::EphemeralSequential.with_acls(zk::Acls::anyone_all());
        record(
            client
                .create(&format!("{root}/elections/pump/n0~"), b"", &opts)
                .await
                .map(drop),
        );
        let open = [zk::Acl::new(zk::Permission::ALL, zk::AuthId::anyone())];
        record(client.set_acl(root, &open, None).await.map(drop));
        errors
    }
}

#[tokio::test]
async fn a_client_without_credentials_is_refused_and_changes_nothing() {
    let scene = scene().await;
    let plain = ZkOptions::new(hosts()).with_root(&scene.root);
    let err = ZkCoordinator::connect("n9".parse().unwrap(), plain)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Unauthorized {
                backend: "zookeeper",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("requires authentication"), "{err}");
    // A raw client that sends no credentials never gets a session to attack with.
    let r = zk::Client::connector()
        .with_session_timeout(Duration::from_secs(4))
        .connect(&hosts())
        .await;
    assert!(matches!(r, Err(zk::Error::AuthFailed)), "{r:?}");
    scene.unchanged().await;
}

#[tokio::test]
async fn an_outsider_is_forbidden_and_changes_nothing() {
    let scene = scene().await;
    // Without a SASL login, no session at all; with the shared one, nothing of the cluster's.
    let refused = |auth| async {
        ZkCoordinator::connect("n9".parse().unwrap(), options(&scene.root, auth))
            .await
            .unwrap_err()
    };
    let err = refused(ZkAuth::member(outsider())).await;
    assert!(
        matches!(
            err,
            Error::Unauthorized {
                backend: "zookeeper",
                ..
            }
        ),
        "{err:?}"
    );
    let err = refused(ZkAuth::member(outsider()).with_sasl(gate())).await;
    assert!(
        matches!(
            err,
            Error::Forbidden {
                backend: "zookeeper",
                ..
            }
        ),
        "{err:?}"
    );
    let bad = outsider();
    let client = raw(&format!("{}:wrong-password", bad.user())).await;
    let errors = scene.attack(&client).await;
    assert!(
        errors.iter().all(|e| matches!(e, zk::Error::NoAuth)),
        "{errors:?}"
    );
    // Not even a read: the cluster's znodes are not world-readable.
    assert!(matches!(
        client.get_data(&format!("{}/config/limits", scene.root)).await,
        Err(zk::Error::NoAuth)
    ));
    scene.unchanged().await;
}

/// With its own login and the cluster credential, and nothing else, a member changes nothing of another's:
/// not who holds the election (delete, rewrite, re-ACL or out-queue the leader's candidate, squat or forge a
/// folder for another roster node), not the token, not another member's registration or inbox answer.
#[tokio::test]
async fn a_member_cannot_rewrite_another_members_znodes() {
    use aeroguard_consensus::Slot;
    let scene = scene().await;
    let root = &scene.root;
    let n2 = connect("n2", root, member("n2")).await;
    let reg = scene
        .leader
        .registry()
        .register("sensors", serde_json::json!({"unit": "bar"}))
        .await
        .unwrap();
    scene
        .leader
        .inbox("answers")
        .unwrap()
        .post(b"4.0".to_vec())
        .await
        .unwrap();
    let token = scene.lead.token();
    // n2 holds the cluster credential and its own login, not n1's.
    let client = raw_as(&own_login("n2"), &[&cluster_credential()]).await;
    let no = |what: &str, r: Result<(), zk::Error>| {
        assert!(matches!(r, Err(zk::Error::NoAuth)), "{what}: {r:?}");
    };
    no(
        "rewrite n1's registration",
        client
            .set_data(
                &format!("{root}/services/sensors/n1"),
                b"{\"unit\":\"psi\"}",
                None,
            )
            .await
            .map(drop),
    );
    no(
        "rewrite n1's candidate",
        client.set_data(&scene.candidate, b"n2", None).await.map(drop),
    );
    no(
        "delete n1's candidate",
        client.delete(&scene.candidate, None).await,
    );
    let (acls, _) = client.get_acl(&scene.candidate).await.unwrap();
    no(
        "re-ACL n1's candidate",
        client.set_acl(&scene.candidate, &acls, None).await.map(drop),
    );
    let folder = format!("{root}/elections/pump/n1");
    let (acls, _) = client.get_acl(&folder).await.unwrap();
    no(
        "re-ACL n1's folder",
        client.set_acl(&folder, &acls, None).await.map(drop),
    );
    let ephemeral = zk::CreateMode::EphemeralSequential.with_acls(zk::Acls::anyone_all());
    no(
        "queue in n1's folder",
        client
            .create(&format!("{folder}/n1~"), b"n1", &ephemeral)
            .await
            .map(drop),
    );
    no("delete n1's folder", client.delete(&folder, None).await);
    let dir = format!("{root}/elections/pump");
    let (acls, _) = client.get_acl(&dir).await.unwrap();
    no(
        "re-ACL the election",
        client.set_acl(&dir, &acls, None).await.map(drop),
    );
    let slot = format!("{root}/inbox/answers/n1");
    no(
        "rewrite n1's answer",
        client.set_data(&slot, b"1e9", None).await.map(drop),
    );
    no("delete n1's answer", client.delete(&slot, None).await);
    let (acls, _) = client.get_acl(&slot).await.unwrap();
    no(
        "re-ACL n1's answer",
        client.set_acl(&slot, &acls, None).await.map(drop),
    );

    // Folders for roster nodes that have none yet: one open to anyone, one n3's but with n2 beside it; a
    // candidate in each sorts before nobody and counts for nobody.
    let open = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
    client.create(&format!("{dir}/n3"), b"", &open).await.unwrap();
    let shared = [
        zk::Acl::new(zk::Permission::ALL, zk::AuthId::new("sasl", "lead")),
        zk::Acl::new(zk::Permission::ALL, zk::AuthId::new("sasl", "n2")),
    ];
    let shared = zk::CreateMode::Persistent.with_acls(zk::Acls::new(&shared));
    client.create(&format!("{dir}/lead"), b"", &shared).await.unwrap();
    for forged in ["n3", "lead"] {
        client
            .create(
                &format!("{dir}/{forged}/{forged}~"),
                forged.as_bytes(),
                &ephemeral,
            )
            .await
            .unwrap();
    }
    // n2 campaigning in its own folder waits its turn.
    let waiting = tokio::time::timeout(
        Duration::from_millis(500),
        n2.election("pump").unwrap().campaign(),
    )
    .await;
    assert!(waiting.is_err(), "n2 took the election from a live leader");
    let election = n2.election("pump").unwrap();
    let grant = election.grant().await.unwrap().unwrap();
    assert_eq!((grant.node.as_str(), grant.token), ("n1", token));
    let contenders: Vec<String> = election
        .contenders()
        .await
        .unwrap()
        .iter()
        .map(|n| n.to_string())
        .collect();
    assert_eq!(
        contenders,
        ["n1"],
        "only n1's candidate counts (n2's left with its campaign)"
    );
    // The node whose folder was squatted is told why it cannot campaign.
    let n3 = connect("n3", root, member("n3")).await;
    let err = n3.election("pump").unwrap().campaign().await.unwrap_err();
    assert!(matches!(err, Error::Forbidden { .. }), "{err:?}");
    assert!(
        err.to_string().contains("an administrator must delete it"),
        "{err}"
    );

    let members = n2.registry().instances("sensors").await.unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].payload, serde_json::json!({"unit": "bar"}));
    let n2_inbox = n2.inbox("answers").unwrap();
    let posted = |s: &Slot| matches!(s, Slot::Posted(v) if v == b"4.0");
    let read = read_until(&*n2_inbox, &"n1".parse().unwrap(), posted).await;
    assert!(posted(&read), "{read:?}");
    drop(reg);
    scene.unchanged().await;
}

#[tokio::test]
async fn an_observer_reads_everything_and_writes_nothing() {
    let root = root();
    let dashboard = ZkDigest::new("dashboard", "read-only-secret").unwrap();
    let n1 = connect("n1", &root, member("n1").with_observer(&dashboard.id())).await;
    let lead = n1.election("pump").unwrap().campaign().await.unwrap();
    n1.config()
        .set_raw("limits", b"7".to_vec(), Expect::Absent)
        .await
        .unwrap();
    let _reg = n1
        .registry()
        .register("sensors", serde_json::json!({}))
        .await
        .unwrap();

    let ro = connect("dash", &root, ZkAuth::observer(dashboard).with_sasl(gate())).await;
    assert_eq!(
        ro.election("pump")
            .unwrap()
            .leader()
            .await
            .unwrap()
            .unwrap()
            .as_str(),
        "n1"
    );
    assert_eq!(ro.config().get_raw("limits").await.unwrap().unwrap().value, b"7");
    assert_eq!(ro.registry().instances("sensors").await.unwrap().len(), 1);
    let err = ro
        .config()
        .set_raw("limits", b"8".to_vec(), Expect::Any)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Forbidden { .. }), "{err:?}");
    let err = ro.election("pump").unwrap().campaign().await.unwrap_err();
    assert!(matches!(err, Error::Forbidden { .. }), "{err:?}");
    let err = ro
        .registry()
        .register("sensors", serde_json::json!({}))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Forbidden { .. }), "{err:?}");
    assert_eq!(n1.config().get_raw("limits").await.unwrap().unwrap().version, 1);
    assert!(lead.ensure().is_ok());
}

#[tokio::test]
async fn a_root_anyone_may_write_is_refused() {
    let root = root();
    let client = raw(&cluster_credential()).await;
    let opts = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
    client.create(&root, b"", &opts).await.unwrap();
    let err = ZkCoordinator::connect("n1".parse().unwrap(), options(&root, member("n1")))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Forbidden { .. }), "{err:?}");
    assert!(
        err.to_string().contains(&root) && err.to_string().contains("world:anyone"),
        "{err}"
    );
}

/// A member that logs in with SASL (DIGEST-MD5, a user of the ensemble's JAAS section): its znodes name
/// `sasl:<user>`, another login gets nothing, and a wrong SASL password is refused at connect.
#[cfg(feature = "zookeeper-sasl")]
#[tokio::test]
async fn a_sasl_member_works_and_a_wrong_sasl_password_is_refused() {
    use aeroguard_consensus::zookeeper::ZkSasl;
    let password_of = |_: &ZkSasl| {
        let c = support::services_credential("AEROGUARD_ZK_SASL");
        c.split_once(':').unwrap().1.to_string()
    };
    let root = root();
    let login = ZkSasl::parse(&support::services_credential("AEROGUARD_ZK_SASL")).unwrap();
    // `/` is the digest cluster's: it makes the SASL cluster's root, which that cluster then owns.
    let owner = raw(&cluster_credential()).await;
    let sasl_all = [zk::Acl::new(
        zk::Permission::ALL,
        zk::AuthId::new("sasl", login.user()),
    )];
    let opts = zk::CreateMode::Persistent.with_acls(zk::Acls::new(&sasl_all));
    owner.create(&root, b"", &opts).await.unwrap();
    let member = connect("s1", &root, ZkAuth::sasl_member(login.clone())).await;
    let lead = member.election("pump").unwrap().campaign().await.unwrap();
    member
        .config()
        .set_raw("limits", b"7".to_vec(), Expect::Absent)
        .await
        .unwrap();
    // The cluster's digest identity is not this cluster's: read the root's ACL as the SASL member itself.
    let reader = zk::Client::connector()
        .with_sasl(zk::SaslOptions::digest_md5(
            login.user().to_string(),
            password_of(&login),
        ))
        .connect(&hosts())
        .await
        .unwrap();
    let (acls, _) = reader.get_acl(&format!("{root}/config")).await.unwrap();
    assert!(
        acls.iter()
            .all(|a| a.scheme() == "sasl" && a.id() == login.user()),
        "{acls:?}"
    );
    // Another SASL login (and a wrong digest) reads nothing of this cluster's.
    let outsider = raw_as(
        &own_login("f0"),
        &[&format!("{}:wrong-password", cluster().user())],
    )
    .await;
    assert!(matches!(
        outsider.get_data(&format!("{root}/config/limits")).await,
        Err(zk::Error::NoAuth)
    ));
    let wrong = ZkSasl::new(login.user(), "wrong-password").unwrap();
    let err = ZkCoordinator::connect("s2".parse().unwrap(), options(&root, ZkAuth::sasl_member(wrong)))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unauthorized { .. }), "{err:?}");
    assert!(lead.ensure().is_ok());
}

/// What the ensemble answers a four-letter word on `port`.
fn four_letter(port: u16, word: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    s.write_all(word.as_bytes()).unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

/// A stranger without credentials, with a SASL login the servers do not list, or with a digest identity of its
/// own making (ZooKeeper's digest scheme accepts any) gets no session: the servers admit SASL logins only. One
/// that holds the shared login but not the cluster's credential reads nothing of the cluster and cannot create
/// under `/`, change `/`'s ACL or join. Four-letter words beyond health checks are not served.
#[tokio::test]
async fn a_stranger_reads_nothing_and_the_root_is_read_only() {
    let unlisted = zk::Client::connector()
        .with_session_timeout(Duration::from_secs(4))
        .with_sasl(zk::SaslOptions::digest_md5("stranger", "made-up"))
        .connect(&hosts())
        .await;
    assert!(unlisted.is_err(), "an unlisted SASL login got a session");
    let self_made = zk::Client::connector()
        .with_session_timeout(Duration::from_secs(4))
        .with_auth("digest", b"mallory:made-up")
        .connect(&hosts())
        .await;
    assert!(self_made.is_err(), "a self-made digest identity got a session");
    let scene = scene().await;
    let mallory = ZkAuth::member(ZkDigest::new("mallory", "made-up").unwrap());
    let err = ZkCoordinator::connect(
        "n9".parse().unwrap(),
        ZkOptions::new(hosts())
            .with_root(root())
            .with_auth(mallory.clone()),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::Unauthorized { .. }), "{err:?}");
    let err = ZkCoordinator::connect(
        "n9".parse().unwrap(),
        ZkOptions::new(hosts())
            .with_root(root())
            .with_auth(mallory.with_sasl(gate())),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::Forbidden { .. }), "{err:?}");

    let client = raw("mallory:made-up").await;
    let opts = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
    let r = client.create(&root(), b"", &opts).await;
    assert!(matches!(r, Err(zk::Error::NoAuth)), "{r:?}");
    let r = client.set_acl("/", &zk::Acls::anyone_all(), None).await;
    assert!(matches!(r, Err(zk::Error::NoAuth)), "{r:?}");
    let (acls, _) = client.get_acl("/").await.unwrap();
    assert!(
        acls.iter()
            .all(|a| a.scheme() != "world" || a.permission() == zk::Permission::READ),
        "{acls:?}"
    );
    assert!(matches!(
        client.get_data(&format!("{}/config/limits", scene.root)).await,
        Err(zk::Error::NoAuth)
    ));
    scene.unchanged().await;

    for word in ["stat", "cons", "dump", "envi", "wchc", "conf"] {
        let answer = four_letter(2181, word);
        assert!(answer.contains("not in the whitelist"), "{word}: {answer}");
    }
    assert!(four_letter(2181, "srvr").contains("Mode: "));
    assert_eq!(four_letter(2181, "ruok"), "imok");
}

/// With digest node identities, a holder of the cluster credential (which then administers inbox slots, to
/// see their full ACLs) bumps a node's slot ACL version with no-op `setAcl` calls: readers stop vouching for the
/// slot, and the node's next post makes it again, so its answers count again. (With SASL identities of the
/// nodes' own nobody else administers a slot: `a_member_cannot_rewrite_another_members_znodes`.)
#[tokio::test]
async fn a_slot_whose_acl_was_touched_is_made_again_by_its_node() {
    use aeroguard_consensus::Slot;
    let root = root();
    let n1 = connect("n1", &root, digest_member("n1")).await;
    let lead = connect("lead", &root, digest_member("lead")).await;
    let inbox = n1.inbox("answers").unwrap();
    let reader = lead.inbox("answers").unwrap();
    let node: aeroguard_core::NodeId = "n1".parse().unwrap();
    inbox.post(b"4.0".to_vec()).await.unwrap();
    let read = read_until(&*reader, &node, |s| matches!(s, Slot::Posted(v) if v == b"4.0")).await;
    assert!(matches!(&read, Slot::Posted(v) if v == b"4.0"), "{read:?}");

    let mallory = raw(&cluster_credential()).await;
    let slot = format!("{root}/inbox/answers/n1");
    let (acls, _) = mallory.get_acl(&slot).await.unwrap();
    for _ in 0..2 {
        mallory.set_acl(&slot, &zk::Acls::new(&acls), None).await.unwrap();
    }
    let read = read_until(&*reader, &node, |s| matches!(s, Slot::Unattested(_))).await;
    assert!(matches!(&read, Slot::Unattested(_)), "{read:?}");

    inbox.post(b"5.0".to_vec()).await.unwrap();
    // The reader's session may be on a server a write or two behind the poster's: read until it caught up.
    let read = read_until(&*reader, &node, |s| matches!(s, Slot::Posted(v) if v == b"5.0")).await;
    assert!(matches!(&read, Slot::Posted(v) if v == b"5.0"), "{read:?}");
}

/// Reads `node`'s slot until `done` holds (at most 3 s): ZooKeeper orders each session's own reads after its
/// writes, but another session may be served by a server that has not applied them yet.
async fn read_until(
    reader: &dyn aeroguard_consensus::Inbox,
    node: &aeroguard_core::NodeId,
    done: impl Fn(&aeroguard_consensus::Slot) -> bool,
) -> aeroguard_consensus::Slot {
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    loop {
        let read = reader.read(node).await.unwrap();
        if done(&read) || std::time::Instant::now() > deadline {
            return read;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Candidates another member (n2, with its own login and the cluster credential) makes by hand do not hold or
/// take an election: in its own folder, a persistent one (which would outlive every session) and one with a
/// made-up sequence (`n2~-1`); folders of names outside the roster; and an ephemeral candidate made after the
/// leader's waits its turn.
#[tokio::test]
async fn forged_candidates_neither_hold_nor_take_an_election() {
    let root = root();
    let n1 = connect("n1", &root, member("n1")).await;
    let n2 = connect("n2", &root, member("n2")).await;
    let first = n2.election("pump").unwrap().campaign().await.unwrap();
    first.resign().await.unwrap();
    let dir = format!("{root}/elections/pump");
    let mallory = raw_as(&own_login("n2"), &[&cluster_credential()]).await;
    let persistent = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
    for name in ["n2/n2~0000000000", "n2/n2~-1"] {
        mallory
            .create(&format!("{dir}/{name}"), b"forged", &persistent)
            .await
            .unwrap();
    }
    let ephemeral = zk::CreateMode::Ephemeral.with_acls(zk::Acls::anyone_all());
    mallory
        .create(&format!("{dir}/aaa"), b"", &persistent)
        .await
        .unwrap();
    mallory
        .create(&format!("{dir}/aaa/aaa~0000000000"), b"forged", &ephemeral)
        .await
        .unwrap();
    let election = n1.election("pump").unwrap();
    let lead = tokio::time::timeout(Duration::from_secs(10), election.campaign())
        .await
        .expect("no election past the forged candidates")
        .unwrap();
    assert_eq!(election.leader().await.unwrap().unwrap().as_str(), "n1");

    mallory
        .create(&format!("{dir}/n2/n2~0000000001"), b"forged", &ephemeral)
        .await
        .unwrap();
    let grant = election.grant().await.unwrap().unwrap();
    assert_eq!((grant.node.as_str(), grant.token), ("n1", lead.token()));
    let contenders: Vec<String> = election
        .contenders()
        .await
        .unwrap()
        .iter()
        .map(|n| n.as_str().to_string())
        .collect();
    assert_eq!(contenders, ["n1", "n2"]);
    assert!(lead.ensure().is_ok());
}

/// The ensemble's hard quotas hold: under `/aeroguard-quota-test` (20 znodes, 4 KiB, set by
/// `scripts/services`) a member can neither make more znodes nor store more bytes than the quota, and is told
/// why; without the quota it would fill the servers' heaps.
#[tokio::test]
async fn a_root_over_its_quota_refuses_more() {
    let root = "/aeroguard-quota-test";
    let n1 = connect("n1", root, member("n1")).await;
    let config = n1.config();
    let big = vec![b'x'; 5 * 1024];
    let err = config
        .set_raw(&format!("big-{}", std::process::id()), big, Expect::Any)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Forbidden { .. }), "{err:?}");
    assert!(err.to_string().contains("quota"), "{err}");
    let mut refused = None;
    for k in 0..40 {
        if let Err(e) = config
            .set_raw(
                &format!("k{}-{k}", std::process::id()),
                b"1".to_vec(),
                Expect::Any,
            )
            .await
        {
            refused = Some(e);
            break;
        }
    }
    let err = refused.expect("40 more znodes fit under a 20-znode quota");
    assert!(err.to_string().contains("QuotaExceeded"), "{err}");
    let admin = raw(&cluster_credential()).await;
    let stat = admin
        .check_stat(&format!("{root}/config"))
        .await
        .unwrap()
        .unwrap();
    assert!(stat.num_children <= 20, "{stat:?}");
}

/// Not only the root: a recipe parent (`config`) that someone made open to anyone is refused where the client
/// finds it, naming it, and nothing is written under it.
#[tokio::test]
async fn a_recipe_parent_anyone_may_write_is_refused() {
    let root = root();
    let n1 = connect("n1", &root, member("n1")).await;
    let client = raw(&cluster_credential()).await;
    let open = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
    client
        .create(&format!("{root}/config"), b"", &open)
        .await
        .unwrap();
    let err = n1
        .config()
        .set_raw("limits", b"7".to_vec(), Expect::Absent)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Forbidden { .. }), "{err:?}");
    assert!(err.to_string().contains(&format!("{root}/config")), "{err}");
    let stat = client
        .check_stat(&format!("{root}/config"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stat.num_children, 0);
}
