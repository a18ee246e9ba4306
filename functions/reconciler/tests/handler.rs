//! The reconciler function: its scheduled event parses as EventBridge sends it, and one
//! pass starts the next run of a project whose start was lost.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failed expectation is a failed test"
)]

use aws_lambda_events::eventbridge::EventBridgeEvent;
use std::time::Duration;
use zts_conformance::{ExpressLikeStarter, new_project};
use zts_domain::clock;
use zts_domain::ports::ProjectStore;
use zts_domain::reconcile::ReconcilePolicy;
use zts_embedded::EmbeddedStore;

#[test]
fn the_scheduled_event_parses_as_eventbridge_sends_it() {
    let event: EventBridgeEvent =
        serde_json::from_str(include_str!("fixtures/scheduled-event.json")).unwrap();
    assert_eq!(event.detail_type, "Scheduled Event");
    assert_eq!(event.source, "aws.events");
}

#[tokio::test]
async fn a_pass_starts_the_next_run_of_a_lost_start_once() {
    let store = EmbeddedStore::in_memory().unwrap();
    let new = new_project("alice", "lost", clock::now() - chrono_minutes(1));
    let id = new.project_id.clone();
    store.create_project(new).await.unwrap();
    let workflow = ExpressLikeStarter::default();
    let policy = ReconcilePolicy {
        start_deadline: Duration::from_secs(30),
        ..ReconcilePolicy::DEFAULT
    };
    let report = reconciler::handle(&store, &store, &workflow, policy)
        .await
        .unwrap();
    assert_eq!((report.stale, report.restarted), (1, 1));
    let again = reconciler::handle(&store, &store, &workflow, policy)
        .await
        .unwrap();
    assert_eq!(again.stale, 0, "the new run's claim is fresh");
    let starts = workflow.started();
    assert_eq!(starts.len(), 1);
    assert_eq!((starts[0].project_id.clone(), starts[0].run), (id, 2));
}

fn chrono_minutes(n: i64) -> zts_domain::clock::Duration {
    zts_domain::clock::Duration::minutes(n)
}
