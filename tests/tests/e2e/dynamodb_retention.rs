//! Retention on DynamoDB (moto on loopback, tables from template.yaml): the table's TTL
//! attribute is the one the code writes, every item of a project carries a TTL no
//! earlier than the project's `retain_until` (so TTL never deletes a project a reader
//! may still see), in epoch seconds as TTL requires, a retry moves the items' TTL past
//! the new run's end, and a deployment that keeps projects forever writes none.

use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;
use zts_aws::{DynamoStore, TTL_ATTRIBUTE};
use zts_conformance::{commit, new_project, owner, started, succeeded};
use zts_domain::clock::{self, Duration};
use zts_domain::lifecycle::retry_project;
use zts_domain::ports::ProjectStore;
use zts_domain::project::StepName;
use zts_domain::retention::{RUN_SPAN_MAX_SECS, Retention};
use zts_domain::transition::Transition;
use zts_domain::{ErrorInfo, ProjectId};

type Item = HashMap<String, AttributeValue>;

/// Every item of the project's partition, but its subscriptions (their TTL is their
/// connection's).
async fn items_of(store: &DynamoStore, id: &ProjectId) -> Vec<Item> {
    let out = store
        .client()
        .query()
        .table_name(&store.tables().projects)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", AttributeValue::S(format!("PROJECT#{id}")))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    out.items
        .unwrap_or_default()
        .into_iter()
        .filter(|i| !i["sk"].as_s().unwrap().starts_with("SUB#"))
        .collect()
}

fn ttl_of(item: &Item) -> Option<i64> {
    item.get(TTL_ATTRIBUTE)
        .map(|v| v.as_n().expect("TTL must be a Number").parse().unwrap())
}

#[tokio::test]
async fn the_tables_ttl_attribute_is_the_one_the_code_writes() {
    let Some(store) = zts_tests::dynamodb::store().await else {
        return;
    };
    let ttl = store
        .client()
        .describe_time_to_live()
        .table_name(&store.tables().projects)
        .send()
        .await
        .unwrap()
        .time_to_live_description
        .unwrap();
    assert_eq!(ttl.attribute_name.as_deref(), Some(TTL_ATTRIBUTE));
    assert_eq!(
        ttl.time_to_live_status.map(|s| s.as_str().to_string()),
        Some("ENABLED".to_string())
    );
}

#[tokio::test]
async fn every_item_of_an_ended_project_outlives_its_retain_until() {
    let Some(store) = zts_tests::dynamodb::store().await else {
        return;
    };
    let created = clock::now() - Duration::days(10);
    let new = new_project("alice", "ttl on every item", created);
    let id = new.project_id.clone();
    store.create_project(new).await.unwrap();
    let running = items_of(&store, &id).await;
    assert_eq!(running.len(), 3, "META, INPUT, EVENT#1");
    for t in [
        started(StepName::Validator, 1),
        succeeded(StepName::Validator, 1),
        started(StepName::Advisory, 1),
        succeeded(StepName::Advisory, 1),
        Transition::Completed,
    ] {
        let mut c = commit(&id, t);
        c.at = created + Duration::minutes(2);
        store.commit_step(c).await.unwrap();
    }
    let meta = store.get_meta(&id).await.unwrap().unwrap();
    let until = meta
        .retain_until
        .expect("an ended project has retain_until")
        .timestamp();
    assert_eq!(until, (meta.updated_at + Duration::days(90)).timestamp());
    let items = items_of(&store, &id).await;
    // META, INPUT and the six events (no record of a commit is kept beside META).
    assert!(items.len() >= 8, "the events too: {}", items.len());
    for item in &items {
        let sk = item["sk"].as_s().unwrap();
        let ttl = ttl_of(item).unwrap_or_else(|| panic!("{sk} has no TTL"));
        assert!(ttl >= until, "{sk} would expire before retain_until");
        assert!(
            ttl <= until + RUN_SPAN_MAX_SECS,
            "{sk} outlives retain_until by more than a run's span"
        );
    }
    // Epoch seconds, as TTL reads them: a value in milliseconds would read as tens of
    // thousands of years ahead, and TTL would never delete the item.
    let now = clock::now().timestamp();
    assert!(ttl_of(&items[0]).unwrap() < now + 5 * 365 * 86_400);
}

#[tokio::test]
async fn a_retry_moves_every_items_ttl_past_the_new_runs_end() {
    let Some(store) = zts_tests::dynamodb::store().await else {
        return;
    };
    let long_ago = clock::now() - Duration::days(60);
    let new = new_project("alice", "retried after two months", long_ago);
    let id = new.project_id.clone();
    store.create_project(new).await.unwrap();
    let mut fail = commit(
        &id,
        Transition::Failed {
            error: ErrorInfo::new("ZeroToShip.Transient", "down"),
        },
    );
    fail.at = long_ago;
    store.commit_step(fail).await.unwrap();
    let before = items_of(&store, &id).await;
    let old = Retention::default().item_ttl(long_ago).unwrap();
    assert!(before.iter().all(|i| ttl_of(i) == Some(old)));

    let now = clock::now();
    retry_project(
        &store,
        &zts_conformance::ExpressLikeStarter::default(),
        &owner("alice"),
        &id,
        None,
        now,
    )
    .await
    .unwrap();
    let fresh = Retention::default().item_ttl(now).unwrap();
    let after = items_of(&store, &id).await;
    assert!(after.len() > before.len(), "the retry wrote its own items");
    for item in &after {
        let sk = item["sk"].as_s().unwrap();
        assert!(
            ttl_of(item).is_some_and(|t| t >= fresh),
            "{sk} keeps the old TTL {:?} (< {fresh})",
            ttl_of(item)
        );
    }
}

#[tokio::test]
async fn keeping_forever_writes_no_ttl_and_no_end_date() {
    let Some(store) = zts_tests::dynamodb::store().await else {
        return;
    };
    let store = store.with_retention(Retention::FOREVER);
    let new = new_project("alice", "kept forever", clock::now());
    let id = new.project_id.clone();
    store.create_project(new).await.unwrap();
    store
        .commit_step(commit(
            &id,
            Transition::Failed {
                error: ErrorInfo::new("ZeroToShip.Transient", "down"),
            },
        ))
        .await
        .unwrap();
    assert_eq!(
        store.get_meta(&id).await.unwrap().unwrap().retain_until,
        None
    );
    for item in items_of(&store, &id).await {
        assert_eq!(ttl_of(&item), None, "{:?} has a TTL", item["sk"]);
    }
}
