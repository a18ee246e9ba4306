//! The finalize step: records the run's outcome — COMPLETED, or FAILED with the error
//! that ended it (the `$.error` Step Functions' Catch put there).

#[cfg(feature = "lambda")]
pub mod config;

use tracing::Instrument;
use zts_domain::metrics::{self, RunEnd};
use zts_domain::ports::{CommitOutcome, ProjectStore, StoreError};
use zts_domain::project::{ErrorInfo, State};
use zts_domain::step::{CaughtError, FailureKind, Outcome, StepFailure, StepRequest, StepResponse};
use zts_domain::transition::{Transition, TransitionError};

pub async fn handle<S: ProjectStore + ?Sized>(
    store: &S,
    req: StepRequest,
) -> Result<StepResponse, StepFailure> {
    let span = req.span("finalize");
    record(store, req).instrument(span).await
}

async fn record<S: ProjectStore + ?Sized>(
    store: &S,
    req: StepRequest,
) -> Result<StepResponse, StepFailure> {
    let transition = match req.outcome {
        Some(Outcome::Completed) => Transition::Completed,
        Some(Outcome::Failed) => Transition::Failed {
            error: failure_reason(req.error.as_ref()),
        },
        None => {
            return Err(StepFailure::new(
                FailureKind::Invalid,
                "finalize needs an outcome (COMPLETED or FAILED)",
            ));
        }
    };
    let end = run_end(&transition);
    let already_done = match store.commit_step(req.commit(transition)).await {
        Ok(outcome) => {
            let already_done = outcome == CommitOutcome::AlreadyDone;
            if let CommitOutcome::Committed { meta, .. } = &outcome {
                metrics::run_ended(meta.workflow.label(), end);
                tracing::info!(outcome = end.as_str(), "run ended");
            }
            already_done
        }
        // A superseded run records no outcome: the project belongs to a newer run, and this
        // one ends quietly instead of failing its execution (ARCHITECTURE.md §7).
        Err(StoreError::Transition(TransitionError::NotCurrentRun { run, current })) => {
            tracing::info!(project_id = %req.project_id, run, current, "a superseded run ended; nothing recorded");
            true
        }
        // A cancelled (or since deleted) project keeps its state: the run ends without an
        // outcome of its own.
        Err(StoreError::Transition(TransitionError::Terminal {
            state: State::Cancelled | State::Deleted,
        })) => {
            tracing::info!(project_id = %req.project_id, "a cancelled run ended; nothing recorded");
            true
        }
        Err(e) => return Err(e.into()),
    };
    Ok(StepResponse {
        project_id: req.project_id,
        artifact_type: None,
        already_done,
        call: None,
    })
}

/// How the run ends, as the workflow metric labels it: a refused idea is the ASL's
/// `Rejected` (a business outcome), anything else that failed it a system failure.
fn run_end(transition: &Transition) -> RunEnd {
    match transition {
        Transition::Failed { error } if error.code == zts_domain::step::INVALID => RunEnd::Rejected,
        Transition::Failed { .. } => RunEnd::Failed,
        _ => RunEnd::Completed,
    }
}

/// The reason a person reads: the step's own message when it sent one (the Cause of a
/// function error is a JSON object with `errorMessage`), else the error name.
fn failure_reason(error: Option<&CaughtError>) -> ErrorInfo {
    let Some(error) = error else {
        return ErrorInfo::new(
            zts_domain::step::UNKNOWN,
            "the run failed without an error description",
        );
    };
    let message = serde_json::from_str::<serde_json::Value>(&error.cause)
        .ok()
        .and_then(|v| {
            v.get("errorMessage")
                .and_then(|m| m.as_str())
                .map(str::to_string)
        })
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| {
            if error.cause.is_empty() {
                format!("the run failed with {}", error.error)
            } else {
                error.cause.clone()
            }
        });
    ErrorInfo::new(error.error.clone(), message)
}
