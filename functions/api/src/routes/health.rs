//! Liveness, readiness, and the OpenAPI document.

use crate::AppState;
use crate::views::Health;
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;

/// `GET /health`: the process answers.
#[utoipa::path(get, path = "/health", tag = "health", security(()), responses((status = 200, description = "Alive", body = Health)))]
pub async fn live() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        checks: BTreeMap::new(),
    })
}

/// `GET /health/ready`: the store and the workflow engine answer.
#[utoipa::path(get, path = "/health/ready", tag = "health", security(()), responses((status = 200, description = "Ready", body = Health), (status = 503, description = "A dependency is failing", body = Health)))]
pub async fn ready(State(state): State<AppState>) -> Response {
    let mut checks = BTreeMap::new();
    let store = state.projects.ping().await;
    checks.insert(
        "store".to_string(),
        store
            .as_ref()
            .map_or_else(|e| format!("failing: {e}"), |_| "ok".into()),
    );
    let workflow = state.workflow.ready().await;
    checks.insert(
        "workflow".to_string(),
        workflow
            .as_ref()
            .map_or_else(|e| format!("failing: {e}"), |_| "ok".into()),
    );
    let ok = store.is_ok() && workflow.is_ok();
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = Health {
        status: if ok { "ok" } else { "unavailable" }.into(),
        checks,
    };
    // Not an error envelope: a readiness probe reads the checks.
    let mut res = (status, Json(body)).into_response();
    res.extensions_mut().insert(crate::envelope::Verbatim);
    res
}

/// `GET /openapi.json`
pub async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        crate::openapi_json(),
    )
        .into_response()
}
