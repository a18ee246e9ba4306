//! The workflows a create may choose: listed, and each described with its definition.

use crate::AppState;
use crate::envelope::Result;
use crate::views::{ErrorEnvelope, WorkflowDetail, WorkflowList, WorkflowView};
use axum::Json;
use axum::extract::{Path, State};
use zts_domain::AppError;
use zts_domain::workflows::DEFAULT_WORKFLOW;

/// `GET /api/v1/workflows`
#[utoipa::path(get, path = "/api/v1/workflows", tag = "workflows",
    responses(
        (status = 200, description = "The workflows this deployment runs, the default first", body = WorkflowList),
    ))]
pub async fn list(State(state): State<AppState>) -> Json<WorkflowList> {
    Json(WorkflowList {
        workflows: state
            .workflow
            .workflows()
            .into_iter()
            .map(WorkflowView::from)
            .collect(),
        default: DEFAULT_WORKFLOW.to_string(),
    })
}

/// `GET /api/v1/workflows/{name}`
#[utoipa::path(get, path = "/api/v1/workflows/{name}", tag = "workflows",
    params(("name" = String, Path, description = "The workflow's name")),
    responses(
        (status = 200, description = "The workflow and its definition", body = WorkflowDetail),
        (status = 404, description = "No workflow of that name runs here", body = ErrorEnvelope),
    ))]
pub async fn get(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<WorkflowDetail>> {
    let workflow = state
        .workflow
        .workflows()
        .into_iter()
        .find(|w| w.name == name)
        .ok_or_else(|| AppError::not_found("the workflow"))?;
    // The definitions are checked files of this build: they always parse (a unit test of
    // the workflow list says so); should one not, it shows as the text it is.
    let definition = serde_json::from_str(workflow.definition)
        .unwrap_or_else(|_| serde_json::Value::String(workflow.definition.to_string()));
    Ok(Json(WorkflowDetail {
        workflow: WorkflowView::from(workflow),
        definition_file: workflow.definition_file.to_string(),
        definition,
    }))
}
