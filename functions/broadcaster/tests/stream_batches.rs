//! The broadcaster driven by a DynamoDB stream batch in the shape Lambda delivers it (two
//! good EVENT inserts, a poison EVENT, a META change): the good events reach every
//! subscriber in order, the poison record is skipped, an old gone connection is removed and
//! a young one kept, and when subscribers cannot be read the rest of the batch is retried.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failed expectation is a failed test"
)]

use async_trait::async_trait;
use aws_lambda_events::dynamodb::Event;
use zts_conformance::RecordingPusher;
use zts_domain::clock::{self, Timestamp};
use zts_domain::ids::{ConnectionId, Owner, ProjectId};
use zts_domain::items::SubscriptionRecord;
use zts_domain::ports::{ConnectionRecord, ConnectionStore, PushError, StoreError};
use zts_embedded::EmbeddedStore;

const PROJECT: &str = "019a8f3e-5b2c-7d41-9e0f-3a6b8c1d2e4f";

fn batch() -> Event {
    serde_json::from_str(include_str!("fixtures/stream-batch.json")).expect("a stream batch")
}

fn project() -> ProjectId {
    ProjectId::parse(PROJECT).unwrap()
}

async fn subscriber(store: &EmbeddedStore, name: &str, connected_at: Timestamp) -> ConnectionId {
    let id = ConnectionId::parse(name).unwrap();
    store
        .put_connection(ConnectionRecord {
            connection_id: id.clone(),
            owner: Owner::parse("acme").unwrap(),
            endpoint: "https://example.invalid/prod".into(),
            connected_at,
            subscriptions: vec![],
            ttl: connected_at.timestamp() + 7200,
        })
        .await
        .unwrap();
    store.subscribe(&id, &project()).await.unwrap();
    // Its replay (of nothing) is sent: live from seq 1 on.
    assert!(
        store
            .mark_delivered(&id, &project(), None, 1)
            .await
            .unwrap()
    );
    id
}

async fn handle(
    connections: &(impl ConnectionStore + ?Sized),
    store: &EmbeddedStore,
    pusher: &RecordingPusher,
) -> (
    aws_lambda_events::streams::DynamoDbEventResponse,
    broadcaster::stream::BatchSummary,
) {
    broadcaster::stream::handle_batch(
        connections,
        store,
        pusher,
        batch(),
        broadcaster::Ordering::API_GATEWAY,
    )
    .await
}

#[tokio::test]
async fn good_events_reach_every_subscriber_in_order_and_the_poison_one_is_skipped() {
    let store = EmbeddedStore::in_memory().unwrap();
    let pusher = RecordingPusher::default();
    let a = subscriber(&store, "connA=", clock::now()).await;
    let b = subscriber(&store, "connB=", clock::now()).await;
    let (response, summary) = handle(&store, &store, &pusher).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(
        (summary.broadcast, summary.poison, summary.skipped),
        (2, 1, 1)
    );
    for conn in [&a, &b] {
        let got = pusher.sent_to(conn);
        let seqs: Vec<u64> = got.iter().map(|m| m["seq"].as_u64().unwrap()).collect();
        assert_eq!(seqs, vec![2, 4]);
        assert_eq!(got[0]["event"], "status_update");
        assert_eq!(got[1]["event"], "step_complete");
        assert_eq!(got[1]["artifact_type"], "validation_report");
        // The table's keys are not part of the event clients see.
        assert!(got[0].get("pk").is_none() && got[0].get("sk").is_none());
    }
}

#[tokio::test]
async fn an_old_gone_connection_is_removed_and_a_young_one_kept() {
    let store = EmbeddedStore::in_memory().unwrap();
    let pusher = RecordingPusher::default();
    let old = subscriber(&store, "old=", clock::now() - chrono::Duration::minutes(5)).await;
    let young = subscriber(&store, "young=", clock::now()).await;
    let live = subscriber(&store, "live=", clock::now()).await;
    pusher.fail(&old, PushError::Gone);
    pusher.fail(&young, PushError::Gone);
    let (response, summary) = handle(&store, &store, &pusher).await;
    assert!(
        response.batch_item_failures.is_empty(),
        "a failed push never fails the batch"
    );
    assert_eq!(summary.delivery.removed, 1);
    assert!(store.get_connection(&old).await.unwrap().is_none());
    assert!(store.get_connection(&young).await.unwrap().is_some());
    let left: Vec<ConnectionId> = store
        .subscribers(&project())
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.connection_id)
        .collect();
    assert!(left.contains(&young) && left.contains(&live) && !left.contains(&old));
    assert_eq!(pusher.sent_to(&live).len(), 2);
}

/// What operators see of a batch (ARCHITECTURE.md §11): each event published, each push
/// by its outcome — delivered, gone (410, the connection removed) or failed (a client a
/// push cannot reach, which never fails the record) — and the poison record, counted
/// through a recorder of this thread only.
#[test]
fn pushes_are_counted_by_outcome_and_the_poison_record_too() {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let exported = recorder.handle();
    metrics::with_local_recorder(&recorder, || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async {
                let store = EmbeddedStore::in_memory().unwrap();
                let pusher = RecordingPusher::default();
                let old =
                    subscriber(&store, "old=", clock::now() - chrono::Duration::minutes(5)).await;
                let unreachable = subscriber(&store, "unreachable=", clock::now()).await;
                subscriber(&store, "live=", clock::now()).await;
                pusher.fail(&old, PushError::Gone);
                pusher.fail(&unreachable, PushError::Failed("403 Forbidden".into()));
                let (response, _) = handle(&store, &store, &pusher).await;
                assert!(response.batch_item_failures.is_empty());
            });
    });
    let page = exported.render();
    let value = |series: &str| -> f64 {
        page.lines()
            .find_map(|l| l.strip_prefix(series).and_then(|v| v.trim().parse().ok()))
            .unwrap_or_else(|| panic!("{series} missing:\n{page}"))
    };
    // Two good events; live gets both, the unreachable one fails both, the old one is
    // gone at the first and no longer subscribed at the second.
    assert_eq!(value("zerotoship_events_published_total"), 2.0);
    assert_eq!(value("zerotoship_pushes_total{status=\"delivered\"}"), 2.0);
    assert_eq!(value("zerotoship_pushes_total{status=\"failed\"}"), 2.0);
    assert_eq!(value("zerotoship_pushes_total{status=\"gone\"}"), 1.0);
    assert_eq!(value("zerotoship_poison_records_total"), 1.0);
}

/// The embedded store whose subscriber reads fail.
struct Unreadable(EmbeddedStore);

#[async_trait]
impl ConnectionStore for Unreadable {
    async fn put_connection(&self, c: ConnectionRecord) -> Result<(), StoreError> {
        self.0.put_connection(c).await
    }
    async fn get_connection(
        &self,
        id: &ConnectionId,
    ) -> Result<Option<ConnectionRecord>, StoreError> {
        self.0.get_connection(id).await
    }
    async fn delete_connection(&self, id: &ConnectionId) -> Result<(), StoreError> {
        self.0.delete_connection(id).await
    }
    async fn subscribe(&self, id: &ConnectionId, p: &ProjectId) -> Result<usize, StoreError> {
        self.0.subscribe(id, p).await
    }
    async fn unsubscribe(&self, id: &ConnectionId, p: &ProjectId) -> Result<(), StoreError> {
        self.0.unsubscribe(id, p).await
    }
    async fn subscribers(&self, _: &ProjectId) -> Result<Vec<SubscriptionRecord>, StoreError> {
        Err(StoreError::Unavailable("throttled".into()))
    }
    async fn subscription(
        &self,
        id: &ConnectionId,
        p: &ProjectId,
    ) -> Result<Option<SubscriptionRecord>, StoreError> {
        self.0.subscription(id, p).await
    }
    async fn mark_delivered(
        &self,
        id: &ConnectionId,
        p: &ProjectId,
        expected: Option<u64>,
        through: u64,
    ) -> Result<bool, StoreError> {
        self.0.mark_delivered(id, p, expected, through).await
    }
    async fn open_totals(
        &self,
        now: zts_domain::clock::Timestamp,
    ) -> Result<zts_domain::ports::OpenTotals, StoreError> {
        self.0.open_totals(now).await
    }
}

#[tokio::test]
async fn unreadable_subscribers_fail_that_record_and_every_later_one() {
    let store = Unreadable(EmbeddedStore::in_memory().unwrap());
    let pusher = RecordingPusher::default();
    let (response, _) = handle(&store, &store.0, &pusher).await;
    let failed: Vec<_> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone().unwrap())
        .collect();
    // The first EVENT record and everything after it, so Lambda retries from there in order.
    assert_eq!(
        failed,
        vec![
            "4421584500000000017450439091",
            "4421584600000000017450439092",
            "4421584700000000017450439093",
            "4421584800000000017450439094"
        ]
    );
    assert_eq!(pusher.total(), 0);
    let json = serde_json::to_value(&response).unwrap();
    assert_eq!(
        json["batchItemFailures"][0]["itemIdentifier"],
        "4421584500000000017450439091"
    );
}
