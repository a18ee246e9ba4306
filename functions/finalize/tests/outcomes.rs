//! Finalize records COMPLETED, or FAILED with the reason a person can read, once.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failed expectation is a failed test"
)]

use zts_conformance::{commit, commit_in_run, new_project, started, succeeded};
use zts_domain::ports::ProjectStore;
use zts_domain::project::{State, StepName};
use zts_domain::step::{CaughtError, Outcome, StepRequest};
use zts_domain::transition::Transition;
use zts_domain::{ProjectId, clock};
use zts_embedded::EmbeddedStore;

fn request(project: &ProjectId, outcome: Outcome, error: Option<CaughtError>) -> StepRequest {
    StepRequest {
        project_id: project.clone(),
        correlation_id: "c".into(),
        execution_id: "exec".into(),
        state: if outcome == Outcome::Completed {
            "Complete"
        } else {
            "RecordFailure"
        }
        .into(),
        retry_count: 0,
        run: 1,
        outcome: Some(outcome),
        error,
    }
}

async fn project(store: &EmbeddedStore) -> ProjectId {
    let new = new_project("alice", "x", clock::now());
    let id = new.project_id.clone();
    store.create_project(new).await.unwrap();
    id
}

#[tokio::test]
async fn failed_records_the_steps_message_once() {
    let store = EmbeddedStore::in_memory().unwrap();
    let id = project(&store).await;
    let caught = CaughtError {
        error: "ZeroToShip.Invalid".into(),
        cause: r#"{"errorType":"ZeroToShip.Invalid","errorMessage":"the analysis engine failed: bad input"}"#.into(),
    };
    for _ in 0..2 {
        finalize::handle(&store, request(&id, Outcome::Failed, Some(caught.clone())))
            .await
            .unwrap();
    }
    let meta = store.get_meta(&id).await.unwrap().unwrap();
    assert_eq!(meta.state, State::Failed);
    let error = meta.error.unwrap();
    assert_eq!(error.code, "ZeroToShip.Invalid");
    assert_eq!(error.message, "the analysis engine failed: bad input");
    assert_eq!(
        store.events_after(&id, 0, 10).await.unwrap().len(),
        2,
        "FAILED was recorded twice"
    );
}

#[tokio::test]
async fn completed_needs_the_advisory_step_done() {
    let store = EmbeddedStore::in_memory().unwrap();
    let id = project(&store).await;
    let err = finalize::handle(&store, request(&id, Outcome::Completed, None))
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "ZeroToShip.Conflict");
    for t in [
        started(StepName::Validator, 1),
        succeeded(StepName::Validator, 1),
        started(StepName::Advisory, 1),
        succeeded(StepName::Advisory, 1),
    ] {
        store.commit_step(commit(&id, t)).await.unwrap();
    }
    let done = finalize::handle(&store, request(&id, Outcome::Completed, None))
        .await
        .unwrap();
    assert!(!done.already_done);
    assert_eq!(
        store.get_meta(&id).await.unwrap().unwrap().state,
        State::Completed
    );
    let again = finalize::handle(&store, request(&id, Outcome::Completed, None))
        .await
        .unwrap();
    assert!(again.already_done);
}

#[tokio::test]
async fn a_superseded_run_records_no_outcome_and_ends_quietly() {
    let store = EmbeddedStore::in_memory().unwrap();
    let id = project(&store).await;
    // The reconciler claimed run 2; run 1's RecordFailure arrives late.
    store
        .commit_step(commit_in_run(&id, 2, Transition::RunClaimed))
        .await
        .unwrap();
    let caught = CaughtError {
        error: "ZeroToShip.Internal".into(),
        cause: String::new(),
    };
    let answer = finalize::handle(&store, request(&id, Outcome::Failed, Some(caught)))
        .await
        .expect("a superseded run's RecordFailure succeeds, so its execution does not fail");
    assert!(answer.already_done);
    let meta = store.get_meta(&id).await.unwrap().unwrap();
    assert_eq!(meta.state, State::Created, "run 2 still owns the project");
    assert_eq!(meta.run, 2);
    assert_eq!(store.events_after(&id, 0, 10).await.unwrap().len(), 1);
}
