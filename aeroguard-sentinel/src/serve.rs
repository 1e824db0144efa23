//! Serving with limits on everything a client can size: connections, time to send the headers, time for a
//! whole request, requests in flight and body size (tower-http and hyper), so a slow or flooding client holds
//! bounded resources.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
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
            concurrency: 256,
            header_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(10),
            max_body: 2 * super::MAX_BODY,
        }
    }
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
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            // Out of file descriptors and the like: wait, the connections will end.
            Err(e) if is_transient(&e) => {
                tracing::warn!("accept: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
            Err(e) => return Err(e),
        };
        let Ok(permit) = connections.clone().try_acquire_owned() else {
            tracing::warn!(
                "connection limit {} reached: closing a new connection",
                limits.max_connections
            );
            drop(stream);
            continue;
        };
        let service = TowerToHyperService::new(app.clone());
        tokio::spawn(async move {
            let _permit = permit;
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

fn is_transient(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::Interrupted
    ) || matches!(e.raw_os_error(), Some(23 | 24)) // ENFILE, EMFILE
}
