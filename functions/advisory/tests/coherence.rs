//! Whatever engine wrote it, an advisory plan that contradicts its validation report is
//! never stored: the step fails as a system failure naming the broken rule.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failed expectation is a failed test"
)]

use async_trait::async_trait;
use zts_analysis::rules::RuleEngine;
use zts_analysis::{
    AdvisoryInput, AdvisoryPlan, AnalysisEngine, Call, EngineError, ValidationInput,
    ValidationReport,
};
use zts_conformance::new_project;
use zts_domain::ports::ProjectStore;
use zts_domain::project::StepName;
use zts_domain::step::{FailureKind, StepRequest};
use zts_domain::{ProjectId, clock};
use zts_embedded::EmbeddedStore;

/// The rule engine, except that its call is always `go`.
struct Overconfident;

#[async_trait]
impl AnalysisEngine for Overconfident {
    async fn validate(&self, input: &ValidationInput<'_>) -> Result<ValidationReport, EngineError> {
        RuleEngine.validate(input).await
    }
    async fn advise(&self, input: &AdvisoryInput<'_>) -> Result<AdvisoryPlan, EngineError> {
        let mut plan = RuleEngine.advise(input).await?;
        plan.decision.call = Call::Go;
        Ok(plan)
    }
}

fn request(project: &ProjectId, state: &str) -> StepRequest {
    StepRequest {
        project_id: project.clone(),
        correlation_id: "c".into(),
        execution_id: format!("exec-{project}"),
        state: state.into(),
        retry_count: 0,
        run: 1,
        outcome: None,
        error: None,
    }
}

#[tokio::test]
async fn a_plan_that_contradicts_its_report_is_refused_naming_the_rule() {
    let store = EmbeddedStore::in_memory().unwrap();
    // The conformance kit's idea is thin: the table gives stop or pivot, never go.
    let new = new_project("alice", "receipts", clock::now());
    let id = new.project_id.clone();
    store.create_project(new).await.unwrap();
    let validated = RuleEngine
        .validate(&ValidationInput {
            input: store.get_input(&id).await.unwrap().unwrap().input(),
            redaction: &Default::default(),
        })
        .await
        .unwrap();
    assert_ne!(zts_analysis::decision::call(&validated), Call::Go);
    validator::handle(&store, &RuleEngine, request(&id, "Validate"))
        .await
        .unwrap();

    let failure = advisory::handle(&store, &Overconfident, request(&id, "Advise"))
        .await
        .unwrap_err();
    assert_eq!(failure.kind, FailureKind::Internal);
    assert!(
        failure.message.contains("call_follows_the_table"),
        "{}",
        failure.message
    );
    assert!(
        store
            .get_artifact(&id, StepName::Advisory)
            .await
            .unwrap()
            .is_none(),
        "nothing is stored"
    );

    // The rule engine's own plan passes and is stored.
    let done = advisory::handle(&store, &RuleEngine, request(&id, "Advise"))
        .await
        .unwrap();
    assert_eq!(done.artifact_type.as_deref(), Some("advisory_plan"));
}
