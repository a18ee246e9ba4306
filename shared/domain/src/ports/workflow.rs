use crate::ids::ProjectId;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// The input of one workflow execution; the execution is named by the project id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowStart {
    pub project_id: ProjectId,
    pub correlation_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartOutcome {
    Started,
    /// An execution with this name exists: starting is idempotent.
    AlreadyStarted,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkflowError {
    #[error("workflow engine unavailable: {0}")]
    Unavailable(String),
    #[error("workflow engine failure: {0}")]
    Failed(String),
}

/// Starts the state machine for a project (Step Functions, or the local interpreter).
#[async_trait]
pub trait WorkflowStarter: Send + Sync {
    async fn start(&self, start: &WorkflowStart) -> Result<StartOutcome, WorkflowError>;

    /// Readiness: the engine can accept executions.
    async fn ready(&self) -> Result<(), WorkflowError>;
}
