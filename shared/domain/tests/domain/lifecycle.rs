//! Retry and cancel as transitions (`transition::apply`): a retry keeps what the failed run
//! produced and starts at the step that failed; a cancel is terminal and refuses the late
//! commits of the run it ended.

use zts_domain::clock;
use zts_domain::events::EventBody;
use zts_domain::pii::PiiPolicy;
use zts_domain::ports::NewProject;
use zts_domain::project::{ErrorInfo, ProjectMeta, State, StepName, StepStatus, StoredInput};
use zts_domain::step::{FailureKind, StepFailure};
use zts_domain::transition::{Applied, DedupeKey, StepCommit, Transition, TransitionError, apply};
use zts_domain::{Event, Owner, ProjectId, ProjectInput};

fn fresh() -> ProjectMeta {
    NewProject {
        project_id: ProjectId::generate(),
        owner: Owner::parse("alice").unwrap(),
        input: StoredInput::redact(
            &ProjectInput {
                name: "x".into(),
                description: String::new(),
                hypothesis: String::new(),
                target_avatars: vec![],
            },
            PiiPolicy::default_regions(),
        ),
        correlation_id: "c".into(),
        created_at: clock::now(),
        idempotency: None,
        workflow: Default::default(),
    }
    .initial_meta()
}

fn apply_in(
    meta: &ProjectMeta,
    run: u32,
    t: Transition,
) -> Result<(ProjectMeta, Option<Event>), TransitionError> {
    let commit = StepCommit {
        project_id: meta.project_id.clone(),
        // Each run's commits their own key, as each retry of a project derives its own.
        dedupe: DedupeKey::for_transition(&format!("exec-{run}"), "S", &t),
        correlation_id: "c".into(),
        run,
        transition: t,
        at: clock::now(),
    };
    match apply(meta, &commit)? {
        Applied::Change { meta, event } => Ok((*meta, event)),
        Applied::AlreadyDone => Ok((meta.clone(), None)),
    }
}

fn ok(meta: &ProjectMeta, t: Transition) -> (ProjectMeta, Option<Event>) {
    apply_in(meta, meta.run, t).unwrap()
}

fn started(step: StepName, attempt: u32) -> Transition {
    Transition::StepStarted { step, attempt }
}

fn succeeded(step: StepName) -> Transition {
    Transition::StepSucceeded {
        step,
        attempt: 1,
        duration_ms: 5,
        artifact_type: format!("{step}_artifact"),
    }
}

fn failed_at(step: StepName, attempts: u32) -> Transition {
    Transition::StepFailed {
        step,
        attempt: attempts,
        error: ErrorInfo::new("ZeroToShip.Transient", "upstream down"),
        retryable: true,
    }
}

/// A project whose validator succeeded and whose advisory failed three times: FAILED.
fn failed_at_advisory() -> ProjectMeta {
    let m = fresh();
    let (m, _) = ok(&m, started(StepName::Validator, 1));
    let (m, _) = ok(&m, succeeded(StepName::Validator));
    let (mut m, _) = ok(&m, started(StepName::Advisory, 1));
    for attempt in 1..=3 {
        m = ok(&m, started(StepName::Advisory, attempt)).0;
        m = ok(&m, failed_at(StepName::Advisory, attempt)).0;
    }
    let (m, _) = ok(
        &m,
        Transition::Failed {
            error: ErrorInfo::new("ZeroToShip.Transient", "upstream down"),
        },
    );
    assert_eq!(m.state, State::Failed);
    m
}

#[test]
fn a_retry_keeps_the_succeeded_step_and_starts_at_the_failed_one() {
    let failed = failed_at_advisory();
    let (m, event) = apply_in(&failed, failed.run + 1, Transition::Retried).unwrap();
    assert_eq!(m.state, State::Created);
    assert_eq!((m.run, m.requested_run), (2, 2));
    assert_eq!(m.error, None);
    assert_eq!(m.progress, 50, "the validator's work is kept");
    assert!(m.step_succeeded(StepName::Validator));
    assert!(!m.runs.contains_key(&StepName::Advisory));
    // The run as it ended is kept, its errors cut to the last.
    assert_eq!(m.history.len(), 1);
    let record = &m.history[0];
    assert_eq!((record.run, record.state), (1, State::Failed));
    assert_eq!(record.error.as_ref().unwrap().code, "ZeroToShip.Transient");
    let advisory = &record.steps[&StepName::Advisory];
    assert_eq!(
        (advisory.status, advisory.attempts),
        (StepStatus::Failed, 3)
    );
    assert_eq!(advisory.errors.len(), 1);
    assert_eq!(advisory.errors[0].attempt, 3);
    // The event continues the seq.
    let event = event.unwrap();
    assert_eq!(event.seq, failed.last_seq + 1);
    assert!(matches!(
        event.body,
        EventBody::StatusUpdate {
            state: State::Created,
            progress: 50,
            current_step: None,
            error: None,
            workflow: Some(_),
        }
    ));

    // Run 2: the validator is already done; the advisory starts from CREATED.
    let (m2, none) = apply_in(&m, 2, started(StepName::Validator, 1)).unwrap();
    assert_eq!((none, &m2), (None, &m), "a succeeded step is not run again");
    let (m, e) = apply_in(&m, 2, started(StepName::Advisory, 1)).unwrap();
    assert_eq!(m.state, State::Advisory);
    assert_eq!(e.unwrap().seq, failed.last_seq + 2);
    let (m, _) = apply_in(&m, 2, succeeded(StepName::Advisory)).unwrap();
    let (m, _) = apply_in(&m, 2, Transition::Completed).unwrap();
    assert_eq!(m.state, State::Completed);
    assert_eq!(m.attempts(), 1, "the last step's attempts, not a sum");
    // A commit from the failed run is refused.
    assert_eq!(
        apply_in(&m, 1, started(StepName::Advisory, 4)).unwrap_err(),
        TransitionError::NotCurrentRun { run: 1, current: 2 }
    );
}

#[test]
fn only_a_failed_project_is_retried_and_only_as_the_next_run() {
    let m = fresh();
    assert_eq!(
        apply_in(&m, 2, Transition::Retried).unwrap_err(),
        TransitionError::NotRetryable {
            state: State::Created
        }
    );
    let failed = failed_at_advisory();
    assert_eq!(
        apply_in(&failed, 3, Transition::Retried).unwrap_err(),
        TransitionError::NotCurrentRun { run: 3, current: 1 }
    );
    let (cancelled, _) = ok(&fresh(), Transition::Cancelled);
    assert_eq!(
        apply_in(&cancelled, 2, Transition::Retried).unwrap_err(),
        TransitionError::NotRetryable {
            state: State::Cancelled
        }
    );
}

#[test]
fn retries_are_bounded_so_meta_stays_small() {
    let mut m = failed_at_advisory();
    for _ in 0..ProjectMeta::RETRIES_MAX {
        m = apply_in(&m, m.run + 1, Transition::Retried).unwrap().0;
        m = ok(
            &m,
            Transition::Failed {
                error: ErrorInfo::new("ZeroToShip.Internal", "x".repeat(2_000)),
            },
        )
        .0;
    }
    assert_eq!(
        apply_in(&m, m.run + 1, Transition::Retried).unwrap_err(),
        TransitionError::RetriesExhausted {
            max: ProjectMeta::RETRIES_MAX
        }
    );
    let size = serde_json::to_vec(&m).unwrap().len();
    assert!(size < 32 * 1024, "META grew to {size} bytes");
}

#[test]
fn the_reconciler_counts_its_claims_from_the_retry() {
    let failed = failed_at_advisory();
    let (m, _) = apply_in(&failed, 2, Transition::Retried).unwrap();
    assert_eq!(m.runs_since_request(), 1);
    let (m, _) = apply_in(&m, 3, Transition::RunClaimed).unwrap();
    assert_eq!(m.runs_since_request(), 2);
    assert!(
        apply_in(&m, 3, Transition::RunClaimed).is_err(),
        "a claim is of the next run only"
    );
}

#[test]
fn a_cancel_ends_the_run_and_refuses_its_late_commits() {
    let m = fresh();
    let (m, _) = ok(&m, started(StepName::Validator, 1));
    let (m, event) = ok(&m, Transition::Cancelled);
    assert_eq!(m.state, State::Cancelled);
    assert!(m.state.is_terminal());
    assert_eq!(m.current_step, None);
    let event = event.unwrap();
    assert_eq!(event.seq, 3);
    assert!(matches!(
        event.body,
        EventBody::StatusUpdate {
            state: State::Cancelled,
            progress: 10,
            ..
        }
    ));
    // Cancelling again changes nothing; the late success, failure and finalize are refused,
    // and the step reads the refusal as its run having ended (quietly, like a superseded run).
    assert_eq!(ok(&m, Transition::Cancelled), (m.clone(), None));
    for late in [
        succeeded(StepName::Validator),
        failed_at(StepName::Validator, 1),
        started(StepName::Advisory, 1),
        Transition::Completed,
        Transition::Failed {
            error: ErrorInfo::new("ZeroToShip.Internal", "x"),
        },
    ] {
        let refused = apply_in(&m, m.run, late.clone()).unwrap_err();
        assert_eq!(
            refused,
            TransitionError::Terminal {
                state: State::Cancelled
            },
            "{late:?}"
        );
        assert_eq!(
            StepFailure::from(zts_domain::ports::StoreError::Transition(refused)).kind,
            FailureKind::Superseded
        );
    }
}

#[test]
fn a_finished_project_cannot_be_cancelled() {
    let failed = failed_at_advisory();
    assert_eq!(
        apply_in(&failed, failed.run, Transition::Cancelled).unwrap_err(),
        TransitionError::Terminal {
            state: State::Failed
        }
    );
}

#[test]
fn status_attempts_are_the_current_or_last_steps() {
    let m = fresh();
    assert_eq!(m.attempts(), 0);
    let (m, _) = ok(&m, started(StepName::Validator, 1));
    let (m, _) = ok(&m, failed_at(StepName::Validator, 1));
    let (m, _) = ok(&m, started(StepName::Validator, 2));
    assert_eq!(m.attempts(), 2);
    let (m, _) = ok(&m, succeeded(StepName::Validator));
    let (m, _) = ok(&m, started(StepName::Advisory, 1));
    assert_eq!(m.attempts(), 1, "the advisory is running: its attempts");
    let (m, _) = ok(&m, succeeded(StepName::Advisory));
    let (m, _) = ok(&m, Transition::Completed);
    assert_eq!(
        m.attempts(),
        1,
        "a clean finish shows the last step's 1, not 3"
    );
    assert_eq!(m.runs[&StepName::Validator].attempts, 2);
}
