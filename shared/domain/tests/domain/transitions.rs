//! The project state machine (`transition::apply`): retries, failures, late reports.

use zts_domain::clock;
use zts_domain::events::{EVENT_MAX_BYTES, EventBody};
use zts_domain::pii::PiiPolicy;
use zts_domain::ports::NewProject;
use zts_domain::project::{ErrorInfo, ProjectMeta, State, StepName, StepStatus, StoredInput};
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

/// Applies `t`, returning the new META and the event it minted.
fn step(
    meta: &ProjectMeta,
    t: Transition,
) -> Result<(ProjectMeta, Option<Event>), TransitionError> {
    step_in_run(meta, meta.run, t)
}

/// Applies `t` as a commit of run `run`.
fn step_in_run(
    meta: &ProjectMeta,
    run: u32,
    t: Transition,
) -> Result<(ProjectMeta, Option<Event>), TransitionError> {
    let commit = StepCommit {
        project_id: meta.project_id.clone(),
        dedupe: DedupeKey::for_transition("exec", "S", &t),
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

fn transient(attempt: u32) -> Transition {
    Transition::StepFailed {
        step: StepName::Validator,
        attempt,
        error: ErrorInfo::new("ZeroToShip.Transient", "upstream timed out"),
        retryable: true,
    }
}

#[test]
fn a_retried_step_reports_the_failure_but_not_the_status_again() {
    let m = fresh();
    let (m, e1) = step(
        &m,
        Transition::StepStarted {
            step: StepName::Validator,
            attempt: 1,
        },
    )
    .unwrap();
    let (m, e2) = step(&m, transient(1)).unwrap();
    let (m, e3) = step(
        &m,
        Transition::StepStarted {
            step: StepName::Validator,
            attempt: 2,
        },
    )
    .unwrap();
    let (m, e4) = step(
        &m,
        Transition::StepSucceeded {
            step: StepName::Validator,
            attempt: 2,
            duration_ms: 800,
            artifact_type: "validation_report".into(),
        },
    )
    .unwrap();
    assert!(matches!(
        e1.unwrap().body,
        EventBody::StatusUpdate {
            state: State::IdeaValidation,
            ..
        }
    ));
    let failed = e2.unwrap();
    assert_eq!(failed.seq, 3);
    assert!(matches!(
        failed.body,
        EventBody::StepFailed {
            agent: StepName::Validator,
            attempt: 1,
            retryable: true,
            ..
        }
    ));
    assert_eq!(e3, None, "the retry repeated the status");
    let done = e4.unwrap();
    assert_eq!(done.seq, 4);
    assert!(matches!(
        done.body,
        EventBody::StepComplete {
            attempt: 2,
            progress: 50,
            ..
        }
    ));
    let run = &m.runs[&StepName::Validator];
    assert_eq!(run.attempts, 2);
    assert_eq!(run.status, StepStatus::Succeeded);
    assert_eq!(run.errors.len(), 1);
    assert_eq!(run.duration_ms, Some(800));
    assert_eq!(m.attempts(), 2);
}

#[test]
fn a_permanent_failure_ends_failed_with_the_reason() {
    let m = fresh();
    let (m, _) = step(
        &m,
        Transition::StepStarted {
            step: StepName::Validator,
            attempt: 1,
        },
    )
    .unwrap();
    let reason = ErrorInfo::new("ZeroToShip.Invalid", "the input cannot be analysed");
    let (m, e) = step(
        &m,
        Transition::StepFailed {
            step: StepName::Validator,
            attempt: 1,
            error: reason.clone(),
            retryable: false,
        },
    )
    .unwrap();
    assert!(matches!(
        e.unwrap().body,
        EventBody::StepFailed {
            retryable: false,
            ..
        }
    ));
    let (m, e) = step(
        &m,
        Transition::Failed {
            error: reason.clone(),
        },
    )
    .unwrap();
    let e = e.unwrap();
    assert_eq!(e.seq, 4);
    match e.body {
        EventBody::StatusUpdate {
            state,
            progress,
            error,
            ..
        } => {
            assert_eq!(state, State::Failed);
            assert_eq!(progress, 10, "progress stays where the run stopped");
            assert_eq!(error, Some(reason.clone()));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(m.state, State::Failed);
    assert_eq!(m.error, Some(reason));
    // Recording the failure again is a no-op, not an error.
    let again = step(
        &m,
        Transition::Failed {
            error: ErrorInfo::new("x", "y"),
        },
    )
    .unwrap();
    assert_eq!(again, (m.clone(), None));
}

#[test]
fn late_reports_after_success_change_nothing() {
    let m = fresh();
    let (m, _) = step(
        &m,
        Transition::StepStarted {
            step: StepName::Validator,
            attempt: 1,
        },
    )
    .unwrap();
    let (m, _) = step(
        &m,
        Transition::StepSucceeded {
            step: StepName::Validator,
            attempt: 1,
            duration_ms: 5,
            artifact_type: "r".into(),
        },
    )
    .unwrap();
    for late in [
        Transition::StepStarted {
            step: StepName::Validator,
            attempt: 2,
        },
        transient(2),
        Transition::StepSucceeded {
            step: StepName::Validator,
            attempt: 3,
            duration_ms: 5,
            artifact_type: "r".into(),
        },
    ] {
        let (after, event) = step(&m, late.clone()).unwrap();
        assert_eq!(after, m, "{late:?} changed META");
        assert_eq!(event, None);
    }
}

#[test]
fn steps_cannot_skip_ahead_or_run_out_of_order() {
    let m = fresh();
    let err = step(
        &m,
        Transition::StepStarted {
            step: StepName::Advisory,
            attempt: 1,
        },
    )
    .unwrap_err();
    assert!(matches!(
        err,
        TransitionError::WrongState {
            state: State::Created,
            ..
        }
    ));
    let (m, _) = step(
        &m,
        Transition::StepStarted {
            step: StepName::Validator,
            attempt: 1,
        },
    )
    .unwrap();
    // Advisory may not start while the validator has not succeeded.
    assert!(
        step(
            &m,
            Transition::StepStarted {
                step: StepName::Advisory,
                attempt: 1
            }
        )
        .is_err()
    );
    assert!(step(&m, Transition::Completed).is_err());
    assert!(err.to_string().contains("CREATED"), "{err}");
}

#[test]
fn events_stay_under_four_kilobytes_even_with_long_errors() {
    let m = fresh();
    let (m, _) = step(
        &m,
        Transition::StepStarted {
            step: StepName::Validator,
            attempt: 1,
        },
    )
    .unwrap();
    let huge = "€".repeat(10_000);
    let (_, e) = step(
        &m,
        Transition::StepFailed {
            step: StepName::Validator,
            attempt: 1,
            error: ErrorInfo::new("ZeroToShip.Transient", huge),
            retryable: true,
        },
    )
    .unwrap();
    let json = e.unwrap().to_json();
    assert!(json.len() < EVENT_MAX_BYTES, "{} bytes", json.len());
}

#[test]
fn dedupe_keys_separate_every_part() {
    let base = DedupeKey::new("exec", "Validate", 1, "step_failed");
    assert_eq!(base, DedupeKey::new("exec", "Validate", 1, "step_failed"));
    for other in [
        DedupeKey::new("exec2", "Validate", 1, "step_failed"),
        DedupeKey::new("exec", "Advise", 1, "step_failed"),
        DedupeKey::new("exec", "Validate", 2, "step_failed"),
        DedupeKey::new("exec", "Validate", 1, "step_started"),
        DedupeKey::new("exe", "cValidate", 1, "step_failed"),
    ] {
        assert_ne!(base, other);
    }
}

const VALIDATE: Transition = Transition::StepStarted {
    step: StepName::Validator,
    attempt: 1,
};

#[test]
fn a_project_starts_with_run_one_claimed_at_its_creation() {
    let m = fresh();
    assert_eq!(m.run, 1);
    assert_eq!(m.run_claimed_at(), m.created_at);
}

#[test]
fn the_next_run_is_claimed_only_while_created_and_only_as_the_next_number() {
    let m = fresh();
    // Skipping a number, or claiming the current run again, is refused.
    assert_eq!(
        step_in_run(&m, 3, Transition::RunClaimed).unwrap_err(),
        TransitionError::NotCurrentRun { run: 3, current: 1 }
    );
    assert!(step_in_run(&m, 1, Transition::RunClaimed).is_err());
    let (claimed, event) = step_in_run(&m, 2, Transition::RunClaimed).unwrap();
    assert_eq!(claimed.run, 2);
    assert_eq!(claimed.state, State::Created);
    assert_eq!(claimed.version, m.version + 1);
    assert!(event.is_none(), "a claim is not an event clients see");
    assert_eq!(claimed.last_seq, m.last_seq);
    // A run that made progress is never taken over.
    let (running, _) = step(&claimed, VALIDATE).unwrap();
    assert!(matches!(
        step_in_run(&running, 3, Transition::RunClaimed),
        Err(TransitionError::WrongState { .. })
    ));
}

#[test]
fn a_superseded_run_changes_nothing() {
    let m = fresh();
    let (claimed, _) = step_in_run(&m, 2, Transition::RunClaimed).unwrap();
    for t in [
        VALIDATE,
        Transition::Completed,
        Transition::Failed {
            error: ErrorInfo::new("ZeroToShip.Internal", "boom"),
        },
    ] {
        assert_eq!(
            step_in_run(&claimed, 1, t).unwrap_err(),
            TransitionError::NotCurrentRun { run: 1, current: 2 }
        );
    }
    // The current run goes on as usual, its events numbered after the create's.
    let (running, event) = step_in_run(&claimed, 2, VALIDATE).unwrap();
    assert_eq!(running.state, State::IdeaValidation);
    assert_eq!(event.unwrap().seq, 2);
}

fn on_workflow(name: &str) -> ProjectMeta {
    let mut m = fresh();
    m.workflow = zts_domain::workflows::Workflow::named(name)
        .unwrap()
        .reference();
    m
}

fn validated(m: &ProjectMeta) -> ProjectMeta {
    let (m, _) = step(
        m,
        Transition::StepStarted {
            step: StepName::Validator,
            attempt: 1,
        },
    )
    .unwrap();
    let (m, _) = step(
        &m,
        Transition::StepSucceeded {
            step: StepName::Validator,
            attempt: 1,
            duration_ms: 3,
            artifact_type: "validation_report".into(),
        },
    )
    .unwrap();
    m
}

#[test]
fn each_workflow_runs_only_its_steps_and_ends_only_where_it_may() {
    let advise = Transition::StepStarted {
        step: StepName::Advisory,
        attempt: 1,
    };
    // idea-to-advice: the verdict alone is not the end.
    let full = validated(&on_workflow("idea-to-advice"));
    assert!(matches!(
        step(&full, Transition::Completed),
        Err(TransitionError::WrongState { .. })
    ));
    assert!(step(&full, advise.clone()).is_ok());
    // quick-check: the advisory is not its step; it ends after the verdict.
    let quick = validated(&on_workflow("quick-check"));
    assert!(matches!(
        step(&quick, advise.clone()),
        Err(TransitionError::WrongState { .. })
    ));
    let (done, event) = step(&quick, Transition::Completed).unwrap();
    assert_eq!((done.state, done.progress), (State::Completed, 100));
    assert!(event.is_some());
    // triage: either, as its Choice decides.
    let triage = validated(&on_workflow("triage"));
    assert_eq!(
        step(&triage, Transition::Completed).unwrap().0.state,
        State::Completed
    );
    let (advising, _) = step(&triage, advise).unwrap();
    assert!(matches!(
        step(&advising, Transition::Completed),
        Err(TransitionError::WrongState { .. })
    ));
    // A workflow no longer listed runs nothing.
    let mut gone = fresh();
    gone.workflow.name = "retired".into();
    assert!(
        step(
            &gone,
            Transition::StepStarted {
                step: StepName::Validator,
                attempt: 1
            }
        )
        .is_err()
    );
}

#[test]
fn the_created_event_names_the_workflow_and_version() {
    let m = on_workflow("quick-check");
    let new = NewProject {
        project_id: m.project_id.clone(),
        owner: m.owner.clone(),
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
        workflow: m.workflow.clone(),
    };
    assert_eq!(new.initial_meta().workflow.name, "quick-check");
    let json = new.initial_event().to_json();
    let event: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(event["workflow"]["name"], "quick-check");
    assert_eq!(event["workflow"]["version"], 1);
    // Later status updates leave it out.
    let (_, started) = step(
        &m,
        Transition::StepStarted {
            step: StepName::Validator,
            attempt: 1,
        },
    )
    .unwrap();
    let later: serde_json::Value = serde_json::from_str(&started.unwrap().to_json()).unwrap();
    assert!(later.get("workflow").is_none(), "{later}");
}

/// What `apply` answers for `t` on `meta`: `None` for `AlreadyDone`.
fn applied(meta: &ProjectMeta, run: u32, t: Transition, key: &str) -> Option<Applied> {
    let commit = StepCommit {
        project_id: meta.project_id.clone(),
        dedupe: DedupeKey::new(key, "S", 0, t.kind()),
        correlation_id: "c".into(),
        run,
        transition: t,
        at: clock::now(),
    };
    match apply(meta, &commit).unwrap() {
        Applied::AlreadyDone => None,
        change => Some(change),
    }
}

fn validator_started(attempt: u32) -> Transition {
    Transition::StepStarted {
        step: StepName::Validator,
        attempt,
    }
}

#[test]
fn a_repeated_commit_is_recognised_from_meta_alone() {
    // No record of a commit is kept beside META (issue #35): every repeat a redelivery or
    // a lost response can cause must be recognised from META itself.
    let m = fresh();
    let (m, _) = step(&m, validator_started(1)).unwrap();
    assert!(applied(&m, 1, validator_started(1), "again").is_none());
    let (m, failed) = step(&m, transient(1)).unwrap();
    assert!(failed.is_some());
    // The failure of attempt 1 again, and its start again: nothing new.
    assert!(applied(&m, 1, transient(1), "again").is_none());
    assert!(applied(&m, 1, validator_started(1), "again").is_none());
    // Attempt 2 is new: its start and its failure are written, once.
    let (m, restarted) = step(&m, validator_started(2)).unwrap();
    assert!(restarted.is_none(), "a retry's start is not a new status");
    assert_eq!(m.runs[&StepName::Validator].attempts, 2);
    assert!(applied(&m, 1, validator_started(2), "again").is_none());
    let (m, failed) = step(&m, transient(2)).unwrap();
    assert!(failed.is_some());
    assert!(applied(&m, 1, transient(2), "again").is_none());
    assert_eq!(m.runs[&StepName::Validator].errors.len(), 2);
    // A permanent failure, then its repeat.
    let (m, _) = step(
        &m,
        Transition::Failed {
            error: ErrorInfo::new("ZeroToShip.Internal", "gave up"),
        },
    )
    .unwrap();
    let again = Transition::Failed {
        error: ErrorInfo::new("ZeroToShip.Internal", "gave up"),
    };
    assert!(applied(&m, 1, again, "again").is_none());
    // A retry is recognised by its key: the same key replays, another one is refused
    // because the project is no longer FAILED.
    let retried = applied(&m, 2, Transition::Retried, "owner-key").unwrap();
    let Applied::Change { meta: r, .. } = retried else {
        unreachable!()
    };
    assert_eq!(r.run, 2);
    assert!(applied(&r, 2, Transition::Retried, "owner-key").is_none());
    let commit = StepCommit {
        project_id: r.project_id.clone(),
        dedupe: DedupeKey::new("other-key", "S", 0, "retried"),
        correlation_id: "c".into(),
        run: 3,
        transition: Transition::Retried,
        at: clock::now(),
    };
    assert_eq!(
        apply(&r, &commit).unwrap_err(),
        TransitionError::NotRetryable {
            state: State::Created
        }
    );
}

#[test]
fn a_failure_is_recognised_whatever_order_the_attempts_arrive_in() {
    let mut m = fresh();
    m = step(&m, validator_started(1)).unwrap().0;
    // Seven failures out of order: more than the errors kept, every one recorded once.
    for attempt in [5, 1, 7, 2, 6, 3, 4] {
        let (next, event) = step(&m, transient(attempt)).unwrap();
        assert!(event.is_some(), "attempt {attempt}");
        m = next;
    }
    let run = &m.runs[&StepName::Validator];
    assert_eq!(run.errors.len(), 5);
    assert_eq!(run.failed_attempts, [1, 2, 3, 4, 5, 6, 7]);
    for attempt in 1..=7 {
        assert!(
            applied(&m, 1, transient(attempt), "again").is_none(),
            "{attempt}"
        );
    }
}
