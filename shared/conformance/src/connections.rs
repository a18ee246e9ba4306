//! Connection-store properties.

use super::fixtures::owner;
use std::collections::BTreeSet;
use std::sync::Arc;
use zts_domain::clock;
use zts_domain::ids::{ConnectionId, ProjectId};
use zts_domain::ports::{ConnectionRecord, ConnectionStore, StoreError};

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
