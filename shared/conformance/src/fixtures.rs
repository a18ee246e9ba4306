//! Builders the conformance cases share.

use zts_domain::clock::{self, Timestamp};
use zts_domain::idempotency::IdempotencyClaim;
use zts_domain::ids::{Owner, ProjectId};
use zts_domain::input::ProjectInput;
use zts_domain::pii::PiiPolicy;
use zts_domain::ports::NewProject;
use zts_domain::project::{ErrorInfo, StepName, StoredInput};
use zts_domain::transition::{DedupeKey, StepCommit, Transition};

pub fn owner(name: &str) -> Owner {
    Owner::parse(name).expect("a valid owner name")
}

pub fn input(name: &str) -> ProjectInput {
    ProjectInput {
        name: name.to_string(),
        description: format!("{name}: a marketplace that matches busy parents with tutors"),
        hypothesis: "Parents of 8-12 year olds will pay $30/hour; 5% of visitors sign up".into(),
        target_avatars: vec!["busy parent".into(), "student tutor".into()],
    }
}

pub fn new_project(owner_name: &str, name: &str, created_at: Timestamp) -> NewProject {
    NewProject {
        project_id: ProjectId::generate(),
        owner: owner(owner_name),
        input: StoredInput::redact(&input(name), PiiPolicy::default_regions()),
        correlation_id: format!("corr-{name}"),
        created_at,
        idempotency: None,
        workflow: Default::default(),
    }
}

pub fn with_key(mut new: NewProject, key: &str) -> NewProject {
    let claim = IdempotencyClaim::new(key, new.input.input(), new.created_at)
        .expect("a valid idempotency key");
    new.idempotency = Some(claim);
    new
}

/// The workflow state a transition belongs to, as the state machine names it.
fn workflow_state(t: &Transition) -> &'static str {
    match t {
        Transition::StepStarted { step, .. }
        | Transition::StepSucceeded { step, .. }
        | Transition::StepFailed { step, .. } => match step {
            StepName::Validator => "Validate",
            StepName::Advisory => "Advise",
        },
        Transition::Completed => "Complete",
        Transition::Failed { .. } => "RecordFailure",
        Transition::RunClaimed => "Reconcile",
        Transition::Retried => "Retry",
        Transition::Cancelled => "Cancel",
        Transition::Deleted => "Delete",
    }
}

pub fn commit(project: &ProjectId, transition: Transition) -> StepCommit {
    StepCommit {
        project_id: project.clone(),
        dedupe: DedupeKey::for_transition(
            &format!("exec-{project}"),
            workflow_state(&transition),
            &transition,
        ),
        correlation_id: "corr-commit".into(),
        run: 1,
        transition,
        at: clock::now(),
    }
}

/// A commit of `transition` by run `run` (its own execution, so its own dedupe keys).
pub fn commit_in_run(project: &ProjectId, run: u32, transition: Transition) -> StepCommit {
    let mut c = commit(project, transition);
    c.run = run;
    c.dedupe = DedupeKey::for_transition(
        &format!("exec-{project}-{run}"),
        workflow_state(&c.transition),
        &c.transition,
    );
    c
}

pub fn started(step: StepName, attempt: u32) -> Transition {
    Transition::StepStarted { step, attempt }
}

pub fn succeeded(step: StepName, attempt: u32) -> Transition {
    Transition::StepSucceeded {
        step,
        attempt,
        duration_ms: 1_250,
        artifact_type: format!("{step}_report"),
    }
}

pub fn failed_attempt(step: StepName, attempt: u32, retryable: bool) -> Transition {
    Transition::StepFailed {
        step,
        attempt,
        error: ErrorInfo::new(
            "ZeroToShip.Transient",
            format!("attempt {attempt} timed out"),
        ),
        retryable,
    }
}
