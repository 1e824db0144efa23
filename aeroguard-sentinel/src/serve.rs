//! Serving with limits on everything a client can size: connections (in all and from one address), time to
//! send the headers, time for a whole request, requests in flight and body size (tower-http and hyper), so a
//! slow or flooding client holds bounded resources and one host cannot take the connections of the others.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::StatusCode;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceBuilder;
use tower::limit::GlobalConcurrencyLimitLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

/// The limits [`serve`] applies.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Open connections at most; one more is closed at once.
    pub max_connections: usize,
    /// Open connections from one address at most; one more from it is closed at once (the others' are not).
    pub max_per_address: usize,
    /// Requests handled at once; the others wait (and time out with the request timeout).
    pub concurrency: usize,
    /// How long a client may take to send a request's headers (slowloris), and to start the next request on a
    /// kept-alive connection.
    pub header_timeout: Duration,
    /// How long a whole request may take, waiting included (then 408).
    pub request_timeout: Duration,
    /// The largest body any request may declare or send (then 413, before the body is read). The ingest
    /// route's own limit ([`MAX_BODY`](super::MAX_BODY)) is lower and answers with a counted reason; this one
    /// is the backstop for every route.
    pub max_body: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 1024,
            max_per_address: 64,
            concurrency: 256,
            header_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(10),
            max_body: 2 * super::MAX_BODY,
        }
    }
}

/// The connections waiting to be accepted that [`bind`] asks the kernel to keep (it caps them at
/// `net.core.somaxconn`, 4,096 by default). A short queue is what a flood of connections fills first: a
/// client whose connection finds it full waits a second for its SYN to be sent again.
pub const BACKLOG: u32 = 4_096;

/// Binds a listener on `addr` (`host:port`, the first address it resolves to) with a queue of [`BACKLOG`]
/// waiting connections, where `tokio::net::TcpListener::bind` keeps 1,024.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let listener = aeroguard_sentinel::bind("127.0.0.1:0").await?;
/// assert!(listener.local_addr()?.port() > 0);
/// assert!(aeroguard_sentinel::bind("no such host:1").await.is_err());
/// # Ok::<(), std::io::Error>(()) }).unwrap();
/// ```
pub async fn bind(addr: &str) -> std::io::Result<TcpListener> {
    let addr = tokio::net::lookup_host(addr).await?.next().ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{addr}: no address"))
    })?;
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

/// Serves `app` on `listener` with `limits` until the listener fails.
///
/// ```no_run
/// # async fn demo(app: axum::Router) -> std::io::Result<()> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
/// aeroguard_sentinel::serve(listener, app, Default::default()).await
/// # }
/// ```
pub async fn serve(listener: TcpListener, app: Router, limits: Limits) -> std::io::Result<()> {
    let app = app.layer(
        ServiceBuilder::new()
            .layer(RequestBodyLimitLayer::new(limits.max_body))
            .layer(TimeoutLayer::with_status_code(
                StatusCode::REQUEST_TIMEOUT,
                limits.request_timeout,
            ))
            .layer(GlobalConcurrencyLimitLayer::new(limits.concurrency)),
    );
    let connections = Arc::new(Semaphore::new(limits.max_connections));
    let per_address = Arc::new(PerAddress::default());
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            // Out of file descriptors and the like: wait, the connections will end.
            Err(e) if is_transient(&e) => {
                tracing::warn!("accept: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
            Err(e) => return Err(e),
        };
        let Some(from_peer) = per_address.clone().admit(peer.ip(), limits.max_per_address) else {
            tracing::debug!(
                "{}: {} connections from it already, closing another",
                peer.ip(),
                limits.max_per_address
            );
            drop(stream);
            continue;
        };
        let Ok(permit) = connections.clone().try_acquire_owned() else {
            tracing::warn!(
                "connection limit {} reached: closing a new connection",
                limits.max_connections
            );
            drop(stream);
            continue;
        };
        // The peer's address goes with each request (per-address rates for callers without a key).
        let service = TowerToHyperService::new(
            ServiceBuilder::new()
                .map_request(move |mut r: axum::http::Request<hyper::body::Incoming>| {
                    r.extensions_mut().insert(ConnectInfo(peer));
                    r
                })
                .service(app.clone()),
        );
        tokio::spawn(async move {
            let _permit = (permit, from_peer);
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_timeout)
                .serve_connection(TokioIo::new(stream), service);
            if let Err(e) = connection.await {
                tracing::debug!("connection: {e}");
            }
        });
    }
}

/// Open connections per address.
#[derive(Debug, Default)]
struct PerAddress(parking_lot::Mutex<HashMap<IpAddr, usize>>);

/// One connection from an address, counted until dropped.
struct FromPeer(Arc<PerAddress>, IpAddr);

impl PerAddress {
    /// Counts one more connection from `ip`, unless it has `max` already.
    fn admit(self: Arc<Self>, ip: IpAddr, max: usize) -> Option<FromPeer> {
        let mut open = self.0.lock();
        if open.get(&ip).copied().unwrap_or(0) >= max {
            return None;
        }
        *open.entry(ip).or_insert(0) += 1;
        drop(open);
        Some(FromPeer(self, ip))
    }
}

impl Drop for FromPeer {
    fn drop(&mut self) {
        let mut open = self.0.0.lock();
        if let Some(n) = open.get_mut(&self.1) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.1);
            }
        }
    }
}

fn is_transient(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::Interrupted
    ) || matches!(e.raw_os_error(), Some(23 | 24)) // ENFILE, EMFILE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_address_has_its_own_cap_and_a_closed_connection_frees_its_place() {
        let open = Arc::new(PerAddress::default());
        let (a, b): (IpAddr, IpAddr) = ("127.0.0.2".parse().unwrap(), "127.0.0.1".parse().unwrap());
        let first = open.clone().admit(a, 2);
        let second = open.clone().admit(a, 2);
        assert!(first.is_some() && second.is_some());
        assert!(open.clone().admit(a, 2).is_none(), "a third from one address");
        assert!(
            open.clone().admit(b, 2).is_some(),
            "another address is not held up"
        );
        drop(first);
        assert!(
            open.clone().admit(a, 2).is_some(),
            "a closed connection frees its place"
        );
        // A refusal keeps nothing, whatever the cap.
        assert!(open.clone().admit("10.0.0.9".parse().unwrap(), 0).is_none());
        assert!(!open.0.lock().contains_key(&"10.0.0.9".parse::<IpAddr>().unwrap()));
    }
}
