//! Retry, cancel and export (ARCHITECTURE.md §7) through the domain's use cases, on every
//! store: a retry keeps the failed run in the history and what it produced, continues the
//! seq and starts at the failed step; of concurrent retries one claims the run; a cancel
//! refuses the late commits of the run it ended; an export holds everything stored.

use super::fixtures::*;
use super::runs::ExpressLikeStarter;
use std::sync::Arc;
use zts_domain::clock;
use zts_domain::lifecycle::{RetryOutcome, cancel_project, export_project, retry_project};
use zts_domain::ports::{CommitOutcome, ProjectStore, StoreError};
use zts_domain::project::{Artifact, State, StepName, StepStatus};
use zts_domain::transition::{Transition, TransitionError};
use zts_domain::{ErrorCode, ErrorInfo, ProjectId, ProjectMeta};

fn artifact(step: StepName) -> Artifact {
    Artifact {
        step,
        artifact_type: format!("{step}_report"),
        content: serde_json::json!({"by": step.as_str()}),
        created_at: clock::now(),
    }
}

async fn commit_all<S: ProjectStore + ?Sized>(
    store: &S,
    id: &ProjectId,
    run: u32,
    transitions: Vec<Transition>,
) {
    for t in transitions {
        store
            .commit_step(commit_in_run(id, run, t))
            .await
            .unwrap_or_else(|e| panic!("run {run} commits: {e}"));
    }
}

/// A stored project of alice's whose validator succeeded (with its artifact) and whose
/// advisory failed twice in run 1: FAILED.
async fn failed_at_advisory<S: ProjectStore + ?Sized>(store: &S) -> ProjectId {
    let new = new_project("alice", "retried", clock::now());
    let id = new.project_id.clone();
    store.create_project(new).await.unwrap();
    store
        .put_artifact(&id, artifact(StepName::Validator))
        .await
        .unwrap();
    commit_all(
        store,
        &id,
        1,
        vec![
            started(StepName::Validator, 1),
            succeeded(StepName::Validator, 1),
            started(StepName::Advisory, 1),
            failed_attempt(StepName::Advisory, 1, true),
            started(StepName::Advisory, 2),
            failed_attempt(StepName::Advisory, 2, true),
            Transition::Failed {
                error: ErrorInfo::new("ZeroToShip.Transient", "the advisory kept timing out"),
            },
        ],
    )
    .await;
    id
}

async fn meta_of<S: ProjectStore + ?Sized>(store: &S, id: &ProjectId) -> ProjectMeta {
    store.get_meta(id).await.unwrap().unwrap()
}

async fn seqs<S: ProjectStore + ?Sized>(store: &S, id: &ProjectId) -> Vec<u64> {
    let events = store.events_after(id, 0, 1_000).await.unwrap();
    events.iter().map(|e| e.seq).collect()
}

pub async fn a_retry_starts_at_the_failed_step_and_keeps_the_history<S: ProjectStore>(
    store: Arc<S>,
) {
    let id = failed_at_advisory(&*store).await;
    let validator_artifact = store
        .get_artifact(&id, StepName::Validator)
        .await
        .unwrap()
        .unwrap();
    let workflow = ExpressLikeStarter::default();
    let outcome = retry_project(&*store, &workflow, &owner("alice"), &id, None, clock::now())
        .await
        .unwrap();
    let RetryOutcome::Retried(meta) = outcome else {
        panic!("a first retry claims a run: {outcome:?}");
    };
    assert_eq!(
        (meta.state, meta.run, meta.progress),
        (State::Created, 2, 50)
    );
    let starts = workflow.started();
    assert_eq!(starts.len(), 1);
    assert_eq!(starts[0].run, 2);
    assert_eq!(starts[0].correlation_id, meta.correlation_id);
    // Stored, not only returned: the history of run 1 and the validator's success kept.
    let stored = meta_of(&*store, &id).await;
    assert_eq!(stored, meta);
    assert_eq!(stored.history.len(), 1);
    assert_eq!(
        stored.history[0].steps[&StepName::Advisory].status,
        StepStatus::Failed
    );
    assert_eq!(stored.history[0].steps[&StepName::Advisory].attempts, 2);
    assert!(stored.step_succeeded(StepName::Validator));
    // Run 2, as its execution does it: the validator is already done, so the step runner
    // skips it (its start is AlreadyDone); the advisory runs and the run completes.
    assert_eq!(
        store
            .commit_step(commit_in_run(&id, 2, started(StepName::Validator, 1)))
            .await
            .unwrap(),
        CommitOutcome::AlreadyDone
    );
    store
        .put_artifact(&id, artifact(StepName::Advisory))
        .await
        .unwrap();
    commit_all(
        &*store,
        &id,
        2,
        vec![
            started(StepName::Advisory, 1),
            succeeded(StepName::Advisory, 1),
            Transition::Completed,
        ],
    )
    .await;
    let done = meta_of(&*store, &id).await;
    assert_eq!(
        (done.state, done.progress, done.attempts()),
        (State::Completed, 100, 1)
    );
    // Events 1–7 of run 1, the retry's CREATED as 8, then run 2's three: gapless.
    assert_eq!(
        seqs(&*store, &id).await,
        (1..=done.last_seq).collect::<Vec<_>>()
    );
    assert_eq!(done.last_seq, 11);
    let view = store
        .get_project(&owner("alice"), &id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(view.artifacts.len(), 2, "one artifact per step");
    assert_eq!(
        store.get_artifact(&id, StepName::Validator).await.unwrap(),
        Some(validator_artifact),
        "the validator's artifact is kept, not recomputed"
    );
}

pub async fn only_a_failed_project_of_the_callers_is_retried<S: ProjectStore>(store: Arc<S>) {
    let workflow = ExpressLikeStarter::default();
    let alice = owner("alice");
    let new = new_project("alice", "running", clock::now());
    let running = new.project_id.clone();
    store.create_project(new).await.unwrap();
    let refused = retry_project(&*store, &workflow, &alice, &running, None, clock::now())
        .await
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::StateConflict);
    assert!(refused.message.contains("CREATED"), "{}", refused.message);
    let failed = failed_at_advisory(&*store).await;
    for (who, id) in [
        (owner("mallory"), failed.clone()),
        (alice.clone(), ProjectId::generate()),
    ] {
        let err = retry_project(&*store, &workflow, &who, &id, None, clock::now())
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::NotFound, "{who:?} {id}");
    }
    let bad_key = retry_project(
        &*store,
        &workflow,
        &alice,
        &failed,
        Some("a b"),
        clock::now(),
    )
    .await
    .unwrap_err();
    assert_eq!(bad_key.code, ErrorCode::InvalidParameter);
    assert!(
        workflow.started().is_empty(),
        "nothing refused started a run"
    );
    assert_eq!(meta_of(&*store, &failed).await.run, 1);
}

/// Eight retries of one FAILED project at once, half with their own Idempotency-Key:
/// the project and how many of them claimed a run.
async fn eight_concurrent_retries<S: ProjectStore + 'static>(
    store: &Arc<S>,
) -> (ProjectId, Arc<ExpressLikeStarter>, usize) {
    let id = failed_at_advisory(&**store).await;
    let workflow = Arc::new(ExpressLikeStarter::default());
    let retries = (0..8).map(|i| {
        let (store, workflow, id) = (store.clone(), workflow.clone(), id.clone());
        let key = (i % 2 == 1).then(|| format!("retry-key-{i}"));
        tokio::spawn(async move {
            retry_project(
                &*store,
                &*workflow,
                &owner("alice"),
                &id,
                key.as_deref(),
                clock::now(),
            )
            .await
        })
    });
    let mut retried = 0;
    for handle in retries.collect::<Vec<_>>() {
        match handle.await.unwrap() {
            Ok(RetryOutcome::Retried(_)) => retried += 1,
            Ok(RetryOutcome::Replayed(meta)) => assert_eq!(meta.run, 2),
            Err(e) => assert_eq!(e.code, ErrorCode::StateConflict, "{e}"),
        }
    }
    (id, workflow, retried)
}

pub async fn one_run_comes_of_eight_concurrent_retries<S: ProjectStore + 'static>(store: Arc<S>) {
    let (id, workflow, retried) = eight_concurrent_retries(&store).await;
    assert_eq!(retried, 1, "one retry claims the run");
    assert_eq!(workflow.started().len(), 1, "one run is started");
    let meta = meta_of(&*store, &id).await;
    assert_eq!((meta.run, meta.history.len(), meta.last_seq), (2, 1, 8));
}

/// With the events: separate because moto does not isolate concurrent transactions (a
/// cancelled one can undo another's event put), so it runs where writes are isolated.
pub async fn eight_concurrent_retries_leave_gapless_events<S: ProjectStore + 'static>(
    store: Arc<S>,
) {
    let (id, _, retried) = eight_concurrent_retries(&store).await;
    assert_eq!(retried, 1);
    assert_eq!(seqs(&*store, &id).await, (1..=8).collect::<Vec<_>>());
}

pub async fn a_retry_with_the_same_idempotency_key_replays<S: ProjectStore>(store: Arc<S>) {
    let id = failed_at_advisory(&*store).await;
    let workflow = ExpressLikeStarter::default();
    let alice = owner("alice");
    let retry =
        |key: &'static str| retry_project(&*store, &workflow, &alice, &id, Some(key), clock::now());
    assert!(matches!(
        retry("k-1").await.unwrap(),
        RetryOutcome::Retried(_)
    ));
    commit_all(
        &*store,
        &id,
        2,
        vec![
            started(StepName::Advisory, 1),
            Transition::Failed {
                error: ErrorInfo::new("ZeroToShip.Internal", "failed again"),
            },
        ],
    )
    .await;
    // The same key again is the same request: the run it made, not a new one.
    let replay = retry("k-1").await.unwrap();
    assert!(
        matches!(&replay, RetryOutcome::Replayed(m) if m.run == 2),
        "{replay:?}"
    );
    assert!(matches!(retry("k-2").await.unwrap(), RetryOutcome::Retried(m) if m.run == 3));
    assert_eq!(workflow.started().len(), 2);
    assert_eq!(meta_of(&*store, &id).await.history.len(), 2);
}

pub async fn a_cancel_ends_the_run_and_refuses_its_late_commits<S: ProjectStore>(store: Arc<S>) {
    let workflow = ExpressLikeStarter::default();
    let alice = owner("alice");
    let new = new_project("alice", "cancelled", clock::now());
    let id = new.project_id.clone();
    store.create_project(new).await.unwrap();
    commit_all(&*store, &id, 1, vec![started(StepName::Validator, 1)]).await;
    let mallory = cancel_project(&*store, &workflow, &owner("mallory"), &id, clock::now())
        .await
        .unwrap_err();
    assert_eq!(mallory.code, ErrorCode::NotFound);
    let meta = cancel_project(&*store, &workflow, &alice, &id, clock::now())
        .await
        .unwrap();
    assert_eq!((meta.state, meta.last_seq), (State::Cancelled, 3));
    // The validator finishing afterwards is refused, and nothing is written.
    let late = store
        .commit_step(commit_in_run(&id, 1, succeeded(StepName::Validator, 1)))
        .await;
    assert!(
        matches!(
            late,
            Err(StoreError::Transition(TransitionError::Terminal {
                state: State::Cancelled
            }))
        ),
        "{late:?}"
    );
    // Cancelling again answers the cancelled project; nothing more is written.
    let again = cancel_project(&*store, &workflow, &alice, &id, clock::now())
        .await
        .unwrap();
    assert_eq!(again, meta);
    assert_eq!(meta_of(&*store, &id).await, meta);
    assert_eq!(seqs(&*store, &id).await, vec![1, 2, 3]);
    // A project that ended otherwise cannot be cancelled.
    let failed = failed_at_advisory(&*store).await;
    let err = cancel_project(&*store, &workflow, &alice, &failed, clock::now())
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::StateConflict);
    assert_eq!(meta_of(&*store, &failed).await.state, State::Failed);
}

pub async fn an_export_holds_everything_stored_about_the_project<S: ProjectStore>(store: Arc<S>) {
    let id = failed_at_advisory(&*store).await;
    let workflow = ExpressLikeStarter::default();
    retry_project(&*store, &workflow, &owner("alice"), &id, None, clock::now())
        .await
        .unwrap();
    let export = export_project(&*store, &owner("alice"), &id).await.unwrap();
    let meta = meta_of(&*store, &id).await;
    assert_eq!(export.project.meta, meta);
    assert_eq!(export.project.meta.history.len(), 1);
    assert_eq!(export.project.input.input().name, "retried");
    assert_eq!(export.project.artifacts.len(), 1);
    assert_eq!(
        export.events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (1..=meta.last_seq).collect::<Vec<_>>()
    );
    let err = export_project(&*store, &owner("mallory"), &id)
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::NotFound);
}
