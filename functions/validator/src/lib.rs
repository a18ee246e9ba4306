//! The validator step: scores and critiques the idea (the analysis engine), stores the
//! `validation_report` artifact and records the step's progress. Generic over the store;
//! `main.rs` wires it to DynamoDB on Lambda, the local stack calls it in process.

#[cfg(feature = "lambda")]
pub mod config;

use zts_analysis::{AnalysisEngine, VALIDATION_ARTIFACT, ValidationInput};
use zts_domain::ports::ProjectStore;
use zts_domain::project::StepName;
use zts_domain::step::{FailureKind, Produced, StepFailure, StepRequest, StepResponse, run_step};

pub async fn handle<S: ProjectStore + ?Sized>(
    store: &S,
    engine: &dyn AnalysisEngine,
    req: StepRequest,
) -> Result<StepResponse, StepFailure> {
    run_step(store, StepName::Validator, &req, |ctx| async move {
        let report = engine
            .validate(&ValidationInput {
                input: ctx.input.input(),
                redaction: ctx.input.redaction(),
            })
            .await
            .map_err(StepFailure::from)?;
        Ok(Produced {
            artifact_type: VALIDATION_ARTIFACT.into(),
            content: serde_json::to_value(report)
                .map_err(|e| StepFailure::new(FailureKind::Internal, e.to_string()))?,
        })
    })
    .await
}
