//! Authentication and ACLs on the ensemble of `scripts/services start` (which enforces authentication): a
//! client without credentials, an outsider with the wrong ones, a member touching another's znodes and a
//! read-only observer each get a typed error, and nothing changes.
#![cfg(all(feature = "zookeeper", feature = "live-services"))]

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use aeroguard_consensus::zookeeper::{ZkAuth, ZkCoordinator, ZkDigest, ZkOptions};
use aeroguard_consensus::{Coordinator, Error, Expect};
use zookeeper_client as zk;

mod support;
use support::zk::{cluster, cluster_credential, hosts, member, own_password};

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

/// A raw client with `credentials` (`user:password`).
async fn raw(credentials: &str) -> zk::Client {
    zk::Client::connector()
        .with_session_timeout(Duration::from_secs(4))
        .with_auth("digest", credentials.as_bytes())
        .connect(&hosts())
        .await
        .unwrap()
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
        .list_children(&format!("{root}/elections/pump"))
        .await
        .unwrap();
    assert_eq!(children.len(), 1, "{children:?}");
    let candidate = format!("{root}/elections/pump/{}", children[0]);
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
    let err = ZkCoordinator::connect(
        "n9".parse().unwrap(),
        options(&scene.root, ZkAuth::member(outsider())),
    )
    .await
    .unwrap_err();
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

#[tokio::test]
async fn a_member_cannot_rewrite_another_members_znodes() {
    let scene = scene().await;
    let n2 = connect("n2", &scene.root, member("n2")).await;
    let reg = scene
        .leader
        .registry()
        .register("sensors", serde_json::json!({"unit": "bar"}))
        .await
        .unwrap();
    // n2 holds the cluster credential and its own, not n1's.
    let client = zk::Client::connector()
        .with_auth("digest", cluster_credential().as_bytes())
        .with_auth("digest", format!("n2:{}", own_password("n2")).as_bytes())
        .connect(&hosts())
        .await
        .unwrap();
    let r = client
        .set_data(
            &format!("{}/services/sensors/n1", scene.root),
            b"{\"unit\":\"psi\"}",
            None,
        )
        .await;
    assert!(matches!(r, Err(zk::Error::NoAuth)), "{r:?}");
    let r = client.set_data(&scene.candidate, b"n2", None).await;
    assert!(matches!(r, Err(zk::Error::NoAuth)), "{r:?}");
    let members = n2.registry().instances("sensors").await.unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].payload, serde_json::json!({"unit": "bar"}));
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

    let ro = connect("dash", &root, ZkAuth::observer(dashboard)).await;
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
/// `sasl:<user>`, a digest outsider gets nothing, and a wrong SASL password is refused at connect.
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
    let outsider = raw(&format!("{}:wrong-password", cluster().user())).await;
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

/// A stranger without credentials, or with a SASL login the servers do not list, gets no session. A digest
/// identity of its own making gets one (ZooKeeper's digest scheme accepts any), and with it reads nothing of
/// the cluster and cannot create under `/`, change `/`'s ACL or join. Four-letter words beyond health checks
/// are not served.
#[tokio::test]
async fn a_stranger_reads_nothing_and_the_root_is_read_only() {
    let unlisted = zk::Client::connector()
        .with_session_timeout(Duration::from_secs(4))
        .with_sasl(zk::SaslOptions::digest_md5("stranger", "made-up"))
        .connect(&hosts())
        .await;
    assert!(unlisted.is_err(), "an unlisted SASL login got a session");
    let scene = scene().await;
    let mallory = ZkAuth::member(ZkDigest::new("mallory", "made-up").unwrap());
    let err = ZkCoordinator::connect(
        "n9".parse().unwrap(),
        ZkOptions::new(hosts()).with_root(root()).with_auth(mallory),
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

/// A holder of the cluster credential (which administers inbox slots) bumps a node's slot ACL version with
/// no-op `setAcl` calls: readers stop vouching for the slot, and the node's next post makes it again, so its
/// answers count again.
#[tokio::test]
async fn a_slot_whose_acl_was_touched_is_made_again_by_its_node() {
    use aeroguard_consensus::Slot;
    let root = root();
    let n1 = connect("n1", &root, member("n1")).await;
    let lead = connect("lead", &root, member("lead")).await;
    let inbox = n1.inbox("answers").unwrap();
    let reader = lead.inbox("answers").unwrap();
    let node: aeroguard_core::NodeId = "n1".parse().unwrap();
    inbox.post(b"4.0".to_vec()).await.unwrap();
    let read = reader.read(&node).await.unwrap();
    assert!(matches!(&read, Slot::Posted(v) if v == b"4.0"), "{read:?}");

    let mallory = raw(&cluster_credential()).await;
    let slot = format!("{root}/inbox/answers/n1");
    let (acls, _) = mallory.get_acl(&slot).await.unwrap();
    for _ in 0..2 {
        mallory.set_acl(&slot, &zk::Acls::new(&acls), None).await.unwrap();
    }
    let read = reader.read(&node).await.unwrap();
    assert!(matches!(&read, Slot::Unattested(_)), "{read:?}");

    inbox.post(b"5.0".to_vec()).await.unwrap();
    let read = reader.read(&node).await.unwrap();
    assert!(matches!(&read, Slot::Posted(v) if v == b"5.0"), "{read:?}");
}

/// Candidates a holder of the cluster credential makes by hand do not hold or take an election: a persistent
/// one named to sort first (`aaa~0000000000`, which would outlive every session), one with a made-up sequence
/// (`zz~-1`), and an ephemeral one named to sort first but made after the leader's (it waits its turn).
#[tokio::test]
async fn forged_candidates_neither_hold_nor_take_an_election() {
    let root = root();
    let n1 = connect("n1", &root, member("n1")).await;
    let first = n1.election("pump").unwrap().campaign().await.unwrap();
    first.resign().await.unwrap();
    let dir = format!("{root}/elections/pump");
    let mallory = raw(&cluster_credential()).await;
    let persistent = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
    for name in ["aaa~0000000000", "zz~-1"] {
        mallory
            .create(&format!("{dir}/{name}"), b"forged", &persistent)
            .await
            .unwrap();
    }
    let election = n1.election("pump").unwrap();
    let lead = tokio::time::timeout(Duration::from_secs(10), election.campaign())
        .await
        .expect("no election past the forged candidates")
        .unwrap();
    assert_eq!(election.leader().await.unwrap().unwrap().as_str(), "n1");

    let ephemeral = zk::CreateMode::Ephemeral.with_acls(zk::Acls::anyone_all());
    mallory
        .create(&format!("{dir}/aab~0000000000"), b"forged", &ephemeral)
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
    assert_eq!(contenders, ["n1", "aab"]);
    assert!(lead.ensure().is_ok());
}
