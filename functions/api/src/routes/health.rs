//! Liveness, readiness, and the OpenAPI document.

use crate::AppState;
use crate::views::{Check, Health};
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use zts_domain::project::State as ProjectState;

/// How old the per-state counts `GET /health/ready` reports may be. Counting is O(projects)
/// on the embedded store (a scan of its state index; README, Observability, has what it
/// costs at 400,000 projects), so a probe polled every second would pay that every
/// second; this caps it at one count per interval, whatever the polling rate.
pub const COUNTS_MAX_AGE: Duration = Duration::from_secs(10);

/// The last per-state counts and when they were taken (one per api instance).
#[derive(Default)]
pub struct CountsCache(Mutex<Option<(Instant, BTreeMap<ProjectState, u64>)>>);

impl CountsCache {
    fn fresh(&self) -> Option<BTreeMap<ProjectState, u64>> {
        let cached = self.0.lock().ok()?;
        cached
            .as_ref()
            .filter(|(at, _)| at.elapsed() < COUNTS_MAX_AGE)
            .map(|(_, counts)| counts.clone())
    }

    fn keep(&self, counts: &BTreeMap<ProjectState, u64>) {
        if let Ok(mut cached) = self.0.lock() {
            *cached = Some((Instant::now(), counts.clone()));
        }
    }
}

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
/// state (at most [`COUNTS_MAX_AGE`] old).
#[utoipa::path(get, path = "/health/ready", tag = "health", security(()), responses((status = 200, description = "Ready", body = Health), (status = 503, description = "A dependency is failing", body = Health)))]
pub async fn ready(State(state): State<AppState>) -> Response {
    let mut checks = BTreeMap::new();
    checks.insert("store".to_string(), check(state.projects.ping()).await);
    checks.insert("workflow".to_string(), check(state.workflow.ready()).await);
    checks.insert("push".to_string(), check(state.push.ready()).await);
    let ok = checks.values().all(|c| c.status == "ok");
    // Counting is reported when it works; it never decides readiness.
    let counts = if !ok {
        None
    } else if let Some(counts) = state.counts.fresh() {
        Some(counts)
    } else {
        let counts = state.projects.count_by_state().await.ok().flatten();
        if let Some(c) = &counts {
            state.counts.keep(c);
        }
        counts
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
