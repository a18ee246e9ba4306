//! Connection-store properties.

use super::fixtures::owner;
use std::collections::BTreeSet;
use std::sync::Arc;
use zts_domain::clock;
use zts_domain::ids::{ConnectionId, ProjectId};
use zts_domain::ports::{ConnectionRecord, ConnectionStore, OpenTotals, StoreError};

fn connection(owner_name: &str) -> ConnectionRecord {
    let now = clock::now();
    ConnectionRecord {
        connection_id: ConnectionId::generate(),
        owner: owner(owner_name),
        endpoint: "http://127.0.0.1:3000".into(),
        connected_at: now,
        subscriptions: Vec::new(),
        ttl: now.timestamp() + 2 * 3600,
    }
}

async fn subscriber_set<S: ConnectionStore>(
    store: &S,
    project: &ProjectId,
) -> BTreeSet<ConnectionId> {
    store
        .subscribers(project)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.connection_id)
        .collect()
}

pub async fn connections_round_trip<S: ConnectionStore>(store: Arc<S>) {
    let c = connection("alice");
    store.put_connection(c.clone()).await.unwrap();
    assert_eq!(
        store.get_connection(&c.connection_id).await.unwrap(),
        Some(c.clone())
    );
    assert_eq!(
        store
            .get_connection(&ConnectionId::generate())
            .await
            .unwrap(),
        None
    );
    store.delete_connection(&c.connection_id).await.unwrap();
    assert_eq!(store.get_connection(&c.connection_id).await.unwrap(), None);
    // Deleting twice is fine: `$disconnect` may be delivered more than once.
    store.delete_connection(&c.connection_id).await.unwrap();
}

pub async fn subscriptions_are_listed_per_project_and_idempotent<S: ConnectionStore>(
    store: Arc<S>,
) {
    let (a, b) = (connection("alice"), connection("alice"));
    store.put_connection(a.clone()).await.unwrap();
    store.put_connection(b.clone()).await.unwrap();
    let (p1, p2) = (ProjectId::generate(), ProjectId::generate());
    assert_eq!(store.subscribe(&a.connection_id, &p1).await.unwrap(), 1);
    assert_eq!(store.subscribe(&a.connection_id, &p2).await.unwrap(), 2);
    assert_eq!(
        store.subscribe(&a.connection_id, &p1).await.unwrap(),
        2,
        "a repeat counted twice"
    );
    assert_eq!(store.subscribe(&b.connection_id, &p1).await.unwrap(), 1);
    assert_eq!(
        subscriber_set(&*store, &p1).await,
        BTreeSet::from([a.connection_id.clone(), b.connection_id.clone()])
    );
    assert_eq!(
        subscriber_set(&*store, &p2).await,
        BTreeSet::from([a.connection_id.clone()])
    );
    let record = store
        .get_connection(&a.connection_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.subscriptions, vec![p1, p2]);
}

pub async fn subscribing_a_missing_connection_is_not_found<S: ConnectionStore>(store: Arc<S>) {
    let project = ProjectId::generate();
    let err = store
        .subscribe(&ConnectionId::generate(), &project)
        .await
        .unwrap_err();
    assert_eq!(err, StoreError::NotFound);
    assert!(store.subscribers(&project).await.unwrap().is_empty());
}

pub async fn deleting_a_connection_removes_its_subscriptions<S: ConnectionStore>(store: Arc<S>) {
    let (a, b) = (connection("alice"), connection("bob"));
    store.put_connection(a.clone()).await.unwrap();
    store.put_connection(b.clone()).await.unwrap();
    let (p1, p2) = (ProjectId::generate(), ProjectId::generate());
    store.subscribe(&a.connection_id, &p1).await.unwrap();
    store.subscribe(&a.connection_id, &p2).await.unwrap();
    store.subscribe(&b.connection_id, &p1).await.unwrap();
    store.delete_connection(&a.connection_id).await.unwrap();
    assert_eq!(
        subscriber_set(&*store, &p1).await,
        BTreeSet::from([b.connection_id.clone()])
    );
    assert!(store.subscribers(&p2).await.unwrap().is_empty());
}

pub async fn unsubscribe_removes_one_subscription<S: ConnectionStore>(store: Arc<S>) {
    let a = connection("alice");
    store.put_connection(a.clone()).await.unwrap();
    let (p1, p2) = (ProjectId::generate(), ProjectId::generate());
    store.subscribe(&a.connection_id, &p1).await.unwrap();
    store.subscribe(&a.connection_id, &p2).await.unwrap();
    store.unsubscribe(&a.connection_id, &p1).await.unwrap();
    assert!(store.subscribers(&p1).await.unwrap().is_empty());
    assert_eq!(
        subscriber_set(&*store, &p2).await,
        BTreeSet::from([a.connection_id.clone()])
    );
    let record = store
        .get_connection(&a.connection_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.subscriptions, vec![p2]);
    // Unsubscribing what is not subscribed is a no-op.
    store.unsubscribe(&a.connection_id, &p1).await.unwrap();
}

async fn mark_of<S: ConnectionStore>(
    store: &S,
    id: &ConnectionId,
    project: &ProjectId,
) -> Option<Option<u64>> {
    store
        .subscription(id, project)
        .await
        .unwrap()
        .map(|s| s.delivered_through)
}

/// The delivery mark (ARCHITECTURE.md §2): a new subscription has none; the replay's
/// sender sets it, the broadcaster moves it on; a write from a stale value changes
/// nothing; subscribing again clears it (a new replay follows); a gone subscription
/// cannot be marked.
pub async fn delivery_marks_move_only_from_what_was_read<S: ConnectionStore>(store: Arc<S>) {
    let (a, b) = (connection("alice"), connection("alice"));
    store.put_connection(a.clone()).await.unwrap();
    store.put_connection(b.clone()).await.unwrap();
    let project = ProjectId::generate();
    let id = &a.connection_id;
    store.subscribe(id, &project).await.unwrap();
    store.subscribe(&b.connection_id, &project).await.unwrap();
    assert_eq!(mark_of(&*store, id, &project).await, Some(None));
    assert_eq!(
        mark_of(&*store, id, &ProjectId::generate()).await,
        None,
        "no subscription there"
    );

    assert!(store.mark_delivered(id, &project, None, 2).await.unwrap());
    assert!(
        !store.mark_delivered(id, &project, None, 5).await.unwrap(),
        "the replay's mark is set once"
    );
    assert!(
        !store
            .mark_delivered(id, &project, Some(1), 3)
            .await
            .unwrap()
    );
    assert!(
        store
            .mark_delivered(id, &project, Some(2), 3)
            .await
            .unwrap()
    );
    assert_eq!(mark_of(&*store, id, &project).await, Some(Some(3)));

    let listed = store.subscribers(&project).await.unwrap();
    let marks: BTreeSet<(ConnectionId, Option<u64>)> = listed
        .into_iter()
        .map(|s| (s.connection_id, s.delivered_through))
        .collect();
    assert_eq!(
        marks,
        BTreeSet::from([(id.clone(), Some(3)), (b.connection_id.clone(), None)]),
        "each subscription listed with its own mark"
    );

    assert_eq!(
        store.subscribe(id, &project).await.unwrap(),
        1,
        "a repeat counts once"
    );
    assert_eq!(
        mark_of(&*store, id, &project).await,
        Some(None),
        "subscribing again starts delivery over"
    );
    assert!(
        !store
            .mark_delivered(id, &project, Some(3), 4)
            .await
            .unwrap()
    );

    store.unsubscribe(id, &project).await.unwrap();
    assert!(!store.mark_delivered(id, &project, None, 1).await.unwrap());
    assert_eq!(mark_of(&*store, id, &project).await, None);
    store.delete_connection(&b.connection_id).await.unwrap();
    assert!(
        !store
            .mark_delivered(&b.connection_id, &project, None, 1)
            .await
            .unwrap(),
        "a gone connection's subscription cannot be marked"
    );
}

/// Eight writers moving the mark from the same value: exactly one wins, so two pushers
/// can never both believe they delivered the same seq.
pub async fn concurrent_marks_from_one_value_let_one_win<S: ConnectionStore + 'static>(
    store: Arc<S>,
) {
    let a = connection("alice");
    store.put_connection(a.clone()).await.unwrap();
    let project = ProjectId::generate();
    store.subscribe(&a.connection_id, &project).await.unwrap();
    assert!(
        store
            .mark_delivered(&a.connection_id, &project, None, 1)
            .await
            .unwrap()
    );
    let writers: Vec<_> = (0..8u64)
        .map(|i| {
            let (store, id, project) = (store.clone(), a.connection_id.clone(), project.clone());
            tokio::spawn(async move {
                store
                    .mark_delivered(&id, &project, Some(1), 2 + i)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut won = 0;
    for w in writers {
        if w.await.unwrap() {
            won += 1;
        }
    }
    assert_eq!(won, 1);
    let mark = mark_of(&*store, &a.connection_id, &project).await;
    assert!(matches!(mark, Some(Some(m)) if (2..10).contains(&m)));
}

/// The gauges' sample: open connections and the subscriptions they hold; a record past
/// its TTL (a lost `$disconnect`) is not open, and what a disconnect or an unsubscribe
/// removed is not counted.
pub async fn open_totals_count_open_connections_and_their_subscriptions<S: ConnectionStore>(
    store: Arc<S>,
) {
    let now = clock::now();
    assert_eq!(store.open_totals(now).await.unwrap(), OpenTotals::default());
    let (a, b, gone) = (connection("alice"), connection("bob"), connection("carol"));
    let lost = ConnectionRecord {
        ttl: now.timestamp() - 60,
        ..connection("dave")
    };
    for c in [&a, &b, &gone, &lost] {
        store.put_connection(c.clone()).await.unwrap();
    }
    let (p1, p2) = (ProjectId::generate(), ProjectId::generate());
    store.subscribe(&a.connection_id, &p1).await.unwrap();
    store.subscribe(&a.connection_id, &p2).await.unwrap();
    store.subscribe(&b.connection_id, &p1).await.unwrap();
    store.subscribe(&b.connection_id, &p2).await.unwrap();
    store.unsubscribe(&b.connection_id, &p2).await.unwrap();
    store.subscribe(&gone.connection_id, &p1).await.unwrap();
    store.delete_connection(&gone.connection_id).await.unwrap();
    store.subscribe(&lost.connection_id, &p1).await.unwrap();
    assert_eq!(
        store.open_totals(now).await.unwrap(),
        OpenTotals {
            connections: 2,
            subscriptions: 3,
        }
    );
}
