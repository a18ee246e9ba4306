//! Liveness, readiness, and the OpenAPI document.

use crate::AppState;
use crate::views::{Check, Health};
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use std::time::Instant;

/// `GET /health`: the process answers.
#[utoipa::path(get, path = "/health", tag = "health", security(()), responses((status = 200, description = "Alive", body = Health)))]
pub async fn live() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        checks: BTreeMap::new(),
        projects: None,
        runs_in_flight: None,
    })
}

/// Times one dependency's answer.
async fn check<E: std::fmt::Display>(
    probe: impl std::future::Future<Output = Result<(), E>>,
) -> Check {
    let started = Instant::now();
    let answer = probe.await;
    Check {
        status: answer.map_or_else(|e| format!("failing: {e}"), |()| "ok".into()),
        latency_ms: (started.elapsed().as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0,
    }
}

/// `GET /health/ready`: the store, the workflow engine and the push endpoint answer (each
/// with its latency), and, where the store can count them from an index, projects per
/// state.
#[utoipa::path(get, path = "/health/ready", tag = "health", security(()), responses((status = 200, description = "Ready", body = Health), (status = 503, description = "A dependency is failing", body = Health)))]
pub async fn ready(State(state): State<AppState>) -> Response {
    let mut checks = BTreeMap::new();
    checks.insert("store".to_string(), check(state.projects.ping()).await);
    checks.insert("workflow".to_string(), check(state.workflow.ready()).await);
    checks.insert("push".to_string(), check(state.push.ready()).await);
    let ok = checks.values().all(|c| c.status == "ok");
    // Counting is reported when it works; it never decides readiness.
    let counts = if ok {
        state.projects.count_by_state().await.ok().flatten()
    } else {
        None
    };
    let runs_in_flight = counts.as_ref().map(|c| {
        c.iter()
            .filter(|(s, _)| !s.is_terminal())
            .map(|(_, n)| n)
            .sum()
    });
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = Health {
        status: if ok { "ok" } else { "unavailable" }.into(),
        checks,
        projects: counts.map(|c| c.into_iter().map(|(s, n)| (s.to_string(), n)).collect()),
        runs_in_flight,
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
