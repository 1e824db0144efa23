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
    /// The headers, names in lower case, in the order received.
    pub headers: Vec<(String, String)>,
}

impl Response {
    /// The first value of header `name` (any case), if it was sent as text.
    ///
    /// ```
    /// use aeroguard_sentinel::client::Response;
    /// let r = Response { status: 429, body: String::new(), headers: vec![("retry-after".into(), "1".into())] };
    /// assert_eq!(r.header("Retry-After"), Some("1"));
    /// assert_eq!(r.header("link"), None);
    /// ```
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
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
    let headers = response
        .headers()
        .iter()
        .filter_map(|(n, v)| Some((n.as_str().to_string(), v.to_str().ok()?.to_string())))
        .collect();
    let bytes = response
        .into_body()
        .collect()
        .await
        .map_err(|e| fail(e.to_string()))?
        .to_bytes();
    Ok(Response {
        status,
        body: String::from_utf8_lossy(&bytes).into_owned(),
        headers,
    })
}

/// Posts `body` as JSON to `path` on `addr`.
pub async fn post_json(addr: &str, path: &str, body: &serde_json::Value) -> Result<Response> {
    request(addr, "POST", path, Some(body.to_string().as_bytes()), &[]).await
}
