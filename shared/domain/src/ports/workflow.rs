use crate::ids::ProjectId;
use crate::workflows::{WORKFLOWS, Workflow};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// The input of one workflow execution: one run of one project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowStart {
    pub project_id: ProjectId,
    pub correlation_id: String,
    /// The run this execution is (claimed on META before the start).
    pub run: u32,
    /// The workflow the project runs (its META's): which state machine starts.
    pub workflow: String,
}

impl WorkflowStart {
    /// The start of `meta`'s current run, on the workflow it was created with.
    pub fn of(meta: &crate::project::ProjectMeta) -> Self {
        WorkflowStart {
            project_id: meta.project_id.clone(),
            correlation_id: meta.correlation_id.clone(),
            run: meta.run,
            workflow: meta.workflow.name.clone(),
        }
    }

    /// The execution's name: project id and run number. Standard workflows refuse a
    /// reused name for 90 days, so every run needs its own; 36 + 1 + at most 10
    /// characters, within Step Functions' 80.
    pub fn execution_name(&self) -> String {
        Self::name_of(&self.project_id, self.run)
    }

    /// The name of run `run`'s execution of `project_id`.
    pub fn name_of(project_id: &ProjectId, run: u32) -> String {
        format!("{project_id}-{run}")
    }

    /// The execution's input, as statemachine.asl.json reads it (`$.project_id`, …).
    pub fn input_json(&self) -> serde_json::Value {
        serde_json::json!({
            "project_id": self.project_id,
            "correlation_id": self.correlation_id,
            "run": self.run,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartOutcome {
    Started,
    /// An execution with this name exists (Standard and the local engine; Express never
    /// says so, which is why a run is claimed on META before it is started).
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

    /// Stops the execution of `start`'s run, where the engine can (Standard). Cancelling
    /// is by the project's state, so an engine that cannot stop one (Express) answers
    /// `Ok(false)` and the run ends at its next commit, refused (ARCHITECTURE.md §7).
    async fn stop(&self, start: &WorkflowStart) -> Result<bool, WorkflowError> {
        let _ = start;
        Ok(false)
    }

    /// Readiness: the engine can accept executions.
    async fn ready(&self) -> Result<(), WorkflowError>;

    /// The workflows this engine can start (every listed one unless a deployment says
    /// otherwise): what a create may choose.
    fn workflows(&self) -> Vec<&'static Workflow> {
        WORKFLOWS.iter().collect()
    }
}
