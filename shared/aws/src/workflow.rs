//! [`WorkflowStarter`] on Step Functions: StartExecution named by project id and run
//! number. On a Standard workflow a second start of the same run is
//! `ExecutionAlreadyExists` — already started; Express never says so, which is why the
//! run is claimed on META before anyone starts it (ARCHITECTURE.md §7).

use async_trait::async_trait;
use aws_sdk_sfn::Client;
use aws_sdk_sfn::error::ProvideErrorMetadata;
use aws_sdk_sfn::operation::start_execution::StartExecutionError;
use aws_sdk_sfn::operation::stop_execution::StopExecutionError;
use std::collections::BTreeMap;
use zts_domain::ports::{StartOutcome, WorkflowError, WorkflowStart, WorkflowStarter};
use zts_domain::workflows::{DEFAULT_WORKFLOW, WORKFLOWS, Workflow};

#[derive(Debug, Clone)]
pub struct StepFunctionsStarter {
    client: Client,
    /// The state machine of each workflow this deployment runs (one per workflow: the
    /// template's `Workflow`, `QuickCheckWorkflow`, …).
    machines: BTreeMap<String, String>,
    /// Whether executions can be stopped: Standard only (StopExecution "is not supported
    /// by EXPRESS state machines").
    stoppable: bool,
}

impl StepFunctionsStarter {
    /// A starter for Standard state machines, with the default workflow's.
    pub fn new(client: Client, state_machine_arn: impl Into<String>) -> Self {
        StepFunctionsStarter {
            client,
            machines: BTreeMap::from([(DEFAULT_WORKFLOW.to_string(), state_machine_arn.into())]),
            stoppable: true,
        }
    }

    /// Also starts `workflow` on `state_machine_arn`.
    pub fn with_workflow(mut self, workflow: &str, state_machine_arn: impl Into<String>) -> Self {
        self.machines
            .insert(workflow.to_string(), state_machine_arn.into());
        self
    }

    fn machine_of(&self, start: &WorkflowStart) -> Result<&str, WorkflowError> {
        self.machines
            .get(&start.workflow)
            .map(String::as_str)
            .ok_or_else(|| {
                WorkflowError::Failed(format!(
                    "this deployment has no state machine for the workflow {:?}",
                    start.workflow
                ))
            })
    }

    /// For an Express state machine: cancelling relies on the project's state alone.
    pub fn express(mut self) -> Self {
        self.stoppable = false;
        self
    }

    /// The ARN of `name`'s execution on `state_machine_arn`: a Standard execution's ARN is
    /// the state machine's with `execution` for `stateMachine` and the name appended.
    pub fn execution_arn(state_machine_arn: &str, name: &str) -> String {
        format!(
            "{}:{name}",
            state_machine_arn.replacen(":stateMachine:", ":execution:", 1)
        )
    }
}

fn failure<E: ProvideErrorMetadata>(e: &E, status: Option<u16>) -> WorkflowError {
    let code = e.code().unwrap_or("Unknown");
    let message = format!("{code}: {}", e.message().unwrap_or_default());
    let retryable = matches!(
        code,
        "ThrottlingException" | "ServiceUnavailable" | "InternalFailure"
    ) || status.is_some_and(|s| s >= 500);
    if retryable {
        WorkflowError::Unavailable(message)
    } else {
        WorkflowError::Failed(message)
    }
}

#[async_trait]
impl WorkflowStarter for StepFunctionsStarter {
    async fn start(&self, start: &WorkflowStart) -> Result<StartOutcome, WorkflowError> {
        let result = self
            .client
            .start_execution()
            .state_machine_arn(self.machine_of(start)?)
            .name(start.execution_name())
            .input(start.input_json().to_string())
            .send()
            .await;
        match result {
            Ok(_) => Ok(StartOutcome::Started),
            Err(e) => match e.as_service_error() {
                Some(StartExecutionError::ExecutionAlreadyExists(_)) => {
                    Ok(StartOutcome::AlreadyStarted)
                }
                Some(service) => Err(failure(
                    service,
                    e.raw_response().map(|r| r.status().as_u16()),
                )),
                None => Err(WorkflowError::Unavailable(format!("{e:?}"))),
            },
        }
    }

    async fn stop(&self, start: &WorkflowStart) -> Result<bool, WorkflowError> {
        if !self.stoppable {
            return Ok(false);
        }
        let result = self
            .client
            .stop_execution()
            .execution_arn(Self::execution_arn(
                self.machine_of(start)?,
                &start.execution_name(),
            ))
            .error("ZeroToShip.Cancelled")
            .cause("the project was cancelled by its owner")
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) => match e.as_service_error() {
                // Never started (a lost start), or already over: nothing to stop.
                Some(StopExecutionError::ExecutionDoesNotExist(_)) => Ok(false),
                Some(service) => Err(failure(
                    service,
                    e.raw_response().map(|r| r.status().as_u16()),
                )),
                None => Err(WorkflowError::Unavailable(format!("{e:?}"))),
            },
        }
    }

    async fn ready(&self) -> Result<(), WorkflowError> {
        for arn in self.machines.values() {
            self.client
                .describe_state_machine()
                .state_machine_arn(arn)
                .send()
                .await
                .map_err(|e| match e.as_service_error() {
                    Some(service) => failure(service, None),
                    None => WorkflowError::Unavailable(format!("{e:?}")),
                })?;
        }
        Ok(())
    }

    fn workflows(&self) -> Vec<&'static Workflow> {
        WORKFLOWS
            .iter()
            .filter(|w| self.machines.contains_key(w.name))
            .collect()
    }
}
