//! Who may do what: every route but `/health` needs a key ([`ApiKeys`]) unless the service was started
//! `--insecure`; `/ingest` needs a node's key, and the posted token must be the current grant that node holds
//! in the series' election. Each key, and each address calling without one, has its own rate
//! ([`RateLimit`](crate::RateLimit)).

use std::net::SocketAddr;
use std::sync::Arc;

use aeroguard_consensus::{Coordinator, FencingToken};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::keys::{Caller, Role};
use super::{ApiError, Sentinel};

/// The identity every request carries in a service started `--insecure`.
pub const INSECURE: &str = "insecure";

/// The caller's key, checked: who it is, or the 401 answer.
fn identify(s: &Sentinel, req: &Request) -> Result<Caller, Box<Response>> {
    let Some(keys) = &s.options.keys else {
        return Ok(Caller {
            identity: INSECURE.to_string(),
            role: Role::Node,
        });
    };
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    if let Some(c) = presented.and_then(|k| keys.check(k)) {
        return Ok(c.clone());
    }
    let why = if presented.is_some() {
        "unknown key"
    } else {
        "no key"
    };
    s.metrics.rejected("unauthenticated");
    let mut r = ApiError(
        StatusCode::UNAUTHORIZED,
        format!("{why}: send `Authorization: Bearer <key>` with a key of the service's keys file"),
    )
    .into_response();
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer"),
    );
    Err(Box::new(r))
}

/// Takes one request from the caller's rate: a key's own bucket, or the address's for a caller without a key
/// (an open route, a refused key, or any caller of an insecure service). Over it: 429 with `Retry-After`.
fn within_rate(s: &Sentinel, req: &Request, caller: Option<&Caller>) -> Result<(), Box<Response>> {
    let Some(buckets) = &s.buckets else {
        return Ok(());
    };
    let bucket = match caller {
        Some(c) if s.options.keys.is_some() => format!("key {}", c.identity),
        _ => match req.extensions().get::<ConnectInfo<SocketAddr>>() {
            Some(ConnectInfo(peer)) => format!("address {}", peer.ip()),
            None => "address unknown".to_string(),
        },
    };
    let Err(wait) = buckets.take(&bucket, std::time::Instant::now()) else {
        return Ok(());
    };
    s.metrics.rejected("rate_limited");
    let seconds = wait.as_secs_f64().ceil().max(1.0);
    let mut r = ApiError(
        StatusCode::TOO_MANY_REQUESTS,
        format!(
            "{bucket}: over {} requests a second (bursts of {}); retry after {seconds} s",
            s.options.rate.map_or(0.0, |r| r.per_second()),
            s.options.rate.map_or(0, |r| r.burst()),
        ),
    )
    .into_response();
    if let Ok(v) = header::HeaderValue::from_str(&format!("{seconds}")) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    Err(Box::new(r))
}

/// Checks the request's key and its rate, and records its caller for the handlers; `/health` is open (and
/// limited by address).
pub(super) async fn authenticate(State(s): State<Arc<Sentinel>>, mut req: Request, next: Next) -> Response {
    if req.uri().path() == "/health" {
        if let Err(r) = within_rate(&s, &req, None) {
            return *r;
        }
        return next.run(req).await;
    }
    let caller = identify(&s, &req);
    if let Err(r) = within_rate(&s, &req, caller.as_ref().ok()) {
        return *r;
    }
    let caller = match caller {
        Ok(c) => c,
        Err(r) => return *r,
    };
    if req.uri().path() == "/ingest" && caller.role != Role::Node {
        s.metrics.rejected("forbidden");
        return ApiError(
            StatusCode::FORBIDDEN,
            format!(
                "{} is a {} and may not post",
                caller.identity,
                caller.role.as_str()
            ),
        )
        .into_response();
    }
    req.extensions_mut().insert(caller);
    next.run(req).await
}

/// Where the service learns the current grant of a series' election.
#[derive(Clone)]
pub struct Grants {
    coordinator: Arc<dyn Coordinator>,
    template: String,
}

impl std::fmt::Debug for Grants {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Grants")
            .field("backend", &self.coordinator.backend())
            .field("template", &self.template)
            .finish()
    }
}

impl Grants {
    /// Grants read from `coordinator`'s elections; a series' election is `template` with `{series}` replaced.
    pub fn new(coordinator: Arc<dyn Coordinator>, template: &str) -> Self {
        Grants {
            coordinator,
            template: template.to_string(),
        }
    }

    /// The election of `series`.
    pub fn election_of(&self, series: &str) -> String {
        self.template.replace("{series}", series)
    }

    /// Accepts `token` from `caller` for `series` only if it is the grant the caller holds now; a refusal is a
    /// 403 (another node holds the election), a 409 (a stale or forged token) or a 503 (the grant cannot be
    /// read).
    pub async fn check(&self, caller: &Caller, series: &str, token: u64) -> Result<(), ApiError> {
        let name = self.election_of(series);
        let election = self
            .coordinator
            .election(&name)
            .map_err(|e| ApiError(StatusCode::BAD_REQUEST, format!("election of {series}: {e}")))?;
        let grant = election
            .grant()
            .await
            .map_err(|e| ApiError(StatusCode::SERVICE_UNAVAILABLE, format!("grant of {name}: {e}")))?;
        match grant {
            None => Err(ApiError(
                StatusCode::CONFLICT,
                format!("nobody holds {name}: token {token} is not a current grant"),
            )),
            Some(g) if g.node.as_str() != caller.identity => Err(ApiError(
                StatusCode::FORBIDDEN,
                format!("{} does not hold {name}", caller.identity),
            )),
            Some(g) if g.token != FencingToken(token) => Err(ApiError(
                StatusCode::CONFLICT,
                format!("token {token} is not the current grant of {name} ({})", g.token),
            )),
            Some(_) => Ok(()),
        }
    }
}
