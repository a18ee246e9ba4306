//! The project routes: parse, call the domain through the ports, map the result.

use crate::envelope::{Failure, Result};
use crate::observe::CorrelationId;
use crate::views::{
    self, CreateProjectBody, Created, ErrorEnvelope, EventList, Links, ProjectList,
};
use crate::{AppState, Caller};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use std::collections::BTreeMap;
use zts_domain::create::{CreateRequest, create_project};
use zts_domain::ports::{EVENTS_PAGE_MAX, PageRequest};
use zts_domain::project::ProjectMeta;
use zts_domain::{AppError, ErrorCode, ProjectId, clock};

const EVENTS_PAGE_DEFAULT: u32 = 100;

pub(crate) fn links(state: &AppState, id: &ProjectId) -> Links {
    Links {
        self_: format!("/api/v1/projects/{id}"),
        status: format!("/api/v1/projects/{id}/status"),
        events: format!("/api/v1/projects/{id}/events"),
        websocket: state.websocket.for_project(id),
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| {
            let mime = mime.trim().to_ascii_lowercase();
            mime == "application/json"
                || (mime.starts_with("application/") && mime.ends_with("+json"))
        })
}

/// A malformed id is an unknown project: 404, like any id that is not the caller's.
/// The `Idempotency-Key` header, if sent: text, or a 400 naming it (its length and
/// characters are the domain's to check, `zts_domain::idempotency::check_key`).
pub(crate) fn idempotency_key(headers: &HeaderMap) -> Result<Option<&str>> {
    headers
        .get("idempotency-key")
        .map(|value| {
            value.to_str().map_err(|_| {
                Failure(AppError::new(
                    ErrorCode::InvalidParameter,
                    "Idempotency-Key must be visible ASCII",
                ))
            })
        })
        .transpose()
}

pub(crate) fn project_id(raw: &str) -> Result<ProjectId> {
    ProjectId::parse(raw).ok_or_else(|| Failure(AppError::not_found("the project")))
}

/// Query parameters, refusing unknown ones by name so a typo is not silently ignored.
fn query(raw: Option<String>, allowed: &[&str]) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for pair in raw
        .as_deref()
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |s: &str| {
            percent_decode(s).ok_or_else(|| {
                Failure(AppError::new(
                    ErrorCode::InvalidParameter,
                    format!("the query parameter {key:?} is not valid percent-encoding"),
                ))
            })
        };
        let key = decode(key)?;
        if !allowed.contains(&key.as_str()) {
            return Err(Failure(AppError::new(
                ErrorCode::InvalidParameter,
                format!(
                    "unknown query parameter {key:?}; this route accepts {}",
                    allowed.join(", ")
                ),
            )));
        }
        out.insert(key, decode(value)?);
    }
    Ok(out)
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

fn number(
    params: &BTreeMap<String, String>,
    name: &str,
    min: u64,
    max: u64,
) -> Result<Option<u64>> {
    match params.get(name) {
        None => Ok(None),
        Some(raw) => raw
            .parse::<u64>()
            .ok()
            .filter(|n| (min..=max).contains(n))
            .map(Some)
            .ok_or_else(|| {
                Failure(AppError::new(
                    ErrorCode::InvalidParameter,
                    format!("{name} must be a whole number from {min} to {max}"),
                ))
            }),
    }
}

/// `POST /api/v1/projects`
#[utoipa::path(post, path = "/api/v1/projects", tag = "projects",
    request_body(content = CreateProjectBody, content_type = "application/json"),
    params(("Idempotency-Key" = Option<String>, Header, pattern = r"^[\x21-\x7e]{1,255}$", description = "1–255 visible ASCII characters. Same key + same body returns the same project; same key + another body is 409")),
    responses(
        (status = 202, description = "Created (or replayed); the run has started", body = Created),
        (status = 400, description = "Malformed JSON or parameter", body = ErrorEnvelope),
        (status = 409, description = "Idempotency-Key reused with another body", body = ErrorEnvelope),
        (status = 413, description = "Body over 64 KB", body = ErrorEnvelope),
        (status = 415, description = "Not application/json", body = ErrorEnvelope),
        (status = 422, description = "Invalid fields, one detail each", body = ErrorEnvelope),
    ))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    correlation: Option<Extension<CorrelationId>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    if !is_json(&headers) {
        return Err(Failure(AppError::new(
            ErrorCode::UnsupportedMediaType,
            "send the body as JSON with content-type: application/json",
        )));
    }
    let idempotency_key = idempotency_key(&headers)?;
    // Settled by the outermost layer (observe.rs); a router mounted without it still
    // takes the caller's id by the same rule.
    let correlation_id = match correlation {
        Some(Extension(CorrelationId(id))) => id,
        None => crate::observe::correlation_id(&headers, || uuid::Uuid::new_v4().to_string()),
    };
    let offered = state.workflow.workflows();
    let request = CreateRequest {
        owner: caller.owner,
        body: &body,
        idempotency_key,
        correlation_id,
        now: clock::now(),
        pii: &state.pii,
        workflows: &offered,
    };
    let meta = create_project(&*state.projects, &*state.workflow, request).await?;
    let id = &meta.project_id;
    tracing::Span::current().record("project_id", id.as_str());
    let created = Created {
        project_id: id.to_string(),
        state: meta.state.to_string(),
        progress: meta.progress,
        links: links(&state, id),
    };
    // A replay (same key, same body) answers exactly like the first request.
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, created.links.self_.clone())],
        Json(created),
    )
        .into_response())
}

/// `GET /api/v1/projects`
#[utoipa::path(get, path = "/api/v1/projects", tag = "projects",
    params(("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "1–100, default 20"), ("cursor" = Option<String>, Query, description = "next_cursor of the previous page")),
    responses((status = 200, description = "The caller's projects, newest first", body = ProjectList), (status = 400, description = "Bad limit or cursor", body = ErrorEnvelope)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<ProjectList>> {
    let params = query(raw, &["limit", "cursor"])?;
    let limit = number(&params, "limit", 1, u64::from(PageRequest::MAX_LIMIT))?
        .unwrap_or(u64::from(PageRequest::DEFAULT_LIMIT)) as u32;
    let cursor = params.get("cursor").cloned().filter(|c| !c.is_empty());
    let page = state
        .projects
        .list_projects(&caller.owner, PageRequest { limit, cursor })
        .await?;
    Ok(Json(ProjectList {
        projects: page.items.iter().map(views::Summary::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

async fn owned_meta(state: &AppState, caller: &Caller, id: &ProjectId) -> Result<ProjectMeta> {
    state
        .projects
        .get_meta(id)
        .await?
        .filter(|m| m.owner == caller.owner && !m.is_gone(clock::now()))
        .ok_or_else(|| Failure(AppError::not_found("the project")))
}

/// `GET /api/v1/projects/{id}`
#[utoipa::path(get, path = "/api/v1/projects/{id}", tag = "projects",
    params(("id" = String, Path, description = "The project id")),
    responses((status = 200, description = "The project, its artifacts and run history", body = views::Project), (status = 404, description = "Unknown project, or not the caller's", body = ErrorEnvelope)))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<views::Project>> {
    let id = project_id(&id)?;
    let view = state
        .projects
        .get_project(&caller.owner, &id)
        .await?
        .ok_or_else(|| Failure(AppError::not_found("the project")))?;
    Ok(Json(views::Project::from(&view)))
}

/// `GET /api/v1/projects/{id}/status`
#[utoipa::path(get, path = "/api/v1/projects/{id}/status", tag = "projects",
    params(("id" = String, Path, description = "The project id")),
    responses((status = 200, description = "Where the run stands", body = views::Status), (status = 404, description = "Unknown project, or not the caller's", body = ErrorEnvelope)))]
pub async fn status(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<views::Status>> {
    let id = project_id(&id)?;
    Ok(Json(views::Status::from(
        &owned_meta(&state, &caller, &id).await?,
    )))
}

/// `GET /api/v1/projects/{id}/events?after=N&limit=M`
#[utoipa::path(get, path = "/api/v1/projects/{id}/events", tag = "projects",
    params(("id" = String, Path, description = "The project id"), ("after" = Option<u64>, Query, minimum = 0, description = "Return events with seq > after (default 0)"), ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "1–1000, default 100")),
    responses((status = 200, description = "Stored events in seq order", body = EventList), (status = 400, description = "Bad parameter", body = ErrorEnvelope), (status = 404, description = "Unknown project, or not the caller's", body = ErrorEnvelope)))]
#[allow(clippy::expect_used, reason = "events always serialise")]
pub async fn events(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<EventList>> {
    let id = project_id(&id)?;
    let params = query(raw, &["after", "limit"])?;
    let after = number(&params, "after", 0, i64::MAX as u64)?.unwrap_or(0);
    let limit = number(&params, "limit", 1, u64::from(EVENTS_PAGE_MAX))?
        .unwrap_or(u64::from(EVENTS_PAGE_DEFAULT)) as u32;
    owned_meta(&state, &caller, &id).await?;
    let events = state.projects.events_after(&id, after, limit).await?;
    let last_seq = events.last().map_or(after, |e| e.seq);
    Ok(Json(EventList {
        project_id: id.to_string(),
        events: events
            .iter()
            .map(|e| serde_json::to_value(e).expect("events serialise"))
            .collect(),
        last_seq,
    }))
}
