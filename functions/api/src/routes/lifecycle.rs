//! A project's life after its create: retry, cancel, export, delete. Thin: parse, call
//! the domain's use case (zts_domain::lifecycle), map the answer.

use super::projects::{idempotency_key, links, project_id};
use crate::envelope::{Failure, Result};
use crate::views::{self, ErrorEnvelope, Export, Retried};
use crate::{AppState, Caller};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use zts_domain::lifecycle::{cancel_project, delete_project, export_project, retry_project};
use zts_domain::{AppError, clock};

/// `POST /api/v1/projects/{id}/retry`
#[utoipa::path(post, path = "/api/v1/projects/{id}/retry", tag = "projects",
    params(("id" = String, Path, description = "The project id"),
           ("Idempotency-Key" = Option<String>, Header, pattern = r"^[\x21-\x7e]{1,255}$", description = "1–255 visible ASCII characters. A repeat with the same key answers the run the first made")),
    responses(
        (status = 202, description = "A new run was claimed and started at the step that failed (or this retry was made before)", body = Retried),
        (status = 400, description = "Malformed Idempotency-Key", body = ErrorEnvelope),
        (status = 404, description = "Unknown project, or not the caller's", body = ErrorEnvelope),
        (status = 409, description = "The project is not FAILED, or has been retried the most times it may be", body = ErrorEnvelope),
    ))]
pub async fn retry(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response> {
    let id = project_id(&id)?;
    let key = idempotency_key(&headers)?;
    let outcome = retry_project(
        &*state.projects,
        &*state.workflow,
        &caller.owner,
        &id,
        key,
        clock::now(),
    )
    .await?;
    let meta = outcome.meta();
    let body = Retried {
        project_id: id.to_string(),
        state: meta.state.to_string(),
        progress: meta.progress,
        run: meta.run,
        links: links(&state, &id),
    };
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, body.links.status.clone())],
        Json(body),
    )
        .into_response())
}

/// `POST /api/v1/projects/{id}/cancel`
#[utoipa::path(post, path = "/api/v1/projects/{id}/cancel", tag = "projects",
    params(("id" = String, Path, description = "The project id")),
    responses(
        (status = 200, description = "The project is CANCELLED (at once, or it already was); its subscribers get the status_update", body = views::Status),
        (status = 404, description = "Unknown project, or not the caller's", body = ErrorEnvelope),
        (status = 409, description = "The project already ended COMPLETED or FAILED", body = ErrorEnvelope),
    ))]
pub async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<views::Status>> {
    let id = project_id(&id)?;
    let meta = cancel_project(
        &*state.projects,
        &*state.workflow,
        &caller.owner,
        &id,
        clock::now(),
    )
    .await?;
    Ok(Json(views::Status::from(&meta)))
}

/// `GET /api/v1/projects/{id}/export`
#[utoipa::path(get, path = "/api/v1/projects/{id}/export", tag = "projects",
    params(("id" = String, Path, description = "The project id")),
    responses(
        (status = 200, description = "Everything stored about the project, as one JSON document (a download)", body = Export),
        (status = 404, description = "Unknown project, or not the caller's", body = ErrorEnvelope),
    ))]
#[allow(clippy::expect_used, reason = "events always serialise")]
pub async fn export(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response> {
    let id = project_id(&id)?;
    let export = export_project(&*state.projects, &caller.owner, &id).await?;
    let body = Export {
        format: Export::FORMAT.into(),
        version: Export::VERSION,
        exported_at: clock::format(&clock::now()),
        project: views::Project::from(&export.project),
        events: export
            .events
            .iter()
            .map(|e| serde_json::to_value(e).expect("events serialise"))
            .collect(),
    };
    // The id is a UUID: safe inside the quoted file name.
    let disposition =
        HeaderValue::from_str(&format!("attachment; filename=\"zerotoship-{id}.json\""))
            .map_err(|_| Failure(AppError::internal()))?;
    Ok(([(header::CONTENT_DISPOSITION, disposition)], Json(body)).into_response())
}

/// `DELETE /api/v1/projects/{id}`
#[utoipa::path(delete, path = "/api/v1/projects/{id}", tag = "projects",
    params(("id" = String, Path, description = "The project id")),
    responses(
        (status = 204, description = "Deleted: a running run was cancelled first; the input, artifacts and idempotency record are erased now, and every route answers 404 from now on; its events and subscriptions are purged within minutes. Subscribers get project_deleted"),
        (status = 404, description = "Unknown project, not the caller's, or already deleted", body = ErrorEnvelope),
    ))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    let id = project_id(&id)?;
    delete_project(
        &*state.projects,
        &*state.workflow,
        &caller.owner,
        &id,
        clock::now(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
