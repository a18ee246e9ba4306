//! The api as deployed behind API Gateway: the router with authentication and the outer
//! layers, configured from the function's [`Config`](crate::config::Config).

use crate::config::Config;
use crate::{Api, Auth, router, with_auth, with_envelope};
use axum::Router;
use std::sync::Arc;
use zts_domain::ports::KeyStore;

/// The whole HTTP application as Lambda serves it.
pub fn app(api: Api, keys: Arc<dyn KeyStore>, config: &Config) -> Router {
    let auth = Auth {
        keys,
        default_limits: config.default_limits,
        // API Gateway's WebSocket API takes connects, never this function.
        websocket_tickets: false,
    };
    with_envelope(with_auth(router(api), auth), &config.http)
}
