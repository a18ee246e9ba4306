//! The validator handler is idempotent: a duplicated delivery or a retry after success
//! changes nothing twice (no second event, the first artifact kept).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failed expectation is a failed test"
)]

use zts_analysis::rules::RuleEngine;
use zts_conformance::new_project;
use zts_domain::ports::ProjectStore;
use zts_domain::project::StepName;
use zts_domain::step::StepRequest;
use zts_domain::{ProjectId, clock};
use zts_embedded::EmbeddedStore;

fn request(project: &ProjectId, retry_count: u32) -> StepRequest {
    StepRequest {
        project_id: project.clone(),
        correlation_id: "c".into(),
        execution_id: format!("exec-{project}"),
        state: "Validate".into(),
        retry_count,
        run: 1,
        outcome: None,
        error: None,
    }
}

#[tokio::test]
async fn duplicated_and_retried_invocations_change_nothing_twice() {
    let store = EmbeddedStore::in_memory().unwrap();
    let new = new_project("alice", "receipts", clock::now());
    let id = new.project_id.clone();
    store.create_project(new).await.unwrap();

    let first = validator::handle(&store, &RuleEngine, request(&id, 0))
        .await
        .unwrap();
    assert!(!first.already_done);
    assert_eq!(first.artifact_type.as_deref(), Some("validation_report"));
    let artifact = store
        .get_artifact(&id, StepName::Validator)
        .await
        .unwrap()
        .unwrap();
    let events = store.events_after(&id, 0, 100).await.unwrap();
    assert_eq!(events.len(), 3);

    // The same delivery again, then a retry Step Functions made after a lost response.
    for retry in [0, 1] {
        let again = validator::handle(&store, &RuleEngine, request(&id, retry))
            .await
            .unwrap();
        assert!(again.already_done, "retry {retry}");
    }
    assert_eq!(
        store.events_after(&id, 0, 100).await.unwrap(),
        events,
        "an event was added"
    );
    assert_eq!(
        store
            .get_artifact(&id, StepName::Validator)
            .await
            .unwrap()
            .unwrap(),
        artifact
    );
    assert_eq!(
        store.get_meta(&id).await.unwrap().unwrap().runs[&StepName::Validator].attempts,
        1
    );
}

#[tokio::test]
async fn a_missing_project_is_a_permanent_failure() {
    let store = EmbeddedStore::in_memory().unwrap();
    let err = validator::handle(&store, &RuleEngine, request(&ProjectId::generate(), 0))
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "ZeroToShip.Invalid");
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn a_superseded_run_fails_with_superseded_and_records_nothing() {
    let store = EmbeddedStore::in_memory().unwrap();
    let new = new_project("alice", "receipts", clock::now());
    let id = new.project_id.clone();
    store.create_project(new).await.unwrap();
    store
        .commit_step(zts_conformance::commit_in_run(
            &id,
            2,
            zts_domain::transition::Transition::RunClaimed,
        ))
        .await
        .unwrap();
    let err = validator::handle(&store, &RuleEngine, request(&id, 0))
        .await
        .unwrap_err();
    // statemachine.asl.json catches this name and ends the execution quietly.
    assert_eq!(err.error_type(), zts_domain::step::SUPERSEDED);
    assert_eq!(store.events_after(&id, 0, 100).await.unwrap().len(), 1);
    assert!(
        store
            .get_artifact(&id, StepName::Validator)
            .await
            .unwrap()
            .is_none()
    );
}
