//! Step Functions, emulated: each of the template's state machines (one per workflow:
//! `statemachine.asl.json`, `workflows/*.asl.json`) with its
//! `DefinitionSubstitutions`, run by the `asl` interpreter, each Task an invocation of the
//! function its ARN resolves to (errors named as Step Functions names them for a Lambda
//! task), and the StartExecution / StopExecution / DescribeStateMachine API the functions'
//! SDK calls (`AWS_ENDPOINT_URL_SFN` points at it). Standard refuses a second execution with a
//! running or finished name; Express does not (as on AWS).

use super::runtime::FunctionPool;
use super::template::{Resolver, TemplateError};
use asl::{Clock, Execution, Kind, Machine, Observation, Observer, Status, TaskError, TaskHandler};
use async_trait::async_trait;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// The functions by ARN, as a state machine's Task states name them.
pub struct EmulatedFunctions {
    by_arn: BTreeMap<String, Arc<FunctionPool>>,
}

impl EmulatedFunctions {
    pub fn new(by_arn: BTreeMap<String, Arc<FunctionPool>>) -> Self {
        EmulatedFunctions { by_arn }
    }
}

#[async_trait]
impl TaskHandler for EmulatedFunctions {
    async fn invoke(&self, resource: &str, input: Value) -> Result<Value, TaskError> {
        let pool = self.by_arn.get(resource).ok_or_else(|| {
            TaskError::new(
                "Lambda.ResourceNotFoundException",
                format!("no emulated function {resource}"),
            )
        })?;
        pool.invoke(&input).await.map_err(|e| {
            let error = e.states_error();
            let cause = json!({"errorType": error, "errorMessage": e.to_string()}).to_string();
            TaskError::new(error, cause)
        })
    }
}

/// Counts each retry Step Functions schedules against the function of the Task state that
/// failed (the exit summary's per-function retries).
struct RetryCounter {
    by_state: BTreeMap<String, Arc<FunctionPool>>,
}

impl Observer for RetryCounter {
    fn observe(&self, _: &Execution, what: &Observation) {
        if let Observation::RetryScheduled { state, .. } = what
            && let Some(pool) = self.by_state.get(state)
        {
            pool.stats.retries.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkflowType {
    Standard,
    Express,
}

/// Counts of executions, for the exit summary and the tests.
#[derive(Debug, Default)]
pub struct ExecutionCounts {
    pub started: AtomicU64,
    pub succeeded: AtomicU64,
    pub failed: AtomicU64,
    /// Stopped by StopExecution (Standard only).
    pub aborted: AtomicU64,
    /// State transitions of the executions that ended (what Standard bills).
    pub transitions: AtomicU64,
    /// Their durations in Express's billing steps (100 ms), in ms, and the GB-ms they
    /// make at the 64 MB an execution of this size is billed for.
    pub express_billed_ms: AtomicU64,
}

pub struct StepFunctionsEmulator {
    /// The workflow it runs (`zts_domain::workflows`).
    workflow: &'static str,
    machine: Machine,
    definition: String,
    arn: String,
    name: String,
    kind: WorkflowType,
    /// `Tracing.Enabled`: each execution is an X-Ray trace its tasks join.
    traced: bool,
    tasks: Arc<dyn TaskHandler>,
    clock: Box<dyn Clock>,
    names: Mutex<HashSet<String>>,
    /// Executions running now, and whether a StopExecution asked each to stop.
    running: Arc<Mutex<BTreeMap<String, bool>>>,
    retries: RetryCounter,
    pub counts: ExecutionCounts,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StartError {
    #[error("Execution Already Exists: '{0}'")]
    AlreadyExists(String),
    #[error("State Machine Does Not Exist: '{0}'")]
    NoSuchMachine(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StopError {
    #[error("Execution Does Not Exist: '{0}'")]
    DoesNotExist(String),
    #[error("This operation is not supported by this type of state machine")]
    NotSupported,
}

impl StepFunctionsEmulator {
    /// The template's state machine (`logical_id`): the workflow whose definition file its
    /// `DefinitionUri` names, the file's `${…}` filled from `DefinitionSubstitutions`.
    pub fn from_template(
        resolver: &Resolver<'_>,
        logical_id: &str,
        functions: Arc<EmulatedFunctions>,
    ) -> Result<Self, TemplateError> {
        let uri = resolver.resolve_property(logical_id, "DefinitionUri")?;
        let workflow = zts_domain::workflows::WORKFLOWS
            .iter()
            .find(|w| w.definition_file == uri)
            .ok_or_else(|| TemplateError::Unsupported {
                resource: logical_id.to_string(),
                property: "DefinitionUri".into(),
                what: format!("{uri} is not the definition of a listed workflow"),
            })?;
        let definition = workflow.definition;
        let substitutions = resolver.resolve_map_property(logical_id, "DefinitionSubstitutions")?;
        let kind = match resolver.resolve_property(logical_id, "Type")?.as_str() {
            "EXPRESS" => WorkflowType::Express,
            _ => WorkflowType::Standard,
        };
        let name = resolver.resolve_property(logical_id, "Name")?;
        let traced = resolver
            .resolve_nested(logical_id, "Tracing", "Enabled")?
            .is_some_and(|enabled| enabled == "true");
        let loaded =
            asl::load(definition, &substitutions).map_err(|e| TemplateError::Unsupported {
                resource: logical_id.to_string(),
                property: "DefinitionUri".into(),
                what: e.to_string(),
            })?;
        let by_state = loaded
            .states
            .iter()
            .filter_map(|(name, state)| match &state.kind {
                Kind::Task(task) => functions
                    .by_arn
                    .get(&task.resource)
                    .map(|pool| (name.clone(), pool.clone())),
                _ => None,
            })
            .collect();
        let pseudo = resolver.pseudo();
        Ok(StepFunctionsEmulator {
            workflow: workflow.name,
            machine: Machine::new(loaded, name.clone()),
            definition: definition.to_string(),
            arn: format!(
                "arn:aws:states:{}:{}:stateMachine:{name}",
                pseudo.region, pseudo.account
            ),
            name,
            kind,
            traced,
            tasks: functions,
            clock: Box::new(asl::TokioClock::new()),
            names: Mutex::new(HashSet::new()),
            running: Arc::new(Mutex::new(BTreeMap::new())),
            retries: RetryCounter { by_state },
            counts: ExecutionCounts::default(),
        })
    }

    pub fn arn(&self) -> &str {
        &self.arn
    }

    pub fn workflow(&self) -> &'static str {
        self.workflow
    }

    pub fn workflow_type(&self) -> WorkflowType {
        self.kind
    }

    pub fn traced(&self) -> bool {
        self.traced
    }

    /// Starts an execution and drives it on its own task; returns its ARN.
    pub fn start_execution(
        self: &Arc<Self>,
        state_machine_arn: &str,
        name: &str,
        input: Value,
    ) -> Result<String, StartError> {
        if state_machine_arn != self.arn {
            return Err(StartError::NoSuchMachine(state_machine_arn.to_string()));
        }
        let fresh = self
            .names
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(name.to_string());
        if !fresh && self.kind == WorkflowType::Standard {
            return Err(StartError::AlreadyExists(name.to_string()));
        }
        let mut ex: Execution = self.machine.start(name, input, &*self.clock, &self.retries);
        let arn = ex.id.clone();
        self.counts.started.fetch_add(1, Ordering::Relaxed);
        self.lock_running().insert(name.to_string(), false);
        let me = self.clone();
        tokio::spawn(async move {
            let name = ex.name.clone();
            let stop_requested = || me.lock_running().get(&name).copied().unwrap_or(false);
            let mut stopped = false;
            while !stopped
                && me
                    .machine
                    .step(&mut ex, &*me.tasks, &me.retries, &*me.clock)
                    .await
            {
                stopped = stop_requested();
            }
            // Checked once more: a stop that came during the last step ended it too.
            stopped = stopped || stop_requested();
            me.lock_running().remove(&name);
            me.counts
                .transitions
                .fetch_add(ex.transitions, Ordering::Relaxed);
            let took = (chrono::Utc::now() - ex.start_time)
                .to_std()
                .unwrap_or_default();
            let (billed_ms, _) = zts_cost::units::express_billed(took, 64);
            me.counts
                .express_billed_ms
                .fetch_add(billed_ms, Ordering::Relaxed);
            if stopped {
                tracing::info!(execution = %ex.name, "execution aborted by StopExecution");
                me.counts.aborted.fetch_add(1, Ordering::Relaxed);
                return;
            }
            match &ex.status {
                Status::Succeeded { .. } => me.counts.succeeded.fetch_add(1, Ordering::Relaxed),
                _ => {
                    tracing::info!(execution = %ex.name, status = ?ex.status, "execution failed");
                    me.counts.failed.fetch_add(1, Ordering::Relaxed)
                }
            };
        });
        Ok(arn)
    }

    fn lock_running(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, bool>> {
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// StopExecution: a running Standard execution ends after the state it is in (a
    /// task already invoked runs to its end, as on AWS, where the function is not
    /// interrupted either). Express executions cannot be stopped ("not supported by
    /// EXPRESS state machines"); a name not running is `ExecutionDoesNotExist`.
    pub fn stop_execution(&self, execution_arn: &str) -> Result<(), StopError> {
        if self.kind == WorkflowType::Express {
            return Err(StopError::NotSupported);
        }
        let name = self
            .execution_name(execution_arn)
            .ok_or_else(|| StopError::DoesNotExist(execution_arn.to_string()))?;
        match self.lock_running().get_mut(name) {
            Some(stop) => {
                *stop = true;
                Ok(())
            }
            None => Err(StopError::DoesNotExist(execution_arn.to_string())),
        }
    }

    /// The name of the execution `execution_arn` names, if it is one of this machine's.
    fn execution_name<'a>(&self, execution_arn: &'a str) -> Option<&'a str> {
        let prefix = self.arn.replacen(":stateMachine:", ":execution:", 1);
        execution_arn
            .strip_prefix(prefix.as_str())
            .and_then(|rest| rest.strip_prefix(':'))
    }
}

/// The Step Functions API (JSON 1.0 protocol) for the calls the functions make, over
/// every state machine of the template (one per workflow), each call routed by ARN.
pub fn router(machines: Vec<Arc<StepFunctionsEmulator>>) -> Router {
    Router::new()
        .route("/", post(api))
        .with_state(Arc::new(machines))
}

fn aws_error(status: StatusCode, kind: &str, message: &str) -> Response {
    (
        status,
        [("content-type", "application/x-amz-json-1.0")],
        json!({"__type": kind, "message": message}).to_string(),
    )
        .into_response()
}

fn epoch_now() -> f64 {
    chrono::Utc::now().timestamp_millis() as f64 / 1000.0
}

async fn api(
    State(machines): State<Arc<Vec<Arc<StepFunctionsEmulator>>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let by_arn = |arn: &str| machines.iter().find(|m| m.arn() == arn);
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let ok = |v: Value| {
        (
            StatusCode::OK,
            [("content-type", "application/x-amz-json-1.0")],
            v.to_string(),
        )
            .into_response()
    };
    match target {
        "AWSStepFunctions.StartExecution" => {
            let arn = request["stateMachineArn"].as_str().unwrap_or_default();
            let name = request["name"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| zts_domain::ProjectId::generate().to_string());
            let input: Value = request["input"]
                .as_str()
                .and_then(|s| serde_json::from_str(s).ok())
                .unwrap_or_else(|| json!({}));
            let Some(sfn) = by_arn(arn) else {
                return aws_error(
                    StatusCode::BAD_REQUEST,
                    "StateMachineDoesNotExist",
                    &StartError::NoSuchMachine(arn.to_string()).to_string(),
                );
            };
            match sfn.start_execution(arn, &name, input) {
                Ok(execution_arn) => {
                    ok(json!({"executionArn": execution_arn, "startDate": epoch_now()}))
                }
                Err(e @ StartError::AlreadyExists(_)) => aws_error(
                    StatusCode::BAD_REQUEST,
                    "ExecutionAlreadyExists",
                    &e.to_string(),
                ),
                Err(e @ StartError::NoSuchMachine(_)) => aws_error(
                    StatusCode::BAD_REQUEST,
                    "StateMachineDoesNotExist",
                    &e.to_string(),
                ),
            }
        }
        "AWSStepFunctions.StopExecution" => {
            let arn = request["executionArn"].as_str().unwrap_or_default();
            let Some(sfn) = machines.iter().find(|m| m.execution_name(arn).is_some()) else {
                return aws_error(
                    StatusCode::BAD_REQUEST,
                    "ExecutionDoesNotExist",
                    &StopError::DoesNotExist(arn.to_string()).to_string(),
                );
            };
            match sfn.stop_execution(arn) {
                Ok(()) => ok(json!({"stopDate": epoch_now()})),
                Err(e @ StopError::DoesNotExist(_)) => aws_error(
                    StatusCode::BAD_REQUEST,
                    "ExecutionDoesNotExist",
                    &e.to_string(),
                ),
                Err(e @ StopError::NotSupported) => aws_error(
                    StatusCode::BAD_REQUEST,
                    "ValidationException",
                    &e.to_string(),
                ),
            }
        }
        "AWSStepFunctions.DescribeStateMachine" => {
            let Some(sfn) = by_arn(request["stateMachineArn"].as_str().unwrap_or_default()) else {
                return aws_error(
                    StatusCode::BAD_REQUEST,
                    "StateMachineDoesNotExist",
                    "no such state machine",
                );
            };
            ok(json!({
                "stateMachineArn": sfn.arn,
                "name": sfn.name,
                "status": "ACTIVE",
                "definition": sfn.definition,
                "roleArn": "arn:aws:iam::123456789012:role/emulated",
                "type": match sfn.kind { WorkflowType::Standard => "STANDARD", WorkflowType::Express => "EXPRESS" },
                "creationDate": epoch_now(),
            }))
        }
        other => aws_error(
            StatusCode::BAD_REQUEST,
            "UnknownOperationException",
            &format!("the emulation does not serve {other:?}"),
        ),
    }
}
