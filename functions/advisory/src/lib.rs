//! The advisory step: turns the validator's critique into recommendations, experiments,
//! risks and a go / pivot / stop call, stored as the `advisory_plan` artifact.

#[cfg(feature = "lambda")]
pub mod config;

use serde::Deserialize;
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
        let report = read_report(&previous.content)?;
        let plan = engine
            .advise(&AdvisoryInput {
                meta: &ctx.meta,
                input: ctx.input.input(),
                report: &report,
            })
            .await
            .map_err(StepFailure::from)?;
        // Whatever engine wrote it, a plan that contradicts its report is never stored: the
        // step fails (a system failure, not a rejected idea) naming the broken rule.
        zts_analysis::coherence::check(ctx.input.input(), &report, &plan)
            .map_err(|e| StepFailure::new(FailureKind::Internal, e.to_string()))?;
        Ok(Produced {
            artifact_type: ADVISORY_ARTIFACT.into(),
            content: serde_json::to_value(plan)
                .map_err(|e| StepFailure::new(FailureKind::Internal, e.to_string()))?,
        })
    })
    .await
}

/// The validator's report from its artifact, read in place (not copied first).
fn read_report(content: &serde_json::Value) -> Result<ValidationReport, StepFailure> {
    ValidationReport::deserialize(content).map_err(|e| {
        StepFailure::new(
            FailureKind::Invalid,
            format!("the validation report is unreadable: {e}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use zts_analysis::ValidationInput;
    use zts_analysis::rules::RuleEngine;
    use zts_domain::input::ProjectInput;
    use zts_domain::pii::PiiPolicy;
    use zts_domain::project::StoredInput;

    #[test]
    fn reads_the_report_the_validator_stored_and_refuses_anything_else() {
        let input = ProjectInput {
            name: "Dog walking app".into(),
            description: "Busy owners book vetted walkers in their street.".into(),
            hypothesis: "Owners will pay 15 EUR per walk".into(),
            target_avatars: vec!["busy dog owner".into()],
        };
        let stored = StoredInput::redact(&input, PiiPolicy::default_regions());
        let report = RuleEngine.validate_sync(&ValidationInput {
            input: stored.input(),
            redaction: stored.redaction(),
        });
        let content = serde_json::to_value(&report).unwrap();
        assert_eq!(read_report(&content).unwrap(), report);

        let plan = RuleEngine.advise_sync(&zts_analysis::AdvisoryInput {
            meta: &zts_domain::ports::NewProject {
                project_id: zts_domain::ProjectId::generate(),
                owner: zts_domain::Owner::parse("o").unwrap(),
                input: stored.clone(),
                correlation_id: "c".into(),
                created_at: zts_domain::clock::now(),
                idempotency: None,
                workflow: Default::default(),
            }
            .initial_meta(),
            input: stored.input(),
            report: &report,
        });
        assert_eq!(
            zts_analysis::coherence::check(stored.input(), &report, &plan),
            Ok(())
        );
        // A plan whose call contradicts the report is refused, naming the rule.
        let mut wrong = plan.clone();
        wrong.decision.call = match plan.decision.call {
            zts_analysis::Call::Go => zts_analysis::Call::Stop,
            _ => zts_analysis::Call::Go,
        };
        let refused = zts_analysis::coherence::check(stored.input(), &report, &wrong).unwrap_err();
        assert_eq!(refused.rule, "call_follows_the_table");

        let failure = read_report(&serde_json::json!({"score": "high"})).unwrap_err();
        assert_eq!(failure.kind, FailureKind::Invalid);
        assert!(
            failure
                .message
                .starts_with("the validation report is unreadable"),
            "{}",
            failure.message
        );
    }
}
