//! Who may do what: every route but `/health` needs a key ([`ApiKeys`]) unless the service was started
//! `--insecure`; `/ingest` needs a node's key, and the posted token must be the current grant that node holds
//! in the series' election.

use std::sync::Arc;

use aeroguard_consensus::{Coordinator, FencingToken};
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::keys::{Caller, Role};
use super::{ApiError, Sentinel};

/// The identity every request carries in a service started `--insecure`.
pub const INSECURE: &str = "insecure";

/// Checks the request's key and records its caller for the handlers; `/health` is open.
pub(super) async fn authenticate(State(s): State<Arc<Sentinel>>, mut req: Request, next: Next) -> Response {
    if req.uri().path() == "/health" {
        return next.run(req).await;
    }
    let caller = match &s.options.keys {
        None => Caller {
            identity: INSECURE.to_string(),
            role: Role::Node,
        },
        Some(keys) => {
            let presented = req
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim);
            match presented.and_then(|k| keys.check(k)) {
                Some(c) => c.clone(),
                None => {
                    let why = if presented.is_some() {
                        "unknown key"
                    } else {
                        "no key"
                    };
                    s.metrics.rejected("unauthenticated");
                    let mut r = ApiError(
                        StatusCode::UNAUTHORIZED,
                        format!(
                            "{why}: send `Authorization: Bearer <key>` with a key of the service's keys file"
                        ),
                    )
                    .into_response();
                    r.headers_mut().insert(
                        header::WWW_AUTHENTICATE,
                        header::HeaderValue::from_static("Bearer"),
                    );
                    return r;
                }
            }
        }
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
