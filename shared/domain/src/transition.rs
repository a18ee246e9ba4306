//! The project's state machine as a pure function.
//!
//! A step handler never edits META directly: it asks for a [`Transition`], and every store
//! adapter applies it with [`apply`] inside its own atomic, conditional write. The rules
//! (which state may follow which, what event each change emits, how the run history
//! grows) therefore live here once, and the adapters only guarantee atomicity, ordering
//! and idempotency.

use crate::clock::Timestamp;
use crate::events::{Event, EventBody};
use crate::ids::ProjectId;
use crate::project::{
    AttemptError, ErrorInfo, ProjectMeta, RunRecord, State, StepName, StepRun, StepStatus,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Transition {
    StepStarted {
        step: StepName,
        attempt: u32,
    },
    StepSucceeded {
        step: StepName,
        attempt: u32,
        duration_ms: u64,
        artifact_type: String,
    },
    StepFailed {
        step: StepName,
        attempt: u32,
        error: ErrorInfo,
        retryable: bool,
    },
    Completed,
    Failed {
        error: ErrorInfo,
    },
    /// The reconciler claims the next run of a project whose current run never made
    /// progress; the commit's `run` is the new number. No event: clients see the new
    /// run's progress, not the claim.
    RunClaimed,
    /// The owner retries a FAILED project: the commit's `run` is the new number. The run as
    /// it ended goes to the history, succeeded steps carry over, and the project is CREATED
    /// again, so the new run starts at the step that failed (ARCHITECTURE.md §7).
    Retried,
    /// The owner stops a project that has not ended: CANCELLED, terminal. A step of the
    /// cancelled run that commits afterwards is refused like a superseded run's.
    Cancelled,
    /// The owner deletes an ended project: META becomes a tombstone holding no text of
    /// the idea, and `project_deleted` is its last event (ARCHITECTURE.md §7).
    Deleted,
}

impl Transition {
    pub fn kind(&self) -> &'static str {
        match self {
            Transition::StepStarted { .. } => "step_started",
            Transition::StepSucceeded { .. } => "step_succeeded",
            Transition::StepFailed { .. } => "step_failed",
            Transition::Completed => "completed",
            Transition::Failed { .. } => "failed",
            Transition::RunClaimed => "run_claimed",
            Transition::Retried => "retried",
            Transition::Cancelled => "cancelled",
            Transition::Deleted => "deleted",
        }
    }
}

/// Names one logical write: the same execution, workflow state, attempt and kind always
/// give the same key, so a redelivered invocation can never mint a second seq.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DedupeKey(String);

impl DedupeKey {
    pub fn new(execution_id: &str, workflow_state: &str, attempt: u32, kind: &str) -> Self {
        let mut hasher = Sha256::new();
        for part in [execution_id, workflow_state, &attempt.to_string(), kind] {
            // Length-prefixed so ("ab","c") and ("a","bc") never collide.
            hasher.update((part.len() as u64).to_be_bytes());
            hasher.update(part.as_bytes());
        }
        DedupeKey(hex::encode(hasher.finalize()))
    }

    /// The key of a commit: derived from what it does, so callers cannot get it wrong.
    pub fn for_transition(execution_id: &str, workflow_state: &str, t: &Transition) -> Self {
        let attempt = match t {
            Transition::StepStarted { attempt, .. }
            | Transition::StepSucceeded { attempt, .. }
            | Transition::StepFailed { attempt, .. } => *attempt,
            Transition::Completed
            | Transition::Failed { .. }
            | Transition::RunClaimed
            | Transition::Retried
            | Transition::Cancelled
            | Transition::Deleted => 0,
        };
        DedupeKey::new(execution_id, workflow_state, attempt, t.kind())
    }

    pub fn from_stored(raw: String) -> Self {
        DedupeKey(raw)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A request to change a project: one atomic, idempotent write in every store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepCommit {
    pub project_id: ProjectId,
    pub dedupe: DedupeKey,
    pub correlation_id: String,
    /// The run this commit belongs to: it must be META's current run (for
    /// [`Transition::RunClaimed`], the next one).
    pub run: u32,
    pub transition: Transition,
    pub at: Timestamp,
}

impl StepCommit {
    /// A [`Transition::StepSucceeded`] naming the artifact type actually stored (the first
    /// artifact wins, so a retried step reports the one a client may already have read).
    /// Any other transition is returned as it is. The dedupe key does not depend on it.
    pub fn naming_artifact(mut self, stored_type: String) -> Self {
        if let Transition::StepSucceeded { artifact_type, .. } = &mut self.transition {
            *artifact_type = stored_type;
        }
        self
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("the project is already {state}; it accepts no further changes")]
    Terminal { state: State },
    #[error("cannot apply {transition} to {step} while the project is {state}")]
    WrongState {
        transition: &'static str,
        step: String,
        state: State,
    },
    #[error("run {run} is not the project's current run ({current}): it was superseded")]
    NotCurrentRun { run: u32, current: u32 },
    #[error("only a FAILED project can be retried; this one is {state}")]
    NotRetryable { state: State },
    #[error("this project has been retried {max} times, the most it may be; create a new project")]
    RetriesExhausted { max: usize },
}

/// What applying a transition yields.
#[derive(Debug, Clone, PartialEq)]
pub enum Applied {
    /// Write this META (version bumped) and, if any, this event (seq = new `last_seq`).
    Change {
        meta: Box<ProjectMeta>,
        event: Option<Event>,
    },
    /// META already shows this transition's effect (e.g. a step re-run after it
    /// succeeded): nothing to write, and the caller treats the step as done.
    AlreadyDone,
}

/// Applies `commit` to `meta`. Pure: the same inputs always give the same result.
pub fn apply(meta: &ProjectMeta, commit: &StepCommit) -> Result<Applied, TransitionError> {
    match &commit.transition {
        Transition::RunClaimed => return claim_run(meta, commit),
        Transition::Retried => return retry(meta, commit),
        Transition::Deleted => return delete(meta, commit),
        // A run that is no longer current changes nothing (ARCHITECTURE.md §7).
        _ if commit.run != meta.run => {
            return Err(TransitionError::NotCurrentRun {
                run: commit.run,
                current: meta.run,
            });
        }
        _ => {}
    }
    let mut next = meta.clone();
    let at = commit.at;
    let effect = match &commit.transition {
        Transition::Cancelled => cancel(meta, &mut next)?,
        Transition::StepStarted { step, attempt } => {
            step_started(meta, &mut next, *step, *attempt, at)?
        }
        Transition::StepSucceeded {
            step,
            attempt,
            duration_ms,
            artifact_type,
        } => step_succeeded(
            meta,
            &mut next,
            *step,
            *attempt,
            *duration_ms,
            artifact_type,
            at,
        )?,
        Transition::StepFailed {
            step,
            attempt,
            error,
            retryable,
        } => step_failed(meta, &mut next, *step, *attempt, error, *retryable, at)?,
        Transition::Completed => complete(meta, &mut next)?,
        Transition::Failed { error } => fail(meta, &mut next, error)?,
        // Applied above, on their own terms.
        Transition::RunClaimed | Transition::Retried | Transition::Deleted => Effect::Repeat,
    };
    match effect {
        Effect::Repeat => Ok(Applied::AlreadyDone),
        Effect::Change(body) => Ok(publish(meta, next, body, commit)),
    }
}

/// What a transition within the current run does to META's copy.
enum Effect {
    /// META shows it already: a repeat.
    Repeat,
    /// The copy was changed; the event to publish, if any.
    Change(Option<EventBody>),
}

/// The changed META (version bumped) and its event, numbered after META's last.
fn publish(
    meta: &ProjectMeta,
    mut next: ProjectMeta,
    body: Option<EventBody>,
    commit: &StepCommit,
) -> Applied {
    next.version += 1;
    next.updated_at = commit.at;
    let event = body.map(|body| {
        next.last_seq += 1;
        Event {
            body,
            project_id: meta.project_id.clone(),
            seq: next.last_seq,
            ts: commit.at,
            correlation_id: commit.correlation_id.clone(),
        }
    });
    Applied::Change {
        meta: Box::new(next),
        event,
    }
}

fn wrong_state(meta: &ProjectMeta, transition: &'static str, step: &str) -> TransitionError {
    TransitionError::WrongState {
        transition,
        step: step.to_string(),
        state: meta.state,
    }
}

fn status(state: State, next: &ProjectMeta, error: Option<ErrorInfo>) -> Option<EventBody> {
    Some(EventBody::StatusUpdate {
        state,
        progress: next.progress,
        current_step: next.current_step,
        error,
        workflow: None,
    })
}

fn cancel(meta: &ProjectMeta, next: &mut ProjectMeta) -> Result<Effect, TransitionError> {
    match meta.state {
        State::Cancelled => return Ok(Effect::Repeat),
        s if s.is_terminal() => return Err(TransitionError::Terminal { state: s }),
        _ => {}
    }
    next.state = State::Cancelled;
    next.current_step = None;
    Ok(Effect::Change(status(State::Cancelled, next, None)))
}

fn step_started(
    meta: &ProjectMeta,
    next: &mut ProjectMeta,
    step: StepName,
    attempt: u32,
    at: Timestamp,
) -> Result<Effect, TransitionError> {
    let wrong = || wrong_state(meta, "step_started", step.as_str());
    if meta.step_succeeded(step) {
        return Ok(Effect::Repeat);
    }
    refuse_terminal(meta)?;
    if meta.state == step.state() {
        let run = next.runs.get_mut(&step).ok_or_else(wrong)?;
        // This attempt (or a later one) has started: a repeat of its start.
        if attempt <= run.attempts {
            return Ok(Effect::Repeat);
        }
        // A retry: the status is not repeated (ARCHITECTURE.md §4), only the history grows.
        run.attempts = attempt;
        run.status = StepStatus::Running;
        return Ok(Effect::Change(None));
    }
    if !may_start(meta, step) {
        return Err(wrong());
    }
    next.state = step.state();
    next.progress = step.progress().0;
    next.current_step = Some(step);
    next.runs.insert(
        step,
        StepRun {
            status: StepStatus::Running,
            attempts: attempt,
            started_at: at,
            finished_at: None,
            duration_ms: None,
            artifact_type: None,
            errors: Vec::new(),
            failed_attempts: Vec::new(),
        },
    );
    Ok(Effect::Change(status(next.state, next, None)))
}

fn step_succeeded(
    meta: &ProjectMeta,
    next: &mut ProjectMeta,
    step: StepName,
    attempt: u32,
    duration_ms: u64,
    artifact_type: &str,
    at: Timestamp,
) -> Result<Effect, TransitionError> {
    if meta.step_succeeded(step) {
        return Ok(Effect::Repeat);
    }
    let run = running(meta, next, step, "step_succeeded")?;
    run.status = StepStatus::Succeeded;
    run.attempts = run.attempts.max(attempt);
    run.finished_at = Some(at);
    run.duration_ms = Some(duration_ms);
    run.artifact_type = Some(artifact_type.to_string());
    next.progress = step.progress().1;
    Ok(Effect::Change(Some(EventBody::StepComplete {
        agent: step,
        attempt,
        duration_s: (duration_ms as f64) / 1000.0,
        artifact_type: artifact_type.to_string(),
        progress: next.progress,
    })))
}

fn step_failed(
    meta: &ProjectMeta,
    next: &mut ProjectMeta,
    step: StepName,
    attempt: u32,
    error: &ErrorInfo,
    retryable: bool,
    at: Timestamp,
) -> Result<Effect, TransitionError> {
    if meta.step_succeeded(step) {
        // A late report from an attempt that lost the race to a successful one.
        return Ok(Effect::Repeat);
    }
    let run = running(meta, next, step, "step_failed")?;
    // This attempt's failure is recorded already: a repeat of its report.
    match run.failed_attempts.binary_search(&attempt) {
        Ok(_) => return Ok(Effect::Repeat),
        Err(i) => run.failed_attempts.insert(i, attempt),
    }
    run.attempts = run.attempts.max(attempt);
    run.status = StepStatus::Failed;
    run.errors.push(AttemptError {
        attempt,
        error: error.clone(),
        retryable,
        at,
    });
    if run.errors.len() > StepRun::ERRORS_KEPT {
        run.errors.remove(0);
    }
    let progress = next.progress;
    Ok(Effect::Change(Some(EventBody::StepFailed {
        agent: step,
        attempt,
        error: error.clone(),
        retryable,
        progress,
    })))
}

/// The run of `step`, which must be the step in progress (a succeeded or failed attempt
/// reports on it).
fn running<'a>(
    meta: &ProjectMeta,
    next: &'a mut ProjectMeta,
    step: StepName,
    transition: &'static str,
) -> Result<&'a mut StepRun, TransitionError> {
    refuse_terminal(meta)?;
    if meta.state != step.state() {
        return Err(wrong_state(meta, transition, step.as_str()));
    }
    next.runs
        .get_mut(&step)
        .ok_or_else(|| wrong_state(meta, transition, step.as_str()))
}

fn complete(meta: &ProjectMeta, next: &mut ProjectMeta) -> Result<Effect, TransitionError> {
    match meta.state {
        State::Completed => return Ok(Effect::Repeat),
        _ if may_complete(meta) => {}
        State::Failed | State::Cancelled | State::Deleted => {
            return Err(TransitionError::Terminal { state: meta.state });
        }
        _ => return Err(wrong_state(meta, "completed", "finalize")),
    }
    next.state = State::Completed;
    next.progress = 100;
    next.current_step = None;
    Ok(Effect::Change(status(State::Completed, next, None)))
}

fn fail(
    meta: &ProjectMeta,
    next: &mut ProjectMeta,
    error: &ErrorInfo,
) -> Result<Effect, TransitionError> {
    match meta.state {
        State::Failed => return Ok(Effect::Repeat),
        State::Completed | State::Cancelled | State::Deleted => {
            return Err(TransitionError::Terminal { state: meta.state });
        }
        _ => {}
    }
    next.state = State::Failed;
    next.error = Some(error.clone());
    Ok(Effect::Change(status(
        State::Failed,
        next,
        Some(error.clone()),
    )))
}

/// The reconciler's claim: only the next run, only of a project that is still CREATED
/// (a run that made progress is never taken over).
fn claim_run(meta: &ProjectMeta, commit: &StepCommit) -> Result<Applied, TransitionError> {
    refuse_terminal(meta)?;
    if commit.run != meta.run.saturating_add(1) {
        return Err(TransitionError::NotCurrentRun {
            run: commit.run,
            current: meta.run,
        });
    }
    if meta.state != State::Created {
        return Err(TransitionError::WrongState {
            transition: commit.transition.kind(),
            step: format!("run {}", commit.run),
            state: meta.state,
        });
    }
    let mut next = meta.clone();
    next.run = commit.run;
    next.run_claimed_at = Some(commit.at);
    next.version += 1;
    next.updated_at = commit.at;
    Ok(Applied::Change {
        meta: Box::new(next),
        event: None,
    })
}

/// The owner's retry: only of a FAILED project, only as the next run, at most
/// [`ProjectMeta::RETRIES_MAX`] times.
fn retry(meta: &ProjectMeta, commit: &StepCommit) -> Result<Applied, TransitionError> {
    if meta.last_retry.as_deref() == Some(commit.dedupe.as_str()) {
        return Ok(Applied::AlreadyDone);
    }
    if meta.state != State::Failed {
        return Err(TransitionError::NotRetryable { state: meta.state });
    }
    if commit.run != meta.run.saturating_add(1) {
        return Err(TransitionError::NotCurrentRun {
            run: commit.run,
            current: meta.run,
        });
    }
    if meta.history.len() >= ProjectMeta::RETRIES_MAX {
        return Err(TransitionError::RetriesExhausted {
            max: ProjectMeta::RETRIES_MAX,
        });
    }
    let mut next = meta.clone();
    let ended = RunRecord {
        run: meta.run,
        state: meta.state,
        error: meta.error.clone(),
        steps: meta
            .runs
            .iter()
            .map(|(step, run)| {
                let mut run = run.clone();
                let keep_from = run.errors.len().saturating_sub(1);
                run.errors.drain(..keep_from);
                // The history is read, never applied to: no repeat to recognise.
                run.failed_attempts.clear();
                (*step, run)
            })
            .collect(),
        ended_at: meta.updated_at,
    };
    next.history.push(ended);
    next.runs
        .retain(|_, run| run.status == StepStatus::Succeeded);
    next.state = State::Created;
    next.current_step = None;
    next.error = None;
    next.progress = next
        .runs
        .keys()
        .map(|step| step.progress().1)
        .max()
        .unwrap_or(0);
    next.run = commit.run;
    next.requested_run = commit.run;
    next.run_claimed_at = Some(commit.at);
    next.last_retry = Some(commit.dedupe.as_str().to_string());
    next.version += 1;
    next.updated_at = commit.at;
    next.last_seq += 1;
    let event = Event {
        body: EventBody::StatusUpdate {
            state: State::Created,
            progress: next.progress,
            current_step: None,
            error: None,
            workflow: Some(meta.workflow.clone()),
        },
        project_id: meta.project_id.clone(),
        seq: next.last_seq,
        ts: commit.at,
        correlation_id: commit.correlation_id.clone(),
    };
    Ok(Applied::Change {
        meta: Box::new(next),
        event: Some(event),
    })
}

/// The tombstone: only of a project whose run has ended (a running one is cancelled
/// first), keeping what the purge and the routes need (id, owner, state, seq, the key
/// hash) and none of the idea's text (name, errors, run history).
fn delete(meta: &ProjectMeta, commit: &StepCommit) -> Result<Applied, TransitionError> {
    match meta.state {
        State::Deleted => return Ok(Applied::AlreadyDone),
        s if !s.is_terminal() => {
            return Err(TransitionError::WrongState {
                transition: commit.transition.kind(),
                step: "delete".into(),
                state: s,
            });
        }
        _ => {}
    }
    let mut next = meta.clone();
    next.state = State::Deleted;
    next.name = String::new();
    next.current_step = None;
    next.error = None;
    next.runs.clear();
    next.history.clear();
    next.version += 1;
    next.updated_at = commit.at;
    next.last_seq += 1;
    let event = Event {
        body: EventBody::ProjectDeleted {},
        project_id: meta.project_id.clone(),
        seq: next.last_seq,
        ts: commit.at,
        correlation_id: commit.correlation_id.clone(),
    };
    Ok(Applied::Change {
        meta: Box::new(next),
        event: Some(event),
    })
}

/// A step may start once the step before it succeeded: in that step's state, or CREATED
/// again after a retry that kept it.
/// Whether `step` may start now: the project's workflow runs it, and the step before it
/// in that workflow has succeeded (the first starts a CREATED project).
fn may_start(meta: &ProjectMeta, step: StepName) -> bool {
    let Some(workflow) = meta.workflow.workflow() else {
        return false;
    };
    if !workflow.runs(step) {
        return false;
    }
    match workflow.previous(step) {
        None => meta.state == State::Created,
        Some(prev) => {
            meta.step_succeeded(prev)
                && (meta.state == prev.state() || meta.state == State::Created)
        }
    }
}

/// Whether the run may complete now: the step it is at has succeeded and its workflow
/// may end after it.
fn may_complete(meta: &ProjectMeta) -> bool {
    let Some(workflow) = meta.workflow.workflow() else {
        return false;
    };
    workflow
        .may_end_after
        .iter()
        .any(|step| meta.state == step.state() && meta.step_succeeded(*step))
}

fn refuse_terminal(meta: &ProjectMeta) -> Result<(), TransitionError> {
    if meta.state.is_terminal() {
        Err(TransitionError::Terminal { state: meta.state })
    } else {
        Ok(())
    }
}
