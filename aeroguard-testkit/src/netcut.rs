//! A TCP link that tests can cut: a proxy on loopback in front of a real server. While cut, every connection
//! through it is reset and new ones are closed at once, so clients see what a dropped plant link looks like
//! (connection resets, refused reconnects), not a mock.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use std::io::Result;

/// A proxy from a loopback port to `target`, with a switch.
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// use aeroguard_testkit::netcut::LinkProxy;
/// let link = LinkProxy::start("127.0.0.1:6379").await?;
/// // Clients connect to link.addr() instead of the server.
/// link.cut();     // every connection through it drops; new ones are closed
/// link.restore(); // connections work again
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct LinkProxy {
    addr: String,
    up: Arc<AtomicBool>,
    generation: watch::Sender<u64>,
    accepted: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl LinkProxy {
    /// Listens on a free loopback port and forwards to `target` (`host:port`).
    pub async fn start(target: &str) -> Result<LinkProxy> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| std::io::Error::new(e.kind(), format!("bind the link proxy: {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| std::io::Error::new(e.kind(), format!("the link proxy's address: {e}")))?
            .to_string();
        let up = Arc::new(AtomicBool::new(true));
        let (generation, _) = watch::channel(0u64);
        let accepted = Arc::new(AtomicU64::new(0));
        let (up2, gen2, acc2, target) = (
            up.clone(),
            generation.clone(),
            accepted.clone(),
            target.to_string(),
        );
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if !up2.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                acc2.fetch_add(1, Ordering::Relaxed);
                let mut cut = gen2.subscribe();
                let target = target.clone();
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(&target).await else {
                        return;
                    };
                    let (mut client, mut server) = (client, server);
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = cut.changed() => {
                            // Reset rather than close politely: the peer sees the link die mid-stream.
                            let _ = client.set_zero_linger();
                            let _ = server.set_zero_linger();
                        }
                    }
                });
            }
        });
        Ok(LinkProxy {
            addr,
            up,
            generation,
            accepted,
            task,
        })
    }

    /// The proxy's `host:port`.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Cuts the link: live connections are reset, new ones closed at once.
    pub fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.generation.send_modify(|g| *g += 1);
    }

    /// Restores the link.
    pub fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }

    /// Connections it has carried.
    pub fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }
}

impl Drop for LinkProxy {
    fn drop(&mut self) {
        self.task.abort();
        self.cut();
    }
}
