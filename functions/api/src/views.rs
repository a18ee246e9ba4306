//! The wire format of the API: what clients get, separate from how the store keeps it.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;
use zts_domain::clock;
use zts_domain::ports::WorkflowStart;
use zts_domain::project::{Artifact, ProjectMeta, ProjectView, RunRecord, StepRun};

/// The create body (see the limits in the README). The schema is exactly as strict as the
/// server: what it allows is accepted (bar an Idempotency-Key conflict).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProjectBody {
    /// 1–120 characters (as sent), at least one that is not a space; no control
    /// characters. Stored trimmed.
    #[schema(
        min_length = 1,
        max_length = 120,
        pattern = r"^[^\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]*[^\s\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069][^\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]*$"
    )]
    pub name: String,
    /// Up to 5,000 characters; newlines and tabs allowed.
    #[serde(default)]
    #[schema(
        max_length = 5000,
        pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]*$"
    )]
    pub description: Option<String>,
    /// Up to 2,000 characters; newlines and tabs allowed.
    #[serde(default)]
    #[schema(
        max_length = 2000,
        pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]*$"
    )]
    pub hypothesis: Option<String>,
    /// Up to 10 distinct labels of 1–80 characters (letters, digits, spaces, `_ - . , ' & / ( ) +`;
    /// the schema shows the ASCII subset).
    #[serde(default)]
    #[schema(schema_with = avatars_schema)]
    pub target_avatars: Option<Vec<String>>,
    /// The workflow to run (GET /api/v1/workflows lists them); the default when absent.
    #[serde(default)]
    #[schema(schema_with = workflow_name_schema)]
    pub workflow: Option<String>,
}

/// `workflow`: one of the listed names, or null.
fn workflow_name_schema() -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::SchemaType;
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .enum_values(Some(
            zts_domain::workflows::WORKFLOWS
                .iter()
                .map(|w| serde_json::Value::from(w.name))
                .chain([serde_json::Value::Null]),
        ))
        .description(Some(format!(
            "The workflow to run; {} when absent.",
            zts_domain::workflows::DEFAULT_WORKFLOW
        )))
        .build()
}

/// `target_avatars`: a nullable array of distinct labels (derive cannot say `uniqueItems`).
fn avatars_schema() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, SchemaType, Type};
    let avatar = ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(80))
        .pattern(Some(
            r"^[A-Za-z0-9_\-.,'&/()+]([A-Za-z0-9 _\-.,'&/()+]*[A-Za-z0-9_\-.,'&/()+])?$",
        ));
    ArrayBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
        .items(avatar)
        .max_items(Some(10))
        .unique_items(true)
        .build()
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Links {
    #[serde(rename = "self")]
    pub self_: String,
    pub status: String,
    pub events: String,
    pub websocket: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Created {
    pub project_id: String,
    pub state: String,
    pub progress: u8,
    pub links: Links,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ErrorView {
    pub code: String,
    pub message: String,
}

impl From<&zts_domain::project::ErrorInfo> for ErrorView {
    fn from(e: &zts_domain::project::ErrorInfo) -> Self {
        ErrorView {
            code: e.code.clone(),
            message: e.message.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Status {
    pub project_id: String,
    pub state: String,
    pub progress: u8,
    pub current_step: Option<String>,
    pub attempts: u32,
    pub updated_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorView>,
    /// The workflow the project runs, at the version it was created with.
    pub workflow: WorkflowRefView,
}

/// A workflow and its version, as a project records it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WorkflowRefView {
    pub name: String,
    pub version: u32,
}

impl From<&zts_domain::workflows::WorkflowRef> for WorkflowRefView {
    fn from(w: &zts_domain::workflows::WorkflowRef) -> Self {
        WorkflowRefView {
            name: w.name.clone(),
            version: w.version,
        }
    }
}

impl From<&ProjectMeta> for Status {
    fn from(m: &ProjectMeta) -> Self {
        Status {
            project_id: m.project_id.to_string(),
            state: m.state.to_string(),
            progress: m.progress,
            current_step: m.current_step.map(|s| s.to_string()),
            attempts: m.attempts(),
            updated_at: clock::format(&m.updated_at),
            error: m.error.as_ref().map(ErrorView::from),
            workflow: WorkflowRefView::from(&m.workflow),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Summary {
    pub project_id: String,
    pub name: String,
    pub state: String,
    pub progress: u8,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&ProjectMeta> for Summary {
    fn from(m: &ProjectMeta) -> Self {
        Summary {
            project_id: m.project_id.to_string(),
            name: m.name.clone(),
            state: m.state.to_string(),
            progress: m.progress,
            created_at: clock::format(&m.created_at),
            updated_at: clock::format(&m.updated_at),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProjectList {
    pub projects: Vec<Summary>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AttemptErrorView {
    pub attempt: u32,
    pub code: String,
    pub message: String,
    pub retryable: bool,
    pub at: String,
}

/// One step's run history: attempts, timing, errors.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StepRunView {
    pub status: String,
    pub attempts: u32,
    pub started_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    pub errors: Vec<AttemptErrorView>,
}

impl From<&StepRun> for StepRunView {
    fn from(r: &StepRun) -> Self {
        StepRunView {
            status: serde_json::to_value(r.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            attempts: r.attempts,
            started_at: clock::format(&r.started_at),
            finished_at: r.finished_at.as_ref().map(clock::format),
            duration_ms: r.duration_ms,
            errors: r
                .errors
                .iter()
                .map(|e| AttemptErrorView {
                    attempt: e.attempt,
                    code: e.error.code.clone(),
                    message: e.error.message.clone(),
                    retryable: e.retryable,
                    at: clock::format(&e.at),
                })
                .collect(),
        }
    }
}

/// An earlier run as it ended (kept when the project was retried).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RunView {
    pub run: u32,
    /// How it ended: FAILED.
    pub state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorView>,
    pub ended_at: String,
    /// Its steps as they ended, keyed by step; each with its last error only.
    pub steps: BTreeMap<String, StepRunView>,
}

impl From<&RunRecord> for RunView {
    fn from(r: &RunRecord) -> Self {
        RunView {
            run: r.run,
            state: r.state.to_string(),
            error: r.error.as_ref().map(ErrorView::from),
            ended_at: clock::format(&r.ended_at),
            steps: r
                .steps
                .iter()
                .map(|(step, run)| (step.to_string(), StepRunView::from(run)))
                .collect(),
        }
    }
}

/// A retried project: its new run has been claimed and started.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Retried {
    pub project_id: String,
    /// CREATED: the new run has not reached its first step yet.
    pub state: String,
    /// What the kept steps had reached (50 when the validator's work is kept).
    pub progress: u8,
    /// The new run's number.
    pub run: u32,
    pub links: Links,
}

/// Everything stored about one project (`GET …/export`), for its owner to keep.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Export {
    /// `zerotoship.project-export`.
    pub format: String,
    /// The export format's version: 1.
    pub version: u32,
    pub exported_at: String,
    /// The project as `GET /api/v1/projects/{id}` shows it: the redacted input with its
    /// redaction report, the artifacts, the current run's steps and every earlier run.
    pub project: Project,
    /// Every event, in seq order, each as pushed on the WebSocket.
    #[schema(value_type = Vec<Object>)]
    pub events: Vec<serde_json::Value>,
}

impl Export {
    pub const FORMAT: &str = "zerotoship.project-export";
    pub const VERSION: u32 = 1;
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ArtifactView {
    pub artifact_type: String,
    pub created_at: String,
    #[schema(value_type = Object)]
    pub content: serde_json::Value,
}

impl From<&Artifact> for ArtifactView {
    fn from(a: &Artifact) -> Self {
        ArtifactView {
            artifact_type: a.artifact_type.clone(),
            created_at: clock::format(&a.created_at),
            content: a.content.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct InputView {
    pub name: String,
    pub description: String,
    pub hypothesis: String,
    pub target_avatars: Vec<String>,
    /// What PII redaction removed: kinds and counts.
    #[schema(value_type = Object)]
    pub redaction: serde_json::Value,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Project {
    #[serde(flatten)]
    pub status: Status,
    pub name: String,
    pub created_at: String,
    pub input: InputView,
    /// Keyed by step: `validator`, `advisory`.
    pub artifacts: BTreeMap<String, ArtifactView>,
    /// The current run's steps, keyed by step (a retried run shows the steps it kept).
    pub run_history: BTreeMap<String, StepRunView>,
    /// Earlier runs that FAILED and were retried, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub earlier_runs: Vec<RunView>,
    /// The id every log line and event of this project's runs carries: search the logs
    /// for it (README: Observability, "Where is my project?").
    pub correlation_id: String,
    /// The current run (1 unless the reconciler restarted it).
    pub run: u32,
    /// The workflow executions of its runs, oldest first (`<project id>-<run>`; on AWS
    /// the name under the state machine).
    pub executions: Vec<String>,
    /// Once the project has ended: when it is removed (its end + the deployment's
    /// retention). Absent while it runs, or when projects are kept forever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retain_until: Option<String>,
}

impl From<&ProjectView> for Project {
    fn from(v: &ProjectView) -> Self {
        let m = &v.meta;
        Project {
            status: Status::from(m),
            name: m.name.clone(),
            created_at: clock::format(&m.created_at),
            input: InputView {
                name: v.input.input().name.clone(),
                description: v.input.input().description.clone(),
                hypothesis: v.input.input().hypothesis.clone(),
                target_avatars: v.input.input().target_avatars.clone(),
                redaction: serde_json::to_value(v.input.redaction()).unwrap_or_default(),
            },
            artifacts: v
                .artifacts
                .iter()
                .map(|a| (a.step.to_string(), ArtifactView::from(a)))
                .collect(),
            run_history: m
                .runs
                .iter()
                .map(|(step, run)| (step.to_string(), StepRunView::from(run)))
                .collect(),
            earlier_runs: m.history.iter().map(RunView::from).collect(),
            correlation_id: m.correlation_id.clone(),
            run: m.run,
            executions: (1..=m.run)
                .map(|run| WorkflowStart::name_of(&m.project_id, run))
                .collect(),
            retain_until: m.retain_until.as_ref().map(clock::format),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EventList {
    pub project_id: String,
    /// Events in seq order, each as pushed on the WebSocket.
    #[schema(value_type = Vec<Object>)]
    pub events: Vec<serde_json::Value>,
    /// The highest seq returned (or `after` when none): pass it as `after` next time.
    pub last_seq: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Health {
    pub status: String,
    /// Each dependency: `store`, `workflow`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub checks: BTreeMap<String, Check>,
    /// Projects per state, where the store counts them from an index (the local stack;
    /// on DynamoDB it would take a scan, so it is left out).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub projects: Option<BTreeMap<String, u64>>,
    /// Projects whose run has not ended (every state but COMPLETED, FAILED and CANCELLED).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub runs_in_flight: Option<u64>,
}

/// One dependency's answer to the readiness probe.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Check {
    /// `ok`, or `failing: <why>`.
    pub status: String,
    /// How long it took to answer, in milliseconds.
    pub latency_ms: f64,
}

/// The error envelope every failure uses.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ErrorEnvelope {
    #[schema(value_type = Object)]
    pub error: serde_json::Value,
    pub request_id: String,
}

/// A WebSocket ticket: pass it as `?ticket=` within 60 s; it works once.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Ticket {
    pub ticket: String,
    pub expires_at: String,
    /// This server's WebSocket URL with the ticket in it.
    pub websocket_url: String,
}

/// A workflow a project may run (`GET /api/v1/workflows`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WorkflowView {
    /// What a create's `workflow` names.
    pub name: String,
    pub version: u32,
    pub description: String,
    /// The steps a run may take, in order (`validator`, `advisory`).
    pub steps: Vec<String>,
    /// Whether a create that names no workflow runs this one.
    pub default: bool,
}

impl From<&zts_domain::workflows::Workflow> for WorkflowView {
    fn from(w: &zts_domain::workflows::Workflow) -> Self {
        WorkflowView {
            name: w.name.to_string(),
            version: w.version,
            description: w.description.to_string(),
            steps: w.steps.iter().map(|s| s.to_string()).collect(),
            default: w.name == zts_domain::workflows::DEFAULT_WORKFLOW,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WorkflowList {
    pub workflows: Vec<WorkflowView>,
    /// The default's name.
    pub default: String,
}

/// One workflow with its definition (`GET /api/v1/workflows/{name}`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WorkflowDetail {
    #[serde(flatten)]
    pub workflow: WorkflowView,
    /// The definition's file in the repository.
    pub definition_file: String,
    /// The Amazon States Language definition, with its `${…FunctionArn}` placeholders.
    #[schema(value_type = Object)]
    pub definition: serde_json::Value,
}
