//! A project's life after its create: retry a FAILED run, cancel one that has not ended,
//! export everything stored about it, delete it (ARCHITECTURE.md §7). Each change is one transition
//! committed through the store's conditional write, so racing requests, steps and the
//! reconciler end in one consistent state with gapless events.

use crate::clock::Timestamp;
use crate::error::AppError;
use crate::events::Event;
use crate::idempotency;
use crate::ids::{Owner, ProjectId};
use crate::metrics;
use crate::ports::{
    CommitOutcome, EVENTS_PAGE_MAX, ProjectStore, StoreError, WorkflowStart, WorkflowStarter,
};
use crate::project::{ProjectMeta, ProjectView, State};
use crate::reconcile::ReconcilePolicy;
use crate::transition::{DedupeKey, StepCommit, Transition, TransitionError};

/// How many times a change is tried again when the project moved between the read and the
/// commit (a reconciler claim, a step): each try reads META afresh.
const RACE_TRIES: usize = 4;

/// META if `owner` owns the project; anyone else's project is not found, like a missing one.
async fn owned<S: ProjectStore + ?Sized>(
    store: &S,
    owner: &Owner,
    id: &ProjectId,
) -> Result<ProjectMeta, AppError> {
    store
        .get_meta(id)
        .await?
        .filter(|m| &m.owner == owner && !m.is_gone(crate::clock::now()))
        .ok_or_else(|| AppError::not_found("the project"))
}

/// The outcome of a retry request.
#[derive(Debug, Clone, PartialEq)]
pub enum RetryOutcome {
    /// A new run was claimed and started.
    Retried(ProjectMeta),
    /// This retry (same Idempotency-Key, or a concurrent retry of the same run) was made
    /// before: the project as it is now.
    Replayed(ProjectMeta),
}

impl RetryOutcome {
    pub fn meta(&self) -> &ProjectMeta {
        match self {
            RetryOutcome::Retried(m) | RetryOutcome::Replayed(m) => m,
        }
    }
}

/// Retries a FAILED project: claims the next run on META (conditional, so of any number of
/// concurrent retries one claims it and the rest replay it), keeps what the failed run had
/// produced, and starts the new run, which begins at the step that failed. Anything but
/// FAILED is a state conflict. With an `Idempotency-Key`, a repeat of the same key replays.
pub async fn retry_project<S, W>(
    store: &S,
    workflow: &W,
    owner: &Owner,
    id: &ProjectId,
    idempotency_key: Option<&str>,
    now: Timestamp,
) -> Result<RetryOutcome, AppError>
where
    S: ProjectStore + ?Sized,
    W: WorkflowStarter + ?Sized,
{
    if let Some(key) = idempotency_key {
        idempotency::check_key(key)?;
    }
    let meta = owned(store, owner, id).await?;
    let run = meta.run.saturating_add(1);
    let transition = Transition::Retried;
    // Keyed by the caller's key, or else by the run it claims: retries that read the same
    // META derive the same key, so they replay one claim instead of racing for two.
    let dedupe = match idempotency_key {
        Some(key) => DedupeKey::new(
            id.as_str(),
            &format!("Retry {}", idempotency::sha256_hex(key.as_bytes())),
            0,
            transition.kind(),
        ),
        None => DedupeKey::new(id.as_str(), "Retry", run, transition.kind()),
    };
    let commit = StepCommit {
        project_id: id.clone(),
        dedupe,
        correlation_id: meta.correlation_id.clone(),
        run,
        transition,
        at: now,
    };
    match store.commit_step(commit).await {
        Ok(CommitOutcome::Committed { meta, .. }) => {
            metrics::project_retried(meta.workflow.label());
            tracing::info!(project_id = %id, run = meta.run, "project retried");
            start_run(workflow, &meta).await;
            Ok(RetryOutcome::Retried(*meta))
        }
        Ok(CommitOutcome::AlreadyDone) => {
            Ok(RetryOutcome::Replayed(owned(store, owner, id).await?))
        }
        // Another retry claimed the run between our read and our commit.
        Err(StoreError::Transition(TransitionError::NotCurrentRun { .. })) => Err(AppError::new(
            crate::ErrorCode::StateConflict,
            "the project was retried meanwhile; read its status",
        )),
        Err(e) => Err(e.into()),
    }
}

/// Cancels a project whose run has not ended: CANCELLED, with its event, at once. The
/// engine is asked to stop the execution too where it can (Standard); where it cannot, the
/// run's next commit is refused and it ends quietly. A repeated cancel answers the
/// cancelled project; a project that ended otherwise is a state conflict.
pub async fn cancel_project<S, W>(
    store: &S,
    workflow: &W,
    owner: &Owner,
    id: &ProjectId,
    now: Timestamp,
) -> Result<ProjectMeta, AppError>
where
    S: ProjectStore + ?Sized,
    W: WorkflowStarter + ?Sized,
{
    for _ in 0..RACE_TRIES {
        let meta = owned(store, owner, id).await?;
        match meta.state {
            State::Cancelled => return Ok(meta),
            state if state.is_terminal() => {
                return Err(AppError::new(
                    crate::ErrorCode::StateConflict,
                    format!("the project already ended {state}; there is no run to cancel"),
                ));
            }
            _ => {}
        }
        let transition = Transition::Cancelled;
        let commit = StepCommit {
            project_id: id.clone(),
            dedupe: DedupeKey::new(id.as_str(), "Cancel", meta.run, transition.kind()),
            correlation_id: meta.correlation_id.clone(),
            run: meta.run,
            transition,
            at: now,
        };
        match store.commit_step(commit).await {
            Ok(CommitOutcome::Committed { meta, .. }) => {
                metrics::run_ended(meta.workflow.label(), metrics::RunEnd::Cancelled);
                tracing::info!(project_id = %id, run = meta.run, "project cancelled");
                stop_run(workflow, &meta).await;
                return Ok(*meta);
            }
            // The run moved on (a reconciler claim) or ended between the read and the
            // commit: read again and decide afresh.
            Ok(CommitOutcome::AlreadyDone) | Err(StoreError::Transition(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(AppError::new(
        crate::ErrorCode::Unavailable,
        "the project kept changing while it was being cancelled; try again",
    )
    .with_retry_after(1))
}

/// Everything stored about one project, for its owner to take away.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectExport {
    /// META (with every run's history), the redacted input with its redaction report, and
    /// the artifacts.
    pub project: ProjectView,
    /// Every event, in seq order.
    pub events: Vec<Event>,
}

/// Reads the whole project, if `owner` owns it: META, input, artifacts and every event (in
/// pages of [`EVENTS_PAGE_MAX`]).
pub async fn export_project<S: ProjectStore + ?Sized>(
    store: &S,
    owner: &Owner,
    id: &ProjectId,
) -> Result<ProjectExport, AppError> {
    let project = store
        .get_project(owner, id)
        .await?
        .ok_or_else(|| AppError::not_found("the project"))?;
    let mut events = Vec::new();
    loop {
        let after = events.last().map_or(0, |e: &Event| e.seq);
        let page = store.events_after(id, after, EVENTS_PAGE_MAX).await?;
        let full = page.len() as u32 == EVENTS_PAGE_MAX;
        events.extend(page);
        if !full {
            break;
        }
    }
    Ok(ProjectExport { project, events })
}

/// Starts a retried run. A lost start is not the caller's problem: the project is CREATED
/// with a fresh claim, and the reconciler starts it after its deadline.
async fn start_run<W: WorkflowStarter + ?Sized>(workflow: &W, meta: &ProjectMeta) {
    if let Err(e) = workflow.start(&WorkflowStart::of(meta)).await {
        tracing::warn!(error = %e, project_id = %meta.project_id, "could not start the retried run; the reconciler will");
    }
}

/// Asks the engine to stop a cancelled run. Best effort: the state already refuses the
/// run's commits.
async fn stop_run<W: WorkflowStarter + ?Sized>(workflow: &W, meta: &ProjectMeta) {
    match workflow.stop(&WorkflowStart::of(meta)).await {
        Ok(stopped) => tracing::debug!(stopped, "stop requested"),
        Err(e) => {
            tracing::warn!(error = %e, project_id = %meta.project_id, "could not stop the cancelled run's execution; its next commit is refused")
        }
    }
}

/// Deletes a project: a running run is cancelled first (its subscribers see CANCELLED),
/// then one commit turns META into a tombstone holding none of the idea's text and
/// mints `project_deleted` (subscribers are told, then their subscriptions end); then the
/// input, the artifacts and the create's idempotency record are erased. From then on
/// every route answers 404, and a replayed create with the old key makes a new project.
/// What is left (events, subscriptions, the tombstone) the reconciler's
/// pass purges after [`ReconcilePolicy::purge_grace`]. Safe to repeat after a crash at any
/// point: the tombstone comes first, every step after it is idempotent.
pub async fn delete_project<S, W>(
    store: &S,
    workflow: &W,
    owner: &Owner,
    id: &ProjectId,
    now: Timestamp,
) -> Result<(), AppError>
where
    S: ProjectStore + ?Sized,
    W: WorkflowStarter + ?Sized,
{
    for _ in 0..RACE_TRIES {
        let meta = owned(store, owner, id).await?;
        if !meta.state.is_terminal() {
            match cancel_project(store, workflow, owner, id, now).await {
                // Ended another way meanwhile: read it again.
                Ok(_) => continue,
                Err(e) if e.code == crate::ErrorCode::StateConflict => continue,
                Err(e) => return Err(e),
            }
        }
        let transition = Transition::Deleted;
        let commit = StepCommit {
            project_id: id.clone(),
            dedupe: DedupeKey::new(id.as_str(), "Delete", 0, transition.kind()),
            correlation_id: meta.correlation_id.clone(),
            run: meta.run,
            transition,
            at: now,
        };
        let tombstone = match store.commit_step(commit).await {
            Ok(CommitOutcome::Committed { meta, .. }) => {
                metrics::project_deleted(meta.workflow.label());
                tracing::info!(project_id = %id, "project deleted");
                *meta
            }
            // A concurrent delete made the tombstone: finish its erase (repeatable).
            Ok(CommitOutcome::AlreadyDone) => match store.get_meta(id).await? {
                Some(meta) if meta.is_deleted() => meta,
                _ => continue,
            },
            Err(StoreError::Transition(_)) => continue,
            Err(e) => return Err(e.into()),
        };
        store.erase_contents(&tombstone).await?;
        return Ok(());
    }
    Err(AppError::new(
        crate::ErrorCode::Unavailable,
        "the project kept changing while it was being deleted; try again",
    )
    .with_retry_after(1))
}

/// The sweeper half of the reconciler's pass, for stores whose items do not expire by
/// themselves (the embedded one): an ended project past its retention becomes a tombstone
/// (`project_deleted`, as if its owner had deleted it) and loses its text at once; the
/// purge removes the rest after its grace. Returns how many were expired.
pub async fn expire_ended<S: ProjectStore + ?Sized>(
    store: &S,
    now: Timestamp,
    limit: u32,
) -> Result<u32, StoreError> {
    let mut expired = 0;
    for meta in store.expired_projects(now, limit).await? {
        let transition = Transition::Deleted;
        let commit = StepCommit {
            project_id: meta.project_id.clone(),
            dedupe: DedupeKey::new(meta.project_id.as_str(), "Expire", 0, transition.kind()),
            correlation_id: meta.correlation_id.clone(),
            run: meta.run,
            transition,
            at: now,
        };
        let tombstone = match store.commit_step(commit).await {
            Ok(CommitOutcome::Committed { meta, .. }) => *meta,
            // Deleted meanwhile, by its owner or a concurrent pass: the purge finishes it.
            Ok(CommitOutcome::AlreadyDone) | Err(StoreError::Transition(_)) => continue,
            Err(e) => return Err(e),
        };
        store.erase_contents(&tombstone).await?;
        tracing::info!(project_id = %meta.project_id, retain_until = ?meta.retain_until, "project expired");
        expired += 1;
    }
    Ok(expired)
}

/// Most batches of items one pass removes from one deleted project (the rest wait for the
/// next pass): keeps a pass short however many events a project had.
const PURGE_BATCHES_PER_PROJECT: u32 = 40;
/// Items per batch (DynamoDB's BatchWriteItem takes 25).
const PURGE_BATCH: u32 = 25;

/// The purge half of the reconciler's pass: deleted projects whose grace is over lose
/// their remaining items, META last. Returns how many are now gone entirely.
pub async fn purge_deleted<S: ProjectStore + ?Sized>(
    store: &S,
    now: Timestamp,
    policy: ReconcilePolicy,
) -> Result<u32, StoreError> {
    let grace = chrono::Duration::from_std(policy.purge_grace)
        .unwrap_or_else(|_| chrono::Duration::seconds(60));
    let mut purged = 0;
    for tombstone in store.deleted_projects(now - grace, policy.batch).await? {
        // Again, in case the delete stopped between its tombstone and its erase.
        store.erase_contents(&tombstone).await?;
        for _ in 0..PURGE_BATCHES_PER_PROJECT {
            if store
                .purge_project(&tombstone.project_id, PURGE_BATCH)
                .await?
            {
                purged += 1;
                break;
            }
        }
    }
    Ok(purged)
}
