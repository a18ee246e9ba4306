//! The reconciler: the promise that a stored project always gets a run.
//!
//! The create claims run 1 and starts it; if that start was lost (the engine refused, the
//! process died) or the run ended before its first step, the project stays CREATED. Every
//! pass, the reconciler asks the store for projects still CREATED whose run was claimed
//! more than [`ReconcilePolicy::start_deadline`] ago, claims the next run with a
//! conditional write (so two reconcilers, or a reconciler and a slow start, never both
//! win) and starts it. The deadline outlasts the workflow's own time limit, so the run it
//! supersedes is over; if it is not, its commits are refused anyway. After
//! [`ReconcilePolicy::max_runs`] runs the project is FAILED with `ZeroToShip.StartFailed`
//! instead of retried forever (ARCHITECTURE.md §7). The same pass purges what is left of
//! deleted projects once their grace period is over. The same function runs from
//! `zts serve` and, on AWS, from a scheduled Lambda function.

use crate::clock::Timestamp;
use crate::ports::{
    CommitOutcome, ProjectStore, StoreError, WorkflowError, WorkflowStart, WorkflowStarter,
};
use crate::project::{ErrorInfo, ProjectMeta};
use crate::step::START_FAILED;
use crate::transition::{DedupeKey, StepCommit, Transition};
use std::time::Duration;
use tracing::Instrument;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReconcilePolicy {
    /// How long a claimed run may stay CREATED before the next run is claimed. Longer than
    /// the state machine's own `TimeoutSeconds` (300 s), so the superseded run has ended.
    pub start_deadline: Duration,
    /// Runs a project gets before it is FAILED instead (the create's run included).
    pub max_runs: u32,
    /// Projects looked at per pass.
    pub batch: u32,
    /// How long a deleted project's tombstone, events and subscriptions stay before the
    /// pass purges them: time for the broadcaster to push `project_deleted` (it reads
    /// subscriptions, and events missed by a connection, from the project's items).
    pub purge_grace: Duration,
}

impl ReconcilePolicy {
    pub const DEFAULT: ReconcilePolicy = ReconcilePolicy {
        start_deadline: Duration::from_secs(360),
        max_runs: 3,
        batch: 100,
        purge_grace: Duration::from_secs(60),
    };
}

impl Default for ReconcilePolicy {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ReconcileReport {
    /// Stale runs found.
    pub stale: u32,
    /// New runs claimed and started.
    pub restarted: u32,
    /// New runs claimed whose start failed (the next pass, after the deadline, tries again).
    pub start_errors: u32,
    /// Projects FAILED because they used up their runs.
    pub gave_up: u32,
    /// Someone else claimed, or the run made progress, between the read and the claim.
    pub lost_races: u32,
    /// Deleted projects whose last items were purged.
    pub purged: u32,
    /// Ended projects past their retention turned into tombstones (stores without TTL).
    pub expired: u32,
}

/// One pass over the stale runs at `now`.
pub async fn reconcile<S, W>(
    store: &S,
    workflow: &W,
    now: Timestamp,
    policy: ReconcilePolicy,
) -> Result<ReconcileReport, StoreError>
where
    S: ProjectStore + ?Sized,
    W: WorkflowStarter + ?Sized,
{
    let deadline = chrono::Duration::from_std(policy.start_deadline)
        .unwrap_or_else(|_| chrono::Duration::seconds(360));
    let stale = store.stale_runs(now - deadline, policy.batch).await?;
    let mut report = ReconcileReport {
        stale: stale.len() as u32,
        ..ReconcileReport::default()
    };
    report.expired = crate::lifecycle::expire_ended(store, now, policy.batch).await?;
    report.purged = crate::lifecycle::purge_deleted(store, now, policy).await?;
    for meta in stale {
        let span = tracing::info_span!("reconcile", project_id = %meta.project_id, correlation_id = %meta.correlation_id, run = meta.run);
        let outcome = reconcile_one(store, workflow, &meta, now, policy)
            .instrument(span)
            .await?;
        match outcome {
            Reconciled::GaveUp => report.gave_up += 1,
            Reconciled::Restarted => report.restarted += 1,
            Reconciled::LostRace => report.lost_races += 1,
            Reconciled::StartFailed => report.start_errors += 1,
        }
    }
    Ok(report)
}

/// What one stale run's reconciliation came to.
enum Reconciled {
    GaveUp,
    Restarted,
    LostRace,
    StartFailed,
}

/// Gives up on `meta`'s project, or claims its next run and starts it.
async fn reconcile_one<S, W>(
    store: &S,
    workflow: &W,
    meta: &ProjectMeta,
    now: Timestamp,
    policy: ReconcilePolicy,
) -> Result<Reconciled, StoreError>
where
    S: ProjectStore + ?Sized,
    W: WorkflowStarter + ?Sized,
{
    // Counted from the run the latest create or retry asked for.
    if meta.runs_since_request() >= policy.max_runs {
        return match store.commit_step(give_up(meta, policy, now)).await {
            Ok(CommitOutcome::Committed { .. }) => {
                crate::metrics::reconciler_gave_up();
                Ok(Reconciled::GaveUp)
            }
            Ok(CommitOutcome::AlreadyDone) | Err(StoreError::Transition(_)) => {
                Ok(Reconciled::LostRace)
            }
            Err(e) => Err(e),
        };
    }
    let claimed = match store.commit_step(claim_next(meta, now)).await {
        Ok(CommitOutcome::Committed { meta, .. }) => *meta,
        Ok(CommitOutcome::AlreadyDone) | Err(StoreError::Transition(_)) => {
            return Ok(Reconciled::LostRace);
        }
        Err(e) => return Err(e),
    };
    match start(workflow, &claimed).await {
        Ok(()) => {
            crate::metrics::reconciler_restarted();
            Ok(Reconciled::Restarted)
        }
        Err(e) => {
            tracing::warn!(error = %e, run = claimed.run, "could not start a reclaimed run; the next pass after the deadline tries again");
            Ok(Reconciled::StartFailed)
        }
    }
}

async fn start<W: WorkflowStarter + ?Sized>(
    workflow: &W,
    meta: &ProjectMeta,
) -> Result<(), WorkflowError> {
    workflow.start(&WorkflowStart::of(meta)).await.map(|_| ())
}

/// The claim of the run after META's: every reconciler derives the same dedupe key for it,
/// so of two racing claims one commits and the other is `AlreadyDone`.
fn claim_next(meta: &ProjectMeta, now: Timestamp) -> StepCommit {
    let run = meta.run.saturating_add(1);
    let transition = Transition::RunClaimed;
    StepCommit {
        project_id: meta.project_id.clone(),
        dedupe: DedupeKey::new(
            meta.project_id.as_str(),
            "Reconcile",
            run,
            transition.kind(),
        ),
        correlation_id: meta.correlation_id.clone(),
        run,
        transition,
        at: now,
    }
}

fn give_up(meta: &ProjectMeta, policy: ReconcilePolicy, now: Timestamp) -> StepCommit {
    let transition = Transition::Failed {
        error: ErrorInfo::new(
            START_FAILED,
            format!(
                "the pipeline could not be started ({} runs, none reached its first step); \
                 create the project again",
                policy.max_runs
            ),
        ),
    };
    StepCommit {
        project_id: meta.project_id.clone(),
        dedupe: DedupeKey::new(
            meta.project_id.as_str(),
            "Reconcile",
            meta.run,
            transition.kind(),
        ),
        correlation_id: meta.correlation_id.clone(),
        run: meta.run,
        transition,
        at: now,
    }
}
