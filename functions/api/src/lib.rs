//! The HTTP API (DESIGN.md §2): an axum router generic over the ports, mounted as it is by
//! the local stack and behind `lambda_http` on AWS. Handlers are thin — parse, call the
//! domain, map the result — and every error leaves through one envelope
//! ([`envelope`]) in the documented shape.

mod caller;
pub mod envelope;
mod openapi;
mod routes;
pub mod views;

pub use caller::{Caller, fixed_owner};
pub use openapi::openapi_json;

use axum::Router;
use axum::routing::get;
use shared::ports::{ProjectStore, WorkflowStarter};
use std::sync::Arc;
use std::time::Duration;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

/// What the handlers need: the ports and how to build links.
pub struct Api {
    pub projects: Arc<dyn ProjectStore>,
    pub workflow: Arc<dyn WorkflowStarter>,
    /// Base of the WebSocket URL given in `links.websocket` (e.g. `ws://127.0.0.1:3000`).
    pub websocket_base: String,
}

pub type AppState = Arc<Api>;

/// How long a request may take before the api answers 503 itself.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(29);

/// The api router with its middleware: request ids, tracing, panic safety and the error
/// envelope. Authentication is a layer the caller adds (it must insert a [`Caller`]).
pub fn router(api: Api) -> Router {
    let state: AppState = Arc::new(api);
    Router::new()
        .route("/health", get(routes::health::live))
        .route("/health/ready", get(routes::health::ready))
        .route("/openapi.json", get(routes::health::openapi))
        .route(
            "/api/v1/projects",
            get(routes::projects::list).post(routes::projects::create),
        )
        .route("/api/v1/projects/{id}", get(routes::projects::get))
        .route(
            "/api/v1/projects/{id}/status",
            get(routes::projects::status),
        )
        .route(
            "/api/v1/projects/{id}/events",
            get(routes::projects::events),
        )
        .fallback(envelope::unknown_route)
        .method_not_allowed_fallback(envelope::method_not_allowed)
        .layer(axum::extract::DefaultBodyLimit::max(
            shared::input::limits::BODY_MAX_BYTES,
        ))
        .with_state(state)
}

/// Wraps a router (the api plus whatever auth the deployment adds) in the outer layers
/// every answer passes through.
pub fn with_envelope(router: Router) -> Router {
    router
        .layer(CatchPanicLayer::custom(envelope::panic_response))
        .layer(axum::middleware::from_fn(envelope::envelope))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}
