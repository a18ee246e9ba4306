//! Delivery by mark (API Gateway's ordering, `Ordering::ByMark`), on the embedded store
//! with a recording pusher: the broadcaster waits for a subscription's replay, skips what
//! the replay or an earlier delivery sent, fills a gap from the store, gives up on a
//! replay that never finishes; and, with the real `ws` subscribe racing commits and the
//! broadcaster, every connection gets each event once, in order, live ones after
//! `replay_complete`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failed expectation is a failed test"
)]

use broadcaster::{Delivery, Ordering, broadcast};
use rand::Rng;
use std::sync::Arc;
use std::time::{Duration, Instant};
use zts_conformance::RecordingPusher;
use zts_conformance::{commit, new_project, started, succeeded};
use zts_domain::clock;
use zts_domain::events::Event;
use zts_domain::ids::{ConnectionId, Owner, ProjectId};
use zts_domain::ports::{ConnectionRecord, ConnectionStore, ProjectStore, PushError};
use zts_domain::project::StepName;
use zts_domain::transition::Transition;
use zts_embedded::EmbeddedStore;

const MARKED: Ordering = Ordering::ByMark {
    replay_grace: Duration::from_secs(5),
};

/// A project with its happy run's six events.
async fn project_with_six_events(store: &EmbeddedStore) -> (ProjectId, Vec<Event>) {
    let created = store
        .create_project(new_project("acme", "tutors", clock::now()))
        .await
        .unwrap();
    let id = created.meta().project_id.clone();
    for transition in happy_run() {
        store.commit_step(commit(&id, transition)).await.unwrap();
    }
    let events = store.events_after(&id, 0, 100).await.unwrap();
    assert_eq!(events.len(), 6);
    (id, events)
}

fn happy_run() -> [Transition; 5] {
    [
        started(StepName::Validator, 1),
        succeeded(StepName::Validator, 1),
        started(StepName::Advisory, 1),
        succeeded(StepName::Advisory, 1),
        Transition::Completed,
    ]
}

async fn connection(store: &EmbeddedStore) -> ConnectionId {
    let id = ConnectionId::generate();
    let now = clock::now();
    store
        .put_connection(ConnectionRecord {
            connection_id: id.clone(),
            owner: Owner::parse("acme").unwrap(),
            endpoint: "https://example.invalid/prod".into(),
            connected_at: now - chrono::Duration::minutes(5),
            subscriptions: vec![],
            ttl: now.timestamp() + 7200,
        })
        .await
        .unwrap();
    id
}

fn seqs(messages: &[serde_json::Value]) -> Vec<u64> {
    messages.iter().filter_map(|m| m["seq"].as_u64()).collect()
}

async fn mark(store: &EmbeddedStore, id: &ConnectionId, project: &ProjectId) -> Option<u64> {
    store
        .subscription(id, project)
        .await
        .unwrap()
        .unwrap()
        .delivered_through
}

/// The broadcaster handling `event` on a task of its own (it may be waiting for a replay).
fn broadcast_later(
    store: &Arc<EmbeddedStore>,
    pusher: &Arc<RecordingPusher>,
    event: &Event,
) -> tokio::task::JoinHandle<Result<Delivery, zts_domain::ports::StoreError>> {
    let (store, pusher, event) = (store.clone(), pusher.clone(), event.clone());
    tokio::spawn(async move { broadcast(&*store, &*store, &*pusher, &event, MARKED).await })
}

#[tokio::test]
async fn waits_for_the_replay_then_sends_only_what_is_above_its_mark() {
    let store = Arc::new(EmbeddedStore::in_memory().unwrap());
    let pusher = Arc::new(RecordingPusher::default());
    let (project, events) = project_with_six_events(&store).await;
    let conn = connection(&store).await;
    store.subscribe(&conn, &project).await.unwrap();

    // Event 3 reaches the broadcaster while the replay (of 1..3) is being sent.
    let waiting = broadcast_later(&store, &pusher, &events[2]);
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(!waiting.is_finished(), "it waits while there is no mark");
    assert!(
        store
            .mark_delivered(&conn, &project, None, 3)
            .await
            .unwrap()
    );
    let delivery = waiting.await.unwrap().unwrap();
    assert_eq!(
        delivery,
        Delivery {
            already_sent: 1,
            ..Delivery::default()
        }
    );
    assert!(pusher.sent_to(&conn).is_empty(), "3 was in the replay");

    // Event 4 goes out once; the same record delivered again (a retried batch) does not.
    for _ in 0..2 {
        broadcast(&*store, &*store, &*pusher, &events[3], MARKED)
            .await
            .unwrap();
    }
    assert_eq!(seqs(&pusher.sent_to(&conn)), vec![4]);
    assert_eq!(mark(&store, &conn, &project).await, Some(4));
}

#[tokio::test]
async fn a_gap_below_the_event_is_filled_from_the_store_first() {
    let store = EmbeddedStore::in_memory().unwrap();
    let pusher = RecordingPusher::default();
    let (project, events) = project_with_six_events(&store).await;
    let conn = connection(&store).await;
    store.subscribe(&conn, &project).await.unwrap();
    store
        .mark_delivered(&conn, &project, None, 1)
        .await
        .unwrap();

    // The push of 2 fails (throttled past its retries): the mark stays at 1.
    pusher.fail(&conn, PushError::Transient("throttled".into()));
    let failed = broadcast(&store, &store, &pusher, &events[1], MARKED)
        .await
        .unwrap();
    assert_eq!(failed.failed, 1);
    assert_eq!(mark(&store, &conn, &project).await, Some(1));

    // The next event brings 2 along, in order, before itself.
    pusher.heal(&conn);
    let filled = broadcast(&store, &store, &pusher, &events[2], MARKED)
        .await
        .unwrap();
    assert_eq!(filled.delivered, 2);
    assert_eq!(seqs(&pusher.sent_to(&conn)), vec![2, 3]);
    assert_eq!(mark(&store, &conn, &project).await, Some(3));
    assert_eq!(
        pusher.sent_to(&conn)[0],
        serde_json::to_value(&events[1]).unwrap()
    );
}

#[tokio::test]
async fn a_replay_that_never_finishes_is_given_up_after_the_grace_period() {
    let store = EmbeddedStore::in_memory().unwrap();
    let pusher = RecordingPusher::default();
    let (project, events) = project_with_six_events(&store).await;
    let stuck = connection(&store).await;
    let live = connection(&store).await;
    store.subscribe(&stuck, &project).await.unwrap();
    store.subscribe(&live, &project).await.unwrap();
    store
        .mark_delivered(&live, &project, None, 5)
        .await
        .unwrap();

    let grace = Duration::from_millis(300);
    let started = Instant::now();
    let delivery = broadcast(
        &store,
        &store,
        &pusher,
        &events[5],
        Ordering::ByMark {
            replay_grace: grace,
        },
    )
    .await
    .unwrap();
    assert!(started.elapsed() >= grace - Duration::from_millis(50));
    assert_eq!((delivery.abandoned, delivery.delivered), (1, 1));
    assert!(pusher.sent_to(&stuck).is_empty());
    assert_eq!(seqs(&pusher.sent_to(&live)), vec![6]);

    // Once past the grace period, the stuck subscription costs no more waiting.
    let again = Instant::now();
    broadcast(
        &store,
        &store,
        &pusher,
        &events[5],
        Ordering::ByMark {
            replay_grace: grace,
        },
    )
    .await
    .unwrap();
    assert!(again.elapsed() < grace);
}

#[tokio::test]
async fn unsubscribing_while_the_broadcaster_waits_sends_nothing() {
    let store = Arc::new(EmbeddedStore::in_memory().unwrap());
    let pusher = Arc::new(RecordingPusher::default());
    let (project, events) = project_with_six_events(&store).await;
    let conn = connection(&store).await;
    store.subscribe(&conn, &project).await.unwrap();
    let waiting = broadcast_later(&store, &pusher, &events[5]);
    tokio::time::sleep(Duration::from_millis(100)).await;
    store.unsubscribe(&conn, &project).await.unwrap();
    let delivery = waiting.await.unwrap().unwrap();
    assert_eq!(delivery, Delivery::default());
    assert_eq!(pusher.total(), 0);
}

/// Whether `messages` (what one connection received for one project) are the events
/// above `after_seq`, each once, in order, with `replay_complete` once, before every
/// event above its `last_seq`.
fn assert_exactly_once_in_order(messages: &[serde_json::Value], after_seq: u64, last: u64) {
    let got = seqs(messages);
    let expected: Vec<u64> = (after_seq + 1..=last).collect();
    assert_eq!(got, expected, "each event once, in order: {messages:?}");
    let complete: Vec<usize> = messages
        .iter()
        .enumerate()
        .filter(|(_, m)| m["event"] == "replay_complete")
        .map(|(i, _)| i)
        .collect();
    assert_eq!(complete.len(), 1, "{messages:?}");
    let replayed_through = messages[complete[0]]["last_seq"].as_u64().unwrap();
    for live in &messages[complete[0] + 1..] {
        assert!(live["seq"].as_u64().unwrap() > replayed_through);
    }
    for replayed in &messages[..complete[0]] {
        assert!(replayed["seq"].as_u64().unwrap() <= replayed_through);
    }
}

/// The race the emulation found on AWS: the real `ws` subscribe against commits and a
/// broadcaster that lags behind them, at random offsets. Without the marks a subscriber
/// sees events twice (replayed and pushed live).
#[tokio::test]
async fn a_subscribe_racing_commits_and_a_lagging_broadcaster_gets_each_event_once() {
    for trial in 0..20u64 {
        let store = Arc::new(EmbeddedStore::in_memory().unwrap());
        let pusher = Arc::new(RecordingPusher::default());
        let created = store
            .create_project(new_project("acme", "race", clock::now()))
            .await
            .unwrap();
        let project = created.meta().project_id.clone();
        let first = store.events_after(&project, 0, 10).await.unwrap();
        let conn = connection(&store).await;
        let mut committed = store.committed_events();

        // The stream: every committed event, in order, to the broadcaster, late.
        let lag = Duration::from_millis(rand::rng().random_range(0..15));
        let stream = {
            let (store, pusher) = (store.clone(), pusher.clone());
            tokio::spawn(async move {
                broadcast(&*store, &*store, &*pusher, &first[0], MARKED)
                    .await
                    .unwrap();
                for _ in 0..5 {
                    let event = committed.recv().await.unwrap();
                    tokio::time::sleep(lag).await;
                    broadcast(&*store, &*store, &*pusher, &event, MARKED)
                        .await
                        .unwrap();
                }
            })
        };
        let writer = {
            let (store, project) = (store.clone(), project.clone());
            tokio::spawn(async move {
                for transition in happy_run() {
                    let pause = rand::rng().random_range(0..6);
                    tokio::time::sleep(Duration::from_millis(pause)).await;
                    store
                        .commit_step(commit(&project, transition))
                        .await
                        .unwrap();
                }
            })
        };
        let after_seq = trial % 3;
        tokio::time::sleep(Duration::from_millis(rand::rng().random_range(0..20))).await;
        let subscribe =
            format!(r#"{{"action":"subscribe","project_id":"{project}","after_seq":{after_seq}}}"#);
        ws::on_message(&*store, &*store, &*pusher, &conn, &subscribe)
            .await
            .unwrap();
        writer.await.unwrap();
        stream.await.unwrap();
        assert_exactly_once_in_order(&pusher.sent_to(&conn), after_seq, 6);
    }
}
