//! The HTTP API (ARCHITECTURE.md §8): an axum router generic over the ports, mounted as it is by
//! the local stack and behind `lambda_http` on AWS. Handlers are thin — parse, call the
//! domain, map the result — and every error leaves through one envelope
//! ([`envelope`]) in the documented shape.

pub mod auth;
mod caller;
#[cfg(feature = "lambda")]
pub mod config;
#[cfg(feature = "lambda")]
pub mod deploy;
pub mod envelope;
pub mod observe;
mod openapi;
pub mod page;
mod routes;
pub use routes::health::{COUNTS_MAX_AGE, CountsCache};
pub mod views;

pub use auth::Auth;
pub use caller::Caller;
pub use openapi::openapi_json;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, Method};
use axum::routing::get;
use std::sync::Arc;
use std::time::Duration;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use zts_domain::ports::{KeyStore, ProjectStore, WorkflowStarter};

/// What the handlers need: the ports and how to build links.
pub struct Api {
    pub projects: Arc<dyn ProjectStore>,
    pub workflow: Arc<dyn WorkflowStarter>,
    pub keys: Arc<dyn KeyStore>,
    /// Where clients connect their WebSocket.
    pub websocket: WebSocketUrls,
    /// What PII redaction knows (the regions of national phone formats).
    pub pii: zts_domain::pii::PiiPolicy,
    /// The push endpoint the broadcaster and ws use, for readiness only (the api never
    /// pushes): the local gateway, or the stage's Management API.
    pub push: Arc<dyn zts_domain::ports::EventPusher>,
    /// The readiness probe's last per-state counts.
    pub counts: routes::health::CountsCache,
}

pub type AppState = Arc<Api>;

/// The WebSocket URLs the api hands out (`links.websocket`, tickets' `websocket_url`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSocketUrls {
    /// The connect URL, to which `?ticket=` is appended: `ws://127.0.0.1:3000/ws` locally,
    /// `wss://{api}.execute-api.{region}.amazonaws.com/{stage}` on AWS.
    pub connect: String,
    /// The local gateway also serves `{connect}/projects/{id}` (subscribed at once); API
    /// Gateway has one URL, and clients subscribe with a message.
    pub per_project_paths: bool,
}

impl WebSocketUrls {
    pub fn for_project(&self, id: &zts_domain::ids::ProjectId) -> String {
        if self.per_project_paths {
            format!("{}/projects/{id}", self.connect)
        } else {
            self.connect.clone()
        }
    }
}

/// How long a request may take before the api answers 503 itself.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(29);

/// The api router with its middleware: request ids, tracing, panic safety and the error
/// envelope. Authentication is a layer the caller adds (it must insert a [`Caller`]).
pub fn router(api: Api) -> Router {
    let state: AppState = Arc::new(api);
    Router::new()
        .route("/", get(page::index))
        .route("/ui/{version}/{file}", get(page::asset))
        .route("/health", get(routes::health::live))
        .route("/health/ready", get(routes::health::ready))
        .route("/openapi.json", get(routes::health::openapi))
        .route("/asyncapi.json", get(page::asyncapi))
        .route("/analysis.schema.json", get(page::analysis_schema))
        .route(
            "/api/v1/projects",
            get(routes::projects::list).post(routes::projects::create),
        )
        .route(
            "/api/v1/projects/{id}",
            get(routes::projects::get).delete(routes::lifecycle::delete),
        )
        .route(
            "/api/v1/ws-tickets",
            axum::routing::post(routes::tickets::create),
        )
        .route(
            "/api/v1/projects/{id}/status",
            get(routes::projects::status),
        )
        .route(
            "/api/v1/projects/{id}/events",
            get(routes::projects::events),
        )
        .route(
            "/api/v1/projects/{id}/retry",
            axum::routing::post(routes::lifecycle::retry),
        )
        .route(
            "/api/v1/projects/{id}/cancel",
            axum::routing::post(routes::lifecycle::cancel),
        )
        .route(
            "/api/v1/projects/{id}/export",
            get(routes::lifecycle::export),
        )
        .route("/api/v1/workflows", get(routes::workflows::list))
        .route("/api/v1/workflows/{name}", get(routes::workflows::get))
        .fallback(envelope::unknown_route)
        .method_not_allowed_fallback(envelope::method_not_allowed)
        .layer(axum::extract::DefaultBodyLimit::max(
            zts_domain::input::limits::BODY_MAX_BYTES,
        ))
        .with_state(state)
}

/// Requires an API key (or, for WebSocket connects, a ticket) on every route but the
/// probes, `/openapi.json` and the browser page, and rate-limits per key.
pub fn with_auth(router: Router, auth: Auth) -> Router {
    router.layer(axum::middleware::from_fn_with_state(
        Arc::new(auth),
        auth::authenticate,
    ))
}

/// How the outer layers behave where the api is deployed.
#[derive(Debug, Clone, Default)]
pub struct HttpConfig {
    /// Origins allowed to call the API from a browser (CORS); empty allows none.
    pub cors_origins: Vec<String>,
    /// Send Strict-Transport-Security (only where the API is served over TLS).
    pub hsts: bool,
}

/// Wraps a router (the api with its auth, plus anything mounted beside it) in the outer
/// layers every answer passes through: request and correlation ids with the request's
/// log line and metric, panic safety, the error envelope, security headers and CORS (whose
/// preflights are answered before authentication).
pub fn with_envelope(router: Router, config: &HttpConfig) -> Router {
    let mut router = router
        .layer(CatchPanicLayer::custom(envelope::panic_response))
        .layer(axum::middleware::from_fn(envelope::envelope))
        .layer(security_header("x-content-type-options", "nosniff"))
        .layer(security_header("x-frame-options", "DENY"))
        .layer(security_header("referrer-policy", "no-referrer"))
        .layer(security_header(
            "content-security-policy",
            "default-src 'none'; frame-ancestors 'none'",
        ))
        .layer(security_header("cache-control", "no-store"));
    if config.hsts {
        router = router.layer(security_header(
            "strict-transport-security",
            "max-age=63072000; includeSubDomains",
        ));
    }
    if !config.cors_origins.is_empty() {
        let origins: Vec<HeaderValue> = config
            .cors_origins
            .iter()
            .filter_map(|o| HeaderValue::from_str(o).ok())
            .collect();
        router = router.layer(
            CorsLayer::new()
                .allow_origin(AllowOrigin::list(origins))
                .allow_methods([Method::GET, Method::POST, Method::DELETE])
                .allow_headers([
                    HeaderName::from_static("content-type"),
                    HeaderName::from_static("x-api-key"),
                    HeaderName::from_static("authorization"),
                    HeaderName::from_static("idempotency-key"),
                    HeaderName::from_static("x-correlation-id"),
                ])
                .expose_headers([
                    HeaderName::from_static("x-request-id"),
                    HeaderName::from_static("x-correlation-id"),
                    HeaderName::from_static("retry-after"),
                    HeaderName::from_static("ratelimit-limit"),
                    HeaderName::from_static("ratelimit-remaining"),
                    HeaderName::from_static("ratelimit-reset"),
                ])
                .max_age(Duration::from_secs(600)),
        );
    }
    // Outermost: request and correlation ids, the request's span, its log line and its
    // duration (observe.rs; path templates only — query strings may hold tickets).
    router.layer(axum::middleware::from_fn(observe::observe))
}

fn security_header(name: &'static str, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(
        HeaderName::from_static(name),
        HeaderValue::from_static(value),
    )
}
