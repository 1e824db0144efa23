//! Round submissions are bound to the identity the backend authenticated: a process holding the cluster's
//! credential that answers as another node, or forges another node's slot, is not counted, on the ensemble
//! and on the Redis of `scripts/services start`.
#![cfg(feature = "live-services")]

use std::sync::Arc;
use std::time::Duration;

use aeroguard_consensus::round::{Quorum, RoundFollower, RoundLeader, RoundOptions, RoundResult};
use aeroguard_consensus::{Coordinator, Registration};

mod support;

/// Node `node` registers in `service` and answers every round with `value`; its submit errors go to `errors`.
async fn answer(
    c: Arc<dyn Coordinator>,
    options: &RoundOptions,
    value: f64,
    errors: tokio::sync::mpsc::UnboundedSender<aeroguard_consensus::Error>,
) -> Registration {
    let reg = c
        .registry()
        .register(&options.service, serde_json::json!({}))
        .await
        .unwrap();
    let mut f = RoundFollower::<f64>::new(c, options).await.unwrap();
    tokio::spawn(async move {
        while let Ok(r) = f.next_round().await {
            if let Err(e) = f.submit(&r, &value).await {
                let _ = errors.send(e);
            }
        }
    });
    reg
}

fn answered(r: &RoundResult<f64>) -> Vec<(&str, f64)> {
    r.answered.iter().map(|(n, v)| (n.as_str(), *v)).collect()
}

#[cfg(feature = "zookeeper")]
mod zookeeper {
    use aeroguard_consensus::zookeeper::{ZkAuth, ZkCoordinator, ZkOptions};
    use zookeeper_client as zk;

    use super::support::zk::{cluster, cluster_credential, hosts, member, own_login, raw_as};
    use super::*;

    async fn connect(node: &str, root: &str, auth: ZkAuth) -> Arc<dyn Coordinator> {
        let options = ZkOptions::new(hosts())
            .with_session_timeout(Duration::from_secs(2))
            .with_root(root)
            .with_auth(auth);
        ZkCoordinator::connect(node.parse().unwrap(), options)
            .await
            .unwrap()
    }

    /// Mallory holds the cluster credential. Answering as n2 under its own login, and forging n3's slot by
    /// rewriting its ACL afterwards, it gets neither counted; n1 is.
    #[tokio::test]
    async fn only_the_rosters_identities_are_counted() {
        let root = format!("/aground-{}", std::process::id());
        let options = RoundOptions::new("pump", "sensors", Duration::from_millis(1_500), Quorum::All);
        let (tx, mut errors) = tokio::sync::mpsc::unbounded_channel();
        let lead = connect("lead", &root, member("lead")).await;
        // Mallory is member f1, answering for n2 and n3 under its own login.
        let mallory = || ZkAuth::member(cluster()).with_own_sasl(own_login("f1"));
        let _r1 = answer(
            connect("n1", &root, member("n1")).await,
            &options,
            4.0,
            tx.clone(),
        )
        .await;
        let _r2 = answer(connect("n2", &root, mallory()).await, &options, 1e9, tx.clone()).await;
        // n3 is registered by Mallory too; its slot is forged with a raw client once the round opens.
        let n3 = connect("n3", &root, mallory()).await;
        let _r3 = n3
            .registry()
            .register("sensors", serde_json::json!({}))
            .await
            .unwrap();
        let mut watch = RoundFollower::<f64>::new(n3, &options).await.unwrap();
        let forge = tokio::spawn(async move {
            let r = watch.next_round().await.unwrap();
            let raw = raw_as(&own_login("f1"), &[&cluster_credential()]).await;
            let slot = format!("{root}/inbox/round-pump/n3");
            let mine = [zk::Acl::new(zk::Permission::ALL, zk::AuthId::new("sasl", "f1"))];
            let opts = zk::CreateMode::Persistent.with_acls(zk::Acls::new(&mine));
            // The inbox's folder as the library makes it (members create, nobody deletes).
            let dir = [zk::Acl::new(
                zk::Permission::READ | zk::Permission::CREATE,
                zk::AuthId::new("digest", &cluster().id()),
            )];
            let dir_opts = zk::CreateMode::Persistent.with_acls(zk::Acls::new(&dir));
            match raw.mkdir(&format!("{root}/inbox/round-pump"), &dir_opts).await {
                Ok(()) | Err(zk::Error::NodeExists) => {}
                Err(e) => panic!("{e}"),
            }
            raw.create(&slot, b"", &opts).await.unwrap();
            let body = serde_json::json!({
                "round": r.round, "token": r.token, "opened_at": r.opened_at, "node": "n3", "value": 1e9,
            });
            raw.set_data(&slot, body.to_string().as_bytes(), None)
                .await
                .unwrap();
            // Now make the slot look like one n3 made: its ACL, as the library sets it.
            let theirs = [
                zk::Acl::new(zk::Permission::ALL, zk::AuthId::new("sasl", "n3")),
                zk::Acl::new(zk::Permission::READ, zk::AuthId::new("digest", &cluster().id())),
            ];
            raw.set_acl(&slot, &theirs, None).await.unwrap();
        });
        let leadership = lead.election("pump").unwrap().campaign().await.unwrap();
        let r = RoundLeader::<f64>::new(lead.clone(), options)
            .unwrap()
            .run(&leadership)
            .await
            .unwrap();
        forge.await.unwrap();
        assert_eq!(answered(&r), [("n1", 4.0)], "{r:?}");
        assert!(!r.reached_quorum);
        let unattested: Vec<&str> = r.unattested.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(unattested, ["n2", "n3"], "{r:?}");
        assert!(r.unattested[0].1.contains("sasl:f1"), "{r:?}");
        assert!(r.unattested[1].1.contains("ACL was changed"), "{r:?}");
        assert!(
            errors.try_recv().is_err(),
            "Mallory's posts themselves succeed: into slots nobody counts"
        );
    }

    /// A member outside the roster is never counted, whatever it posts.
    #[tokio::test]
    async fn a_node_outside_the_roster_is_not_counted() {
        let root = format!("/aground-out-{}", std::process::id());
        let options = RoundOptions::new("p", "s", Duration::from_millis(800), Quorum::All);
        let (tx, _errors) = tokio::sync::mpsc::unbounded_channel();
        let lead = connect("lead", &root, member("lead")).await;
        let _r = answer(connect("zz", &root, member("zz")).await, &options, 1.0, tx).await;
        let leadership = lead.election("p").unwrap().campaign().await.unwrap();
        let r = RoundLeader::<f64>::new(lead.clone(), options)
            .unwrap()
            .run(&leadership)
            .await
            .unwrap();
        assert!(r.answered.is_empty(), "{r:?}");
        assert!(r.unattested[0].1.contains("not in this client's roster"), "{r:?}");
    }
}

#[cfg(feature = "redis")]
mod redis_backend {
    use aeroguard_consensus::redis::{RedisCoordinator, RedisCredentials};
    use aeroguard_consensus::{Error, Slot};

    use super::support::member_credential;
    use super::support::redis::{as_member, master_conn_as, options as login};
    use super::*;

    async fn connect(node: &str, options: aeroguard_consensus::redis::RedisOptions) -> Arc<dyn Coordinator> {
        RedisCoordinator::connect(node.parse().unwrap(), options)
            .await
            .unwrap()
    }

    /// n1's login answering as n2 (it cannot open n2's session), and the shared library user answering as n3,
    /// are refused by Redis (`Forbidden`) and write nothing; n1 itself is counted.
    #[tokio::test]
    async fn only_a_nodes_own_user_writes_its_slot() {
        let run = std::process::id();
        let options = RoundOptions::new(
            &format!("auth-{run}"),
            &format!("auth-svc-{run}"),
            Duration::from_millis(1_500),
            Quorum::All,
        );
        let (tx, mut errors) = tokio::sync::mpsc::unbounded_channel();
        let lead = connect("lead", as_member("lead", login())).await;
        let n1_login = RedisCredentials::parse(&member_credential("n1").unwrap()).unwrap();
        let _r1 = answer(
            connect("n1", as_member("n1", login())).await,
            &options,
            4.0,
            tx.clone(),
        )
        .await;
        // n1's login cannot even open a session as n2 (its session key is under n2's own keys).
        let as_n2 = login().with_credentials(n1_login).with_election_authority();
        let refused = RedisCoordinator::connect("n2".parse().unwrap(), as_n2).await;
        assert!(matches!(refused, Err(Error::Forbidden { .. })), "{refused:?}");
        let _r3 = answer(connect("n3", login()).await, &options, 1e9, tx.clone()).await;
        let leadership = lead.election(&options.name).unwrap().campaign().await.unwrap();
        let r = RoundLeader::<f64>::new(lead.clone(), options.clone())
            .unwrap()
            .run(&leadership)
            .await
            .unwrap();
        assert_eq!(answered(&r), [("n1", 4.0)], "{r:?}");
        {
            let e = tokio::time::timeout(Duration::from_secs(5), errors.recv())
                .await
                .unwrap()
                .unwrap();
            assert!(matches!(e, Error::Forbidden { .. }), "{e:?}");
        }
        let inbox = lead.inbox(&format!("round-{}", options.name)).unwrap();
        for forged in ["n2", "n3"] {
            assert_eq!(
                inbox.read(&forged.parse().unwrap()).await.unwrap(),
                Slot::Empty,
                "{forged}"
            );
        }
        // The admin sees the same: nothing under the forged slots.
        let mut admin = master_conn_as("AEROGUARD_REDIS_ADMIN").await;
        let key = format!("aeroguard-inbox/n2/{{round-{}}}", options.name);
        let got: Option<Vec<u8>> = redis::cmd("GET").arg(&key).query_async(&mut admin).await.unwrap();
        assert!(got.is_none());
    }
}
