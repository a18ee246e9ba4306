//! The reconciler on AWS: an EventBridge schedule invokes it every minute, and it runs the
//! same pass `zts serve` runs locally (`zts_domain::reconcile`, ARCHITECTURE.md §7): projects
//! whose run never reached its first step within the deadline get their next run, or
//! FAILED after their last one.

#[cfg(feature = "lambda")]
pub mod config;

use zts_domain::clock;
use zts_domain::metrics;
use zts_domain::ports::{ConnectionStore, ProjectStore, WorkflowStarter};
use zts_domain::reconcile::{self, ReconcilePolicy, ReconcileReport};
use zts_domain::step::StepFailure;

/// One pass, then a sample of the open connections and subscriptions for their gauges. A
/// store failure fails the invocation (its error type says whether it was transient); the
/// next scheduled invocation picks up where this one stopped, since every claim is a
/// conditional write. A failed sample only goes unreported: the pass is what matters.
pub async fn handle<S, C, W>(
    store: &S,
    connections: &C,
    workflow: &W,
    policy: ReconcilePolicy,
) -> Result<ReconcileReport, StepFailure>
where
    S: ProjectStore + ?Sized,
    C: ConnectionStore + ?Sized,
    W: WorkflowStarter + ?Sized,
{
    let now = clock::now();
    let report = reconcile::reconcile(store, workflow, now, policy).await?;
    match connections.open_totals(now).await {
        Ok(totals) => metrics::open_now(totals),
        Err(e) => tracing::warn!(error = %e, "could not count the open connections"),
    }
    if report != ReconcileReport::default() {
        tracing::info!(
            stale = report.stale,
            restarted = report.restarted,
            start_errors = report.start_errors,
            gave_up = report.gave_up,
            lost_races = report.lost_races,
            expired = report.expired,
            purged = report.purged,
            "reconciler pass"
        );
    }
    Ok(report)
}
