//! Authentication and rate limiting: tower middleware inside the api router, so Lambda and
//! the local stack answer alike, in the one error shape.
//!
//! A request carries an API key (`x-api-key` or `Authorization: Bearer`); a WebSocket
//! connect may instead carry a single-use `?ticket=` (so keys never travel in URLs). Each
//! key's requests go through its GCRA bucket in the store; answers carry the
//! `RateLimit-Limit/Remaining/Reset` headers, and a denied request gets 429 with
//! `Retry-After`.

use crate::Caller;
use crate::envelope::Failure;
use crate::observe::KeyId;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use zts_domain::auth::{self, Limits, RateDecision};
use zts_domain::ports::KeyStore;
use zts_domain::{AppError, ErrorCode, clock};

pub struct Auth {
    pub keys: Arc<dyn KeyStore>,
    /// For keys created without their own limits.
    pub default_limits: Limits,
    /// Whether WebSocket connect paths (`/ws`, `/ws/…`) take a `?ticket=` in place of a
    /// key: only where this router serves them (the local gateway, mounted beside it).
    /// Never on Lambda: there API Gateway's WebSocket API and its authorizer take connects,
    /// and the HTTP API's function may not redeem tickets (its role cannot delete them,
    /// and must not, or a ticket would authenticate HTTP calls), so a ticket request
    /// would answer 500; without the branch it is an ordinary 401.
    pub websocket_tickets: bool,
}

/// Routes anyone may call: probes, the API's descriptions and the browser page (which
/// holds no key: the person using it types theirs).
fn is_public(path: &str) -> bool {
    matches!(
        path,
        "/health" | "/health/ready" | "/openapi.json" | "/asyncapi.json" | "/analysis.schema.json"
    ) || crate::page::is_page(path)
}

/// WebSocket connects, where a ticket may stand in for a key.
fn is_websocket(path: &str) -> bool {
    path == "/ws" || path.starts_with("/ws/")
}

fn ticket_from_query(query: Option<&str>) -> Option<&str> {
    query?
        .split('&')
        .find_map(|pair| pair.strip_prefix("ticket="))
        .filter(|t| !t.is_empty())
}

fn unauthorized(message: &str) -> Response {
    Failure(AppError::new(ErrorCode::Unauthorized, message)).into_response()
}

fn rate_headers(headers: &mut HeaderMap, d: &RateDecision) {
    headers.insert("ratelimit-limit", HeaderValue::from(d.limit));
    headers.insert("ratelimit-remaining", HeaderValue::from(d.remaining));
    headers.insert("ratelimit-reset", HeaderValue::from(d.reset_seconds));
}

pub async fn authenticate(State(auth): State<Arc<Auth>>, req: Request, next: Next) -> Response {
    if is_public(req.uri().path()) {
        return next.run(req).await;
    }
    let headers = req.headers();
    let key_hash = auth::key_from_headers(
        headers.get("x-api-key").and_then(|v| v.to_str().ok()),
        headers.get("authorization").and_then(|v| v.to_str().ok()),
    )
    .map(auth::hash);
    let key_id = key_hash.as_deref().map(auth::key_id);
    let mut res = check(&auth, req, next, key_hash).await;
    // The request's log line names the caller by key id, never by key (observe.rs).
    if let Some(id) = key_id {
        res.extensions_mut().insert(KeyId(id));
    }
    res
}

async fn check(auth: &Auth, mut req: Request, next: Next, key_hash: Option<String>) -> Response {
    let path = req.uri().path().to_string();
    let now = clock::now();
    let (caller, decision) = match key_hash {
        Some(key_hash) => {
            let record = match auth.keys.get_key(&key_hash).await {
                Ok(Some(record)) => record,
                Ok(None) => {
                    return unauthorized(
                        "this API key is not known; check it, or create one with `zts keys create`",
                    );
                }
                Err(e) => return Failure::from(e).into_response(),
            };
            if let Err(e) = record.check(now) {
                return Failure(e).into_response();
            }
            let limits = record.limits.unwrap_or(auth.default_limits);
            let decision = match auth.keys.acquire(&key_hash, limits, now).await {
                Ok(d) => d,
                Err(e) => return Failure::from(e).into_response(),
            };
            if !decision.allowed {
                let mut res = Failure(
                    AppError::new(ErrorCode::RateLimited, format!("this key may send {} requests at once and {} per second; retry after {} s", limits.burst, limits.rate, decision.retry_after_seconds))
                        .with_retry_after(decision.retry_after_seconds),
                )
                .into_response();
                rate_headers(res.headers_mut(), &decision);
                return res;
            }
            (
                Caller {
                    owner: record.owner,
                },
                Some(decision),
            )
        }
        None if auth.websocket_tickets && is_websocket(&path) => {
            let Some(ticket) = ticket_from_query(req.uri().query()) else {
                return unauthorized(
                    "connect with ?ticket= (from POST /api/v1/ws-tickets) or an API key header",
                );
            };
            match auth::redeem_ticket(&*auth.keys, ticket, now).await {
                Ok(Some(owner)) => (Caller { owner }, None),
                Ok(None) => {
                    return unauthorized(
                        "this ticket is unknown, used or expired; get a new one from POST /api/v1/ws-tickets",
                    );
                }
                Err(e) => return Failure::from(e).into_response(),
            }
        }
        None => {
            return unauthorized(
                "send an API key in the x-api-key header or as Authorization: Bearer <key>",
            );
        }
    };
    req.extensions_mut().insert(caller);
    let mut res = next.run(req).await;
    if let Some(decision) = decision {
        rate_headers(res.headers_mut(), &decision);
    }
    res
}
