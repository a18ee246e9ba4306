//! The validator step: scores and critiques the idea (the analysis engine), stores the
//! `validation_report` artifact and records the step's progress. Generic over the store;
//! `main.rs` wires it to DynamoDB on Lambda, the local stack calls it in process.

#[cfg(feature = "lambda")]
pub mod config;

use zts_analysis::decision;
use zts_analysis::{AnalysisEngine, Call, VALIDATION_ARTIFACT, ValidationInput, ValidationReport};
use zts_domain::ports::ProjectStore;
use zts_domain::project::StepName;
use zts_domain::step::{FailureKind, Produced, StepFailure, StepRequest, StepResponse, run_step};

/// Runs the validator step. The response carries the call the report makes, also when a
/// redelivery finds the step done (read back from the stored report), so a workflow that
/// branches on it takes the same branch either way.
pub async fn handle<S: ProjectStore + ?Sized>(
    store: &S,
    engine: &dyn AnalysisEngine,
    req: StepRequest,
) -> Result<StepResponse, StepFailure> {
    let mut made: Option<Call> = None;
    let slot = &mut made;
    let mut response = run_step(store, StepName::Validator, &req, |ctx| async move {
        let report = engine
            .validate(&ValidationInput {
                input: ctx.input.input(),
                redaction: ctx.input.redaction(),
            })
            .await
            .map_err(StepFailure::from)?;
        *slot = Some(decision::call(&report));
        Ok(Produced {
            artifact_type: VALIDATION_ARTIFACT.into(),
            content: serde_json::to_value(report)
                .map_err(|e| StepFailure::new(FailureKind::Internal, e.to_string()))?,
        })
    })
    .await?;
    let call = match made {
        Some(call) => Some(call),
        None => stored_call(store, &req).await?,
    };
    response.call = call.map(|c| c.as_str().to_string());
    Ok(response)
}

/// The call of the report a previous delivery stored (`None` when there is none, or it
/// is not a validation report this engine reads).
async fn stored_call<S: ProjectStore + ?Sized>(
    store: &S,
    req: &StepRequest,
) -> Result<Option<Call>, StepFailure> {
    let artifact = store
        .get_artifact(&req.project_id, StepName::Validator)
        .await?;
    Ok(artifact
        .and_then(|a| serde_json::from_value::<ValidationReport>(a.content).ok())
        .map(|report| decision::call(&report)))
}
