//! The advisory step: turns the validator's critique into recommendations, experiments,
//! risks and a go / pivot / stop call, stored as the `advisory_plan` artifact.

#[cfg(feature = "lambda")]
pub mod config;

use zts_analysis::{ADVISORY_ARTIFACT, AdvisoryInput, AnalysisEngine, ValidationReport};
use zts_domain::ports::ProjectStore;
use zts_domain::project::StepName;
use zts_domain::step::{FailureKind, Produced, StepFailure, StepRequest, StepResponse, run_step};

pub async fn handle<S: ProjectStore + ?Sized>(
    store: &S,
    engine: &dyn AnalysisEngine,
    req: StepRequest,
) -> Result<StepResponse, StepFailure> {
    run_step(store, StepName::Advisory, &req, |ctx| async move {
        let previous = ctx.previous.as_ref().ok_or_else(|| {
            StepFailure::new(FailureKind::Conflict, "the validation report is missing")
        })?;
        let report: ValidationReport =
            serde_json::from_value(previous.content.clone()).map_err(|e| {
                StepFailure::new(
                    FailureKind::Invalid,
                    format!("the validation report is unreadable: {e}"),
                )
            })?;
        let plan = engine
            .advise(&AdvisoryInput {
                meta: &ctx.meta,
                input: ctx.input.input(),
                report: &report,
            })
            .await
            .map_err(StepFailure::from)?;
        Ok(Produced {
            artifact_type: ADVISORY_ARTIFACT.into(),
            content: serde_json::to_value(plan)
                .map_err(|e| StepFailure::new(FailureKind::Internal, e.to_string()))?,
        })
    })
    .await
}
