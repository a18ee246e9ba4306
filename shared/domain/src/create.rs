//! The create use case: an idea becomes a stored project and its run is started. The api
//! route only extracts what HTTP carries (owner, body, headers) and maps the answer; the
//! rules live here, so PII never reaches a store by construction (ARCHITECTURE.md §5).

use crate::clock::Timestamp;
use crate::error::{AppError, FieldError};
use crate::idempotency::IdempotencyClaim;
use crate::ids::{Owner, ProjectId};
use crate::input::ProjectInput;
use crate::metrics;
use crate::pii::{PiiPolicy, RedactionReport};
use crate::ports::{
    CreateOutcome, NewProject, ProjectStore, StartOutcome, WorkflowStart, WorkflowStarter,
};
use crate::project::{ProjectMeta, StoredInput};
use crate::workflows::Workflow;
use serde_json::Value;

/// What a caller asks for, as received.
#[derive(Debug, Clone)]
pub struct CreateRequest<'a> {
    pub owner: Owner,
    /// The JSON body, unparsed: parsing and validation are the domain's.
    pub body: &'a [u8],
    /// The `Idempotency-Key`, if one was sent.
    pub idempotency_key: Option<&'a str>,
    pub correlation_id: String,
    pub now: Timestamp,
    /// The regions whose national phone formats redaction knows (configuration).
    pub pii: &'a PiiPolicy,
    /// The workflows this deployment runs (a create may choose any of them).
    pub workflows: &'a [&'static Workflow],
}

/// The body: the idea's fields and, optionally, `workflow`. One 422 reports every field's
/// problem, the workflow's with the idea's.
fn parse_body(
    body: &[u8],
    offered: &[&'static Workflow],
) -> Result<(ProjectInput, &'static Workflow), AppError> {
    let mut value = ProjectInput::parse_json(body)?;
    let requested = match value.as_object_mut().map(|o| o.remove("workflow")) {
        None | Some(None) | Some(Some(Value::Null)) => Ok(None),
        Some(Some(Value::String(name))) => Ok(Some(name)),
        Some(Some(_)) => Err(AppError::validation(vec![FieldError::new(
            "workflow",
            "wrong_type",
            "workflow must be a string naming a workflow (GET /api/v1/workflows lists them)",
        )])),
    };
    let chosen = requested.and_then(|name| Workflow::chosen(name.as_deref(), offered));
    match (ProjectInput::from_value(&value), chosen) {
        (Ok(input), Ok(chosen)) => Ok((input, chosen)),
        (Err(mut a), Err(b)) => {
            a.details.extend(b.details);
            Err(a)
        }
        (Err(e), _) | (_, Err(e)) => Err(e),
    }
}

/// Validates and redacts the idea, stores the project (or finds the one an idempotent
/// replay names), and starts its run if it has not started. A replay answers exactly like
/// the first request.
pub async fn create_project<S, W>(
    store: &S,
    workflow: &W,
    request: CreateRequest<'_>,
) -> Result<ProjectMeta, AppError>
where
    S: ProjectStore + ?Sized,
    W: WorkflowStarter + ?Sized,
{
    let (input, chosen) = parse_body(request.body, request.workflows)?;
    refuse_personal_avatars(&input, request.pii)?;
    let idempotency = request
        .idempotency_key
        .map(|key| IdempotencyClaim::new(key, &input, request.now).map(|c| c.choosing(chosen.name)))
        .transpose()?;
    let new = NewProject {
        project_id: ProjectId::generate(),
        owner: request.owner,
        input: StoredInput::redact(&input, request.pii),
        correlation_id: request.correlation_id,
        created_at: request.now,
        idempotency,
        workflow: chosen.reference(),
    };
    match store.create_project(new).await? {
        CreateOutcome::Created(meta) => {
            metrics::project_created(meta.workflow.label());
            start_run(workflow, &meta).await;
            Ok(meta)
        }
        // Only the create that claimed run 1 starts it: a replay racing it must not start a
        // second execution (Express does not dedupe by name). If the first start was lost,
        // the reconciler claims run 2 after its deadline (ARCHITECTURE.md §7).
        CreateOutcome::Replayed(meta) => {
            metrics::project_replayed(meta.workflow.label());
            Ok(meta)
        }
    }
}

/// An avatar names a kind of customer ("busy parent"), not a person: one that holds personal
/// data is refused, because its redacted form (`founder [REDACTED:phone]`) would no longer be
/// a label the input rules allow. The error names the field and the kind, never the value.
fn refuse_personal_avatars(input: &ProjectInput, pii: &PiiPolicy) -> Result<(), AppError> {
    let errors: Vec<FieldError> = input
        .target_avatars
        .iter()
        .enumerate()
        .filter_map(|(i, avatar)| {
            let mut found = RedactionReport::default();
            pii.redact_text(avatar, &mut found);
            let kind = found.kinds.keys().next()?;
            Some(FieldError::new(
                format!("target_avatars[{i}]"),
                "personal_data",
                format!(
                    "this avatar holds {}; an avatar names a kind of customer, not a person: \
                     remove the personal data from it",
                    kind.describe()
                ),
            ))
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::validation(errors))
    }
}

/// Starts the run the create claimed. A failure here is not the caller's problem: the
/// project is stored, and the reconciler starts a new run of any project whose run never
/// made progress.
async fn start_run<W: WorkflowStarter + ?Sized>(workflow: &W, meta: &ProjectMeta) {
    let start = WorkflowStart::of(meta);
    match workflow.start(&start).await {
        Ok(StartOutcome::Started | StartOutcome::AlreadyStarted) => {}
        Err(e) => {
            tracing::warn!(error = %e, project_id = %meta.project_id, "could not start the workflow; the reconciler will")
        }
    }
}
