//! The contract between the state machine and the step functions, and the skeleton every
//! working step follows.
//!
//! The state machine passes a [`StepRequest`] (its `Parameters`); a step answers a
//! [`StepResponse`] or fails with a [`StepFailure`] whose [`StepFailure::error_type`] is
//! the stable error name `statemachine.asl.json` retries (`ZeroToShip.Transient`) or
//! catches (everything else).

use crate::clock;
use crate::ids::ProjectId;
use crate::metrics;
use crate::ports::{CommitOutcome, ProjectStore, StoreError};
use crate::project::{Artifact, ErrorInfo, ProjectMeta, State, StepName, StoredInput};
use crate::transition::{DedupeKey, StepCommit, Transition, TransitionError};
use serde::{Deserialize, Serialize};
use std::time::Instant;
use tracing::Instrument;

// The error type names functions fail with: the one list of them. statemachine.asl.json's
// Retry and Catch match the first four; the rest name failures outside a step.
/// Worth retrying (the ASL retries it with back-off).
pub const TRANSIENT: &str = "ZeroToShip.Transient";
/// The idea or the project cannot go on: fails the run at once.
pub const INVALID: &str = "ZeroToShip.Invalid";
pub const CONFLICT: &str = "ZeroToShip.Conflict";
pub const INTERNAL: &str = "ZeroToShip.Internal";
/// The run is no longer the project's current run (the reconciler started another): it
/// ends quietly, changing nothing (ARCHITECTURE.md §7).
pub const SUPERSEDED: &str = "ZeroToShip.Superseded";
/// The reconciler could not get a run started after its last attempt.
pub const START_FAILED: &str = "ZeroToShip.StartFailed";
/// A run failed without an error description (the RecordFailure state had none).
pub const UNKNOWN: &str = "ZeroToShip.Unknown";
/// A store could not be read or written (the authorizer, the ws function).
pub const STORE: &str = "ZeroToShip.Store";
/// A message could not be pushed to a connection (the ws function).
pub const PUSH: &str = "ZeroToShip.Push";

/// The error object Step Functions' Catch puts at `$.error`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaughtError {
    #[serde(rename = "Error")]
    pub error: String,
    #[serde(rename = "Cause", default)]
    pub cause: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Outcome {
    Completed,
    Failed,
}

/// What every task state passes (see `Parameters` in statemachine.asl.json).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRequest {
    pub project_id: ProjectId,
    pub correlation_id: String,
    pub execution_id: String,
    /// The workflow state's name (`Validate`, `Advise`, `Complete`, `RecordFailure`).
    pub state: String,
    pub retry_count: u32,
    /// The run this execution is (`$.run` of the execution's input).
    #[serde(default = "first_run")]
    pub run: u32,
    /// Finalize only: which outcome to record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    /// RecordFailure only: the error that ended the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<CaughtError>,
}

impl StepRequest {
    /// Attempts are 1-based; Step Functions' RetryCount is 0 on the first attempt.
    pub fn attempt(&self) -> u32 {
        self.retry_count + 1
    }

    /// The span every log line of this attempt is inside: the keys that find one run's
    /// lines (ARCHITECTURE.md §11).
    pub fn span(&self, step: &'static str) -> tracing::Span {
        tracing::info_span!(
            "step",
            project_id = %self.project_id,
            correlation_id = %self.correlation_id,
            execution_id = %self.execution_id,
            step,
            state = %self.state,
            attempt = self.attempt(),
            run = self.run,
        )
    }

    pub fn commit(&self, transition: Transition) -> StepCommit {
        StepCommit {
            project_id: self.project_id.clone(),
            dedupe: DedupeKey::for_transition(&self.execution_id, &self.state, &transition),
            correlation_id: self.correlation_id.clone(),
            run: self.run,
            transition,
            at: clock::now(),
        }
    }
}

fn first_run() -> u32 {
    1
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepResponse {
    pub project_id: ProjectId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// True when a previous delivery of this step had already done the work.
    pub already_done: bool,
    /// The validator's call on the idea (`go`, `pivot`, `stop`): what a workflow's Choice
    /// state may branch on (`workflows/triage.asl.json`). Never text of the idea.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// Worth retrying (throttling, a dependency briefly down).
    Transient,
    /// Retrying cannot help (the project is gone, the input cannot be analysed).
    Invalid,
    /// The project is not in a state that allows this step.
    Conflict,
    Internal,
    /// The run was superseded by a newer one: end quietly.
    Superseded,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", self.error_type())]
pub struct StepFailure {
    pub kind: FailureKind,
    pub message: String,
}

impl StepFailure {
    pub fn new(kind: FailureKind, message: impl Into<String>) -> Self {
        StepFailure {
            kind,
            message: message.into(),
        }
    }

    /// The stable error type name the state machine matches on.
    pub fn error_type(&self) -> &'static str {
        match self.kind {
            FailureKind::Transient => TRANSIENT,
            FailureKind::Invalid => INVALID,
            FailureKind::Conflict => CONFLICT,
            FailureKind::Internal => INTERNAL,
            FailureKind::Superseded => SUPERSEDED,
        }
    }

    pub fn is_retryable(&self) -> bool {
        self.kind == FailureKind::Transient
    }

    pub fn info(&self) -> ErrorInfo {
        ErrorInfo::new(self.error_type(), &self.message)
    }
}

impl From<StoreError> for StepFailure {
    fn from(err: StoreError) -> Self {
        let kind = match &err {
            StoreError::Unavailable(_) => FailureKind::Transient,
            StoreError::NotFound => FailureKind::Invalid,
            // A cancelled or deleted project's run has ended like a superseded one: quietly.
            StoreError::Transition(
                TransitionError::NotCurrentRun { .. }
                | TransitionError::Terminal {
                    state: State::Cancelled | State::Deleted,
                },
            ) => FailureKind::Superseded,
            StoreError::Transition(_)
            | StoreError::AlreadyExists
            | StoreError::IdempotencyConflict => FailureKind::Conflict,
            StoreError::InvalidCursor | StoreError::Backend(_) | StoreError::Corrupt(_) => {
                FailureKind::Internal
            }
        };
        StepFailure::new(kind, err.to_string())
    }
}

/// What a working step needs to produce its artifact.
pub struct StepContext {
    pub meta: ProjectMeta,
    pub input: StoredInput,
    /// The validator's artifact, for the steps after it.
    pub previous: Option<Artifact>,
}

/// An artifact's type and body, as an engine produces it.
pub struct Produced {
    pub artifact_type: String,
    pub content: serde_json::Value,
}

/// Runs one attempt of a working step: record the start, produce the artifact, store it
/// (first write wins), record success — or record the failure and return it. Every write
/// is idempotent, so a redelivered or retried invocation changes nothing twice.
pub async fn run_step<S, F, Fut>(
    store: &S,
    step: StepName,
    req: &StepRequest,
    produce: F,
) -> Result<StepResponse, StepFailure>
where
    S: ProjectStore + ?Sized,
    F: FnOnce(StepContext) -> Fut,
    Fut: std::future::Future<Output = Result<Produced, StepFailure>>,
{
    attempt_step(store, step, req, produce)
        .instrument(req.span(step.as_str()))
        .await
}

async fn attempt_step<S, F, Fut>(
    store: &S,
    step: StepName,
    req: &StepRequest,
    produce: F,
) -> Result<StepResponse, StepFailure>
where
    S: ProjectStore + ?Sized,
    F: FnOnce(StepContext) -> Fut,
    Fut: std::future::Future<Output = Result<Produced, StepFailure>>,
{
    let attempt = req.attempt();
    let started = Instant::now();
    let done = StepResponse {
        project_id: req.project_id.clone(),
        artifact_type: None,
        already_done: true,
        call: None,
    };
    let meta = match store
        .commit_step(req.commit(Transition::StepStarted { step, attempt }))
        .await?
    {
        CommitOutcome::Committed { meta, .. } => {
            if attempt > 1 {
                metrics::step_retried(step);
            }
            *meta
        }
        // Either this very attempt was delivered twice, or the step already succeeded.
        CommitOutcome::AlreadyDone => {
            let meta = store
                .get_meta(&req.project_id)
                .await?
                .ok_or(StepFailure::new(
                    FailureKind::Invalid,
                    "the project does not exist",
                ))?;
            if meta.step_succeeded(step) {
                return Ok(done);
            }
            meta
        }
    };
    let result = async {
        let input = store
            .get_input(&req.project_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        let previous = match step.previous() {
            Some(prev) => Some(
                store
                    .get_artifact(&req.project_id, prev)
                    .await?
                    .ok_or_else(|| {
                        StepFailure::new(
                            FailureKind::Conflict,
                            format!("the {prev} artifact is missing"),
                        )
                    })?,
            ),
            None => None,
        };
        let produced = produce(StepContext {
            meta,
            input,
            previous,
        })
        .await?;
        let artifact = Artifact {
            step,
            artifact_type: produced.artifact_type,
            content: produced.content,
            created_at: clock::now(),
        };
        let success = req.commit(Transition::StepSucceeded {
            step,
            attempt,
            duration_ms: started.elapsed().as_millis() as u64,
            artifact_type: artifact.artifact_type.clone(),
        });
        // The artifact and the success in one write where the store can (first write
        // wins: the stored artifact's type is the one reported).
        match store.succeed_step(artifact, success).await {
            Ok(done) => Ok(Ok(done)),
            // The success commit itself was refused (a superseded run, a state it cannot
            // follow): that answer stands, with no step failure recorded on top.
            Err(e @ StoreError::Transition(_)) => Ok(Err(e)),
            Err(e) => Err(StepFailure::from(e)),
        }
    }
    .await;
    match result {
        Ok(Ok((artifact_type, outcome))) => {
            if outcome != CommitOutcome::AlreadyDone {
                let took = started.elapsed();
                metrics::step_succeeded(step, took);
                tracing::info!(duration_ms = took.as_millis() as u64, "step succeeded");
            }
            Ok(StepResponse {
                project_id: req.project_id.clone(),
                artifact_type: Some(artifact_type),
                already_done: outcome == CommitOutcome::AlreadyDone,
                call: None,
            })
        }
        Ok(Err(refused)) => Err(refused.into()),
        Err(failure) => {
            let transition = Transition::StepFailed {
                step,
                attempt,
                error: failure.info(),
                retryable: failure.is_retryable(),
            };
            // Best effort: if even this write fails, the original failure is what matters.
            // A superseded run records nothing (its commits are refused anyway).
            if failure.kind == FailureKind::Superseded {
                return Err(failure);
            }
            let took = started.elapsed();
            metrics::step_failed(step, failure.error_type(), took);
            tracing::warn!(
                error_type = failure.error_type(),
                error = %failure.message,
                retryable = failure.is_retryable(),
                duration_ms = took.as_millis() as u64,
                "step failed"
            );
            if let Err(e) = store.commit_step(req.commit(transition)).await {
                tracing::warn!(error = %e, project_id = %req.project_id, "could not record a step failure");
            }
            Err(failure)
        }
    }
}
