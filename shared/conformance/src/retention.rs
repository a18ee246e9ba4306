//! Retention (zts_domain::retention) on every store: a project that ended longer ago than
//! the retention (the default, 90 days, which every store here is opened with) is gone
//! from every read at once, whatever is left of its items; one that ended less long ago,
//! or is still running however old, stays. Commits are written with past times, so no
//! test waits.

use super::fixtures::*;
use super::runs::ExpressLikeStarter;
use std::sync::Arc;
use zts_domain::clock::{self, Duration, Timestamp};
use zts_domain::lifecycle::{cancel_project, expire_ended, export_project, retry_project};
use zts_domain::ports::{PageRequest, ProjectStore};
use zts_domain::project::{State, StepName};
use zts_domain::reconcile::{self, ReconcilePolicy};
use zts_domain::transition::Transition;
use zts_domain::{ErrorCode, ProjectId};

/// alice's project, created at `created` and COMPLETED one minute later.
async fn completed_at<S: ProjectStore + ?Sized>(
    store: &S,
    name: &str,
    created: Timestamp,
) -> ProjectId {
    let new = new_project("alice", name, created);
    let id = new.project_id.clone();
    store.create_project(new).await.unwrap();
    let at = created + Duration::minutes(1);
    for t in [
        started(StepName::Validator, 1),
        succeeded(StepName::Validator, 1),
        started(StepName::Advisory, 1),
        succeeded(StepName::Advisory, 1),
        Transition::Completed,
    ] {
        let mut c = commit(&id, t);
        c.at = at;
        store.commit_step(c).await.unwrap();
    }
    id
}

fn days_ago(days: i64) -> Timestamp {
    clock::now() - Duration::days(days)
}

pub async fn an_ended_project_is_kept_for_the_retention_then_gone_from_every_read<
    S: ProjectStore + 'static,
>(
    store: Arc<S>,
) {
    let alice = owner("alice");
    let expired = completed_at(&*store, "ended long ago", days_ago(100)).await;
    let kept = completed_at(&*store, "ended lately", days_ago(80)).await;
    // Still running after 200 days (a stuck run): only an end starts the clock.
    let running = new_project("alice", "never ended", days_ago(200));
    let running_id = running.project_id.clone();
    store.create_project(running).await.unwrap();

    let kept_meta = store.get_meta(&kept).await.unwrap().unwrap();
    let ended = kept_meta.updated_at;
    assert_eq!(
        kept_meta.retain_until,
        Some(ended + Duration::days(90)),
        "retain_until is the end + the retention"
    );
    assert!(store.get_project(&alice, &kept).await.unwrap().is_some());
    let running_meta = store.get_meta(&running_id).await.unwrap().unwrap();
    assert_eq!(
        running_meta.retain_until, None,
        "a running project has no end date"
    );
    assert!(
        store
            .get_project(&alice, &running_id)
            .await
            .unwrap()
            .is_some()
    );

    // Past its retention: no read shows it, whether or not its items are still there.
    assert_eq!(store.get_project(&alice, &expired).await.unwrap(), None);
    let listed: Vec<ProjectId> = store
        .list_projects(&alice, PageRequest::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|m| m.project_id)
        .collect();
    assert!(listed.contains(&kept) && listed.contains(&running_id));
    assert!(
        !listed.contains(&expired),
        "an expired project is not listed"
    );
    let starter = ExpressLikeStarter::default();
    for outcome in [
        retry_project(&*store, &starter, &alice, &expired, None, clock::now())
            .await
            .map(|_| ()),
        cancel_project(&*store, &starter, &alice, &expired, clock::now())
            .await
            .map(|_| ()),
        export_project(&*store, &alice, &expired).await.map(|_| ()),
    ] {
        assert_eq!(outcome.unwrap_err().code, ErrorCode::NotFound);
    }
}

pub async fn a_retry_starts_the_clock_again<S: ProjectStore + 'static>(store: Arc<S>) {
    let alice = owner("alice");
    let new = new_project("alice", "retried late", days_ago(60));
    let id = new.project_id.clone();
    store.create_project(new).await.unwrap();
    let mut fail = commit(
        &id,
        Transition::Failed {
            error: zts_domain::ErrorInfo::new("ZeroToShip.Transient", "down"),
        },
    );
    fail.at = days_ago(60);
    store.commit_step(fail).await.unwrap();
    let failed = store.get_meta(&id).await.unwrap().unwrap();
    assert_eq!(failed.state, State::Failed);
    assert!(failed.retain_until.is_some());

    let starter = ExpressLikeStarter::default();
    retry_project(&*store, &starter, &alice, &id, None, clock::now())
        .await
        .unwrap();
    let retried = store.get_meta(&id).await.unwrap().unwrap();
    assert_eq!(retried.state, State::Created);
    assert_eq!(
        retried.retain_until, None,
        "a retried project is running again"
    );

    let mut cancel = commit_in_run(&id, retried.run, Transition::Cancelled);
    cancel.at = clock::now();
    store.commit_step(cancel).await.unwrap();
    let ended = store.get_meta(&id).await.unwrap().unwrap();
    assert_eq!(ended.state, State::Cancelled);
    assert_eq!(
        ended.retain_until,
        Some(ended.updated_at + Duration::days(90))
    );
}

/// Stores that remove expired projects themselves (the embedded one; DynamoDB's TTL does
/// it there): the reconciler's pass turns an expired project into a tombstone, erases its
/// text at once and purges the rest after the grace; a project within its retention is
/// untouched.
pub async fn the_reconcilers_pass_removes_expired_projects<S: ProjectStore + 'static>(
    store: Arc<S>,
) {
    let expired = completed_at(&*store, "ended long ago", days_ago(100)).await;
    let kept = completed_at(&*store, "ended lately", days_ago(80)).await;
    let now = clock::now();
    let listed = store.expired_projects(now, 10).await.unwrap();
    assert_eq!(
        listed.iter().map(|m| &m.project_id).collect::<Vec<_>>(),
        vec![&expired]
    );

    assert_eq!(expire_ended(&*store, now, 10).await.unwrap(), 1);
    let tombstone = store.get_meta(&expired).await.unwrap().unwrap();
    assert_eq!(tombstone.state, State::Deleted);
    assert_eq!(
        store.get_input(&expired).await.unwrap(),
        None,
        "text erased at once"
    );
    assert!(store.expired_projects(now, 10).await.unwrap().is_empty());
    // A second pass finds nothing more to expire.
    assert_eq!(expire_ended(&*store, now, 10).await.unwrap(), 0);

    let later = now + Duration::minutes(5);
    let report = reconcile::reconcile(
        &*store,
        &ExpressLikeStarter::default(),
        later,
        ReconcilePolicy::DEFAULT,
    )
    .await
    .unwrap();
    assert_eq!(report.purged, 1);
    assert_eq!(store.get_meta(&expired).await.unwrap(), None);
    assert!(
        store
            .events_after(&expired, 0, 100)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.get_meta(&kept).await.unwrap().is_some());
    assert!(store.get_input(&kept).await.unwrap().is_some());
}
