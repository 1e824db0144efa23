//! Leader election with fencing tokens: three nodes campaign, the leader writes to a fenced store, the leader
//! crashes, another takes over with a higher token, and the old leader's late write is refused.
//!
//! ```text
//! cargo run -p aeroguard-examples --example leader_election            # embedded memory backend
//! eval "$(scripts/services env)"    # the test ensemble's cluster credential, AEROGUARD_ZK_AUTH
//! cargo run -p aeroguard-examples --example leader_election -- --zk 127.0.0.1:2181,127.0.0.1:2182,127.0.0.1:2183
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use aeroguard_consensus::memory::MemoryCluster;
use aeroguard_consensus::zookeeper::{ZkAuth, ZkCoordinator, ZkDigest, ZkOptions, ZkSasl};
use aeroguard_consensus::{Coordinator, FencingToken, SessionOptions};
use clap::Parser;
use parking_lot::Mutex;

/// Leader election with fencing tokens: three nodes campaign, the leader writes to a fenced store, the leader
/// crashes, another takes over with a higher token, and the old leader's late write is refused.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    /// Run on this ZooKeeper ensemble (`host:port,host:port,...`) instead of the embedded memory backend.
    #[arg(long, value_name = "HOSTS")]
    zk: Option<String>,
    /// The cluster's ZooKeeper credential, `user:password` (digest scheme). Without it, the ensemble must
    /// allow unauthenticated clients, and znodes are created open to anyone.
    #[arg(
        long,
        value_name = "USER:PASSWORD",
        env = "AEROGUARD_ZK_AUTH",
        hide_env_values = true
    )]
    zk_auth: Option<String>,
    /// The SASL login that opens a session, `user:password` (DIGEST-MD5), on an ensemble that gives sessions
    /// to SASL logins only.
    #[arg(
        long,
        value_name = "USER:PASSWORD",
        env = "AEROGUARD_ZK_SASL",
        hide_env_values = true
    )]
    zk_sasl: Option<String>,
}

/// A store that refuses writes carrying a token lower than the highest it has seen: what makes a deposed
/// leader harmless. (The history store in aeroguard-consensus does this atomically on the server.)
struct FencedStore {
    highest: FencingToken,
    log: Vec<String>,
}

impl FencedStore {
    fn write(&mut self, token: FencingToken, entry: String) -> Result<(), String> {
        if token < self.highest {
            return Err(format!("refused {token}: highest seen is {}", self.highest));
        }
        self.highest = token;
        self.log.push(format!("{token} {entry}"));
        Ok(())
    }
}

enum Backend {
    Memory(MemoryCluster),
    Zk(String, Option<Box<ZkAuth>>),
}

impl Backend {
    async fn connect(&self, node: &str) -> (Arc<dyn Coordinator>, Option<Arc<ZkCoordinator>>) {
        match self {
            Backend::Memory(cluster) => {
                let options =
                    SessionOptions::new(Duration::from_secs(2)).with_grace(Duration::from_millis(600));
                (
                    cluster.connect_with(node.parse().unwrap(), options).unwrap(),
                    None,
                )
            }
            Backend::Zk(hosts, auth) => {
                let mut options = ZkOptions::new(hosts.clone()).with_session_timeout(Duration::from_secs(2));
                options.auth = auth.as_deref().cloned();
                let zk = ZkCoordinator::connect(node.parse().unwrap(), options)
                    .await
                    .unwrap_or_else(|e| {
                        let hint = match e {
                            aeroguard_consensus::Error::Unauthorized { .. }
                            | aeroguard_consensus::Error::Forbidden { .. } => {
                                "give the cluster's credential: --zk-auth USER:PASSWORD, or `eval \"$(scripts/services env)\"` for the test services"
                            }
                            _ => "start it with `scripts/services start`",
                        };
                        eprintln!("cannot use ZooKeeper at {hosts}: {e} ({hint})");
                        std::process::exit(2)
                    });
                (zk.clone(), Some(zk))
            }
        }
    }

    async fn crash(&self, node: &Arc<dyn Coordinator>, zk: Option<&Arc<ZkCoordinator>>) {
        match (self, zk) {
            (Backend::Memory(cluster), _) => cluster.crash(node.node(), Duration::from_secs(2)),
            (Backend::Zk(..), Some(zk)) => zk.abandon().await,
            (Backend::Zk(..), None) => {}
        }
    }
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let auth = match cli.zk_auth.as_deref().map(ZkDigest::parse).transpose() {
        Ok(digest) => digest.map(|d| Box::new(ZkAuth::member(d))),
        Err(e) => {
            eprintln!("error: --zk-auth: {e}");
            std::process::exit(2)
        }
    };
    let auth = match (
        auth,
        cli.zk_sasl
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(ZkSasl::parse),
    ) {
        (auth, None) => auth,
        (Some(auth), Some(Ok(login))) => Some(Box::new(auth.with_sasl(login))),
        (None, Some(Ok(login))) => Some(Box::new(ZkAuth::sasl_member(login))),
        (_, Some(Err(e))) => {
            eprintln!("error: --zk-sasl: {e}");
            std::process::exit(2)
        }
    };
    let backend = match cli.zk {
        Some(hosts) => Backend::Zk(hosts, auth),
        None => Backend::Memory(MemoryCluster::new()),
    };
    let name = format!("demo-{}", std::process::id());
    let t0 = Instant::now();
    let store = Arc::new(Mutex::new(FencedStore {
        highest: FencingToken(0),
        log: Vec::new(),
    }));
    let mut nodes = Vec::new();
    for id in ["pump-a", "pump-b", "pump-c"] {
        nodes.push(backend.connect(id).await);
    }
    println!(
        "backend: {}; election {name:?}; three candidates",
        nodes[0].0.backend()
    );

    // Everybody campaigns; whoever wins writes one entry per 200 ms until its term ends.
    let (tx, mut elected) = tokio::sync::mpsc::channel(8);
    for (coord, _) in &nodes {
        let (coord, tx, store, name) = (coord.clone(), tx.clone(), store.clone(), name.clone());
        tokio::spawn(async move {
            let Ok(term) = coord.election(&name).unwrap().campaign().await else {
                return;
            };
            let token = term.token();
            println!(
                "{:>6.2}s  {} elected with token {token}",
                t0.elapsed().as_secs_f64(),
                coord.node()
            );
            // Only the first election is awaited; later ones have no listener.
            tx.send((coord.node().clone(), token)).await.ok();
            let mut n = 0;
            while term.is_trusted() {
                n += 1;
                if let Err(refused) = store.lock().write(token, format!("{} sample {n}", coord.node())) {
                    println!("{:>6.2}s  {} {refused}", t0.elapsed().as_secs_f64(), coord.node());
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            let why = term.loss().map(|r| r.to_string()).unwrap_or_default();
            println!(
                "{:>6.2}s  {} stops acting as leader: {why}",
                t0.elapsed().as_secs_f64(),
                coord.node()
            );
            std::mem::forget(term);
        });
    }
    let (first, first_token) = elected.recv().await.unwrap();
    tokio::time::sleep(Duration::from_millis(700)).await;
    let victim = nodes.iter().find(|(c, _)| *c.node() == first).unwrap();
    let how = match backend {
        Backend::Memory(_) => "its session lingers on the cluster until the 2 s session timeout",
        Backend::Zk(..) => {
            "its session is ended at the servers, as a crash detected by the ensemble would be"
        }
    };
    println!("{:>6.2}s  {first} crashes ({how})", t0.elapsed().as_secs_f64());
    let crashed_at = Instant::now();
    backend.crash(&victim.0, victim.1.as_ref()).await;
    let (second, second_token) = elected.recv().await.unwrap();
    println!(
        "{:>6.2}s  failover to {second} took {:.2} s; token {first_token} -> {second_token}",
        t0.elapsed().as_secs_f64(),
        crashed_at.elapsed().as_secs_f64()
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    // The old leader wakes up from a long pause and tries to write with its old token.
    match store
        .lock()
        .write(first_token, format!("{first} late write after a pause"))
    {
        Ok(()) => println!("         BUG: the stale write was accepted"),
        Err(e) => println!("{:>6.2}s  {first}'s late write {e}", t0.elapsed().as_secs_f64()),
    }
    let log = store.lock().log.clone();
    println!("\nstore log ({} entries, tokens never go back):", log.len());
    for line in log
        .iter()
        .take(3)
        .chain(log.iter().rev().take(2).collect::<Vec<_>>().into_iter().rev())
    {
        println!("  {line}");
    }
    for (coord, _) in &nodes {
        coord.close().await;
    }
}
