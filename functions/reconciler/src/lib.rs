//! The reconciler on AWS: an EventBridge schedule invokes it every minute, and it runs the
//! same pass `zts serve` runs locally (`zts_domain::reconcile`, ARCHITECTURE.md §7): projects
//! whose run never reached its first step within the deadline get their next run, or
//! FAILED after their last one.

#[cfg(feature = "lambda")]
pub mod config;

use zts_domain::clock;
use zts_domain::ports::{ProjectStore, WorkflowStarter};
use zts_domain::reconcile::{self, ReconcilePolicy, ReconcileReport};
use zts_domain::step::StepFailure;

/// One pass. A store failure fails the invocation (its error type says whether it was
/// transient); the next scheduled invocation picks up where this one stopped, since every
/// claim is a conditional write.
pub async fn handle<S, W>(
    store: &S,
    workflow: &W,
    policy: ReconcilePolicy,
) -> Result<ReconcileReport, StepFailure>
where
    S: ProjectStore + ?Sized,
    W: WorkflowStarter + ?Sized,
{
    let report = reconcile::reconcile(store, workflow, clock::now(), policy).await?;
    if report != ReconcileReport::default() {
        tracing::info!(
            stale = report.stale,
            restarted = report.restarted,
            start_errors = report.start_errors,
            gave_up = report.gave_up,
            lost_races = report.lost_races,
            "reconciler pass"
        );
    }
    Ok(report)
}
