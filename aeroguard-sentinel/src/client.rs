//! A small HTTP/1.1 client for the examples and tests, on hyper-util's client: posting fused rows to the
//! sentinel service and reading its answers.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::{Error, Result};

/// A response: status code and body.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The body, as text.
    pub body: String,
}

/// Sends `method path` to `addr` (`host:port`) with an optional JSON body and extra headers.
///
/// ```no_run
/// # async fn demo() -> aeroguard_sentinel::Result<()> {
/// let r = aeroguard_sentinel::client::request("127.0.0.1:8080", "GET", "/health", None, &[]).await?;
/// assert_eq!(r.status, 200);
/// # Ok(()) }
/// ```
pub async fn request(
    addr: &str,
    method: &str,
    path: &str,
    body: Option<&[u8]>,
    headers: &[(&str, &str)],
) -> Result<Response> {
    let what = format!("{method} http://{addr}{path}");
    let fail = |reason: String| Error::Http {
        what: what.clone(),
        reason,
    };
    let mut builder = hyper::Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"))
        .header("content-type", "application/json");
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let request = builder
        .body(Full::new(Bytes::copy_from_slice(body.unwrap_or_default())))
        .map_err(|e| fail(e.to_string()))?;
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let response = client.request(request).await.map_err(|e| fail(e.to_string()))?;
    let status = response.status().as_u16();
    let bytes = response
        .into_body()
        .collect()
        .await
        .map_err(|e| fail(e.to_string()))?
        .to_bytes();
    Ok(Response {
        status,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    })
}

/// Posts `body` as JSON to `path` on `addr`.
pub async fn post_json(addr: &str, path: &str, body: &serde_json::Value) -> Result<Response> {
    request(addr, "POST", path, Some(body.to_string().as_bytes()), &[]).await
}
