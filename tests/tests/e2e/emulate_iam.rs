//! Least privilege, derived from the code paths: under `zts emulate` every function's
//! DynamoDB calls pass an IAM gate that holds them to the template's policies (a call
//! without a grant is refused as AWS refuses it, so it fails every emulated test that
//! reaches it), and this test drives the paths a deployment takes — creating, replaying,
//! reading and listing projects, tickets, a WebSocket connect, subscribe, unsubscribe and
//! disconnect, a retried step, the run's end, its live pushes, a stale run the reconciler
//! restarts, a subscriber whose client vanished, a delete and the purge of a deleted
//! project — and then holds each
//! function's grants to what its code asked for: a grant no path needs fails.

use serde_json::Value;
use std::collections::BTreeSet;
use zts_domain::ports::{ConnectionStore, ProjectStore};
use zts_emulate::runtime::Fault;
use zts_tests::Http;

use super::emulate_path::{KEY, emulate, wait_for_the_end};

/// Grants whose calls this test's run does not make, each as (function, action, table,
/// the emulated test whose run makes it under the same gate).
const REACHED_ELSEWHERE: &[(&str, &str, &str, &str)] = &[(
    "ApiFunction",
    "dynamodb:UpdateItem",
    "projects",
    // A retry moves the project's items' TTL up before it claims the new run.
    "lifecycle::emulate_retries_a_failed_run_from_its_failed_step",
)];

/// The table (or `table/index`) an ARN names, without the stage prefix.
fn short(arn: &str, stage: &str) -> String {
    let name = arn.rsplit_once(":table/").map_or(arn, |(_, t)| t);
    name.trim_start_matches(&format!("zts-{stage}-"))
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_function_is_granted_exactly_the_dynamodb_actions_its_code_paths_use() {
    let Some(emulation) = emulate(&[]).await else {
        return;
    };
    let base = emulation.base_url.clone();
    let http = Http::with_key(&base, Some(KEY));
    emulation.functions["ValidatorFunction"].inject(
        1,
        Fault::Error {
            error_type: "ZeroToShip.Transient".into(),
            message: "injected".into(),
        },
    );
    let client = reqwest::Client::new();
    let create = |key: &'static str| {
        client
            .post(format!("{base}/api/v1/projects"))
            .header("x-api-key", KEY)
            .header("idempotency-key", key)
            .json(&zts_tests::idea("least privilege"))
            .send()
    };
    let first: Value = create("lp-1").await.unwrap().json().await.unwrap();
    let id = first["project_id"].as_str().unwrap().to_string();
    let replay: Value = create("lp-1").await.unwrap().json().await.unwrap();
    assert_eq!(replay["project_id"], first["project_id"]);
    let mut ws = http.watch().await;
    ws.subscribe(&id, 0).await;
    ws.until_terminal(&id).await;
    assert_eq!(wait_for_the_end(&base, &id).await.0, "COMPLETED");
    ws.send(serde_json::json!({"action": "unsubscribe", "project_id": id}))
        .await;
    ws.until(|m| m["event"] == "unsubscribed").await;
    drop(ws);
    for path in [
        format!("/api/v1/projects/{id}"),
        format!("/api/v1/projects/{id}/status"),
        format!("/api/v1/projects/{id}/events?after=0"),
        "/api/v1/projects?limit=1".to_string(),
        "/health/ready".to_string(),
    ] {
        let (status, body) = http.get(&path).await;
        assert_eq!(status, 200, "{path}: {body}");
    }
    // The $disconnect reaches the ws function after the socket closes.
    let ws_function = &emulation.functions["WsFunction"];
    for _ in 0..100 {
        if ws_function
            .stats
            .invocations
            .load(std::sync::atomic::Ordering::Relaxed)
            >= 4
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    // A project whose run never started, claimed 10 minutes ago: the reconciler's restart
    // path. It has a subscriber whose client vanished without a $disconnect (an old
    // connection API Gateway no longer knows): the broadcaster's gone-connection path.
    let stage = &emulation.stage;
    let moto = zts_tests::dynamodb::endpoint().unwrap();
    let store = zts_aws::DynamoStore::without_listing(
        zts_tests::dynamodb::client(&moto),
        zts_aws::Tables {
            projects: format!("zts-{stage}-projects"),
            connections: format!("zts-{stage}-connections"),
            api_keys: format!("zts-{stage}-apikeys"),
            retention: zts_domain::retention::Retention::default(),
        },
    );
    let long_ago = zts_domain::clock::now() - chrono::Duration::minutes(10);
    let stale = zts_conformance::new_project("acme", "stale", long_ago);
    let stale_id = stale.project_id.clone();
    store.create_project(stale).await.unwrap();
    let ghost = zts_domain::ConnectionId::generate();
    store
        .put_connection(zts_domain::ports::ConnectionRecord {
            connection_id: ghost.clone(),
            owner: zts_domain::Owner::parse("acme").unwrap(),
            endpoint:
                emulation.functions["WsFunction"].spec.environment["ZTS_WS_MANAGEMENT_ENDPOINT"]
                    .clone(),
            connected_at: long_ago,
            subscriptions: Vec::new(),
            ttl: zts_domain::clock::now().timestamp() + 3600,
        })
        .await
        .unwrap();
    // Subscribed without a delivery mark: its replay "is still being sent", so the
    // broadcaster reads the subscription again until the mark is set (below).
    store.subscribe(&ghost, &stale_id).await.unwrap();
    // A project deleted 10 minutes ago whose items are still there: the purge path.
    let gone = zts_conformance::new_project("acme", "gone", long_ago);
    let gone_id = gone.project_id.clone();
    store.create_project(gone).await.unwrap();
    for transition in [
        zts_domain::transition::Transition::Failed {
            error: zts_domain::ErrorInfo::new("ZeroToShip.Internal", "x"),
        },
        zts_domain::transition::Transition::Deleted,
    ] {
        let mut commit = zts_conformance::commit_in_run(&gone_id, 1, transition);
        commit.at = long_ago;
        store.commit_step(commit).await.unwrap();
    }
    let scheduled = serde_json::json!({
        "version": "0", "id": "lp-reconcile", "detail-type": "Scheduled Event",
        "source": "aws.events", "account": "123456789012",
        "time": "2026-12-04T00:00:00Z", "region": "us-east-1",
        "resources": [], "detail": {}
    });
    emulation.functions["ReconcilerFunction"]
        .invoke(&scheduled)
        .await
        .unwrap();
    let broadcaster = &emulation.iam["BroadcasterFunction"];
    let reread = (
        "dynamodb:GetItem".to_string(),
        format!("arn:aws:dynamodb:us-east-1:123456789012:table/zts-{stage}-projects"),
    );
    for _ in 0..100 {
        if broadcaster.calls().contains(&reread) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    store
        .mark_delivered(&ghost, &stale_id, None, 1)
        .await
        .unwrap();
    assert_eq!(
        wait_for_the_end(&base, stale_id.as_str()).await.0,
        "COMPLETED"
    );
    for _ in 0..200 {
        if store.subscribers(&stale_id).await.unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        store.subscribers(&stale_id).await.unwrap().is_empty(),
        "the ghost stayed"
    );
    assert_eq!(
        store.get_meta(&gone_id).await.unwrap(),
        None,
        "the reconciler's pass purged the deleted project"
    );
    // The owner deletes the first project: its text is erased by key.
    let deleted = reqwest::Client::new()
        .delete(format!("{base}/api/v1/projects/{id}"))
        .header("x-api-key", KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);

    let mut failures = Vec::new();
    for (function, gate) in &emulation.iam {
        assert!(
            gate.denied().is_empty(),
            "{function} was refused {:?}",
            gate.denied()
        );
        let called: BTreeSet<(String, String)> = gate
            .calls()
            .into_iter()
            .map(|(action, arn)| (action, short(&arn, stage)))
            .collect();
        let spec = &emulation.functions[function].spec;
        let granted: BTreeSet<(String, String)> = spec
            .dynamodb_grants
            .iter()
            .map(|(action, arn)| (action.clone(), short(arn, stage)))
            .collect();
        for grant in &granted {
            let (action, resource) = grant;
            let used = called.iter().any(|(a, r)| {
                a == action
                    && match resource.strip_suffix('*') {
                        Some(prefix) => r.starts_with(prefix),
                        None => r == resource,
                    }
            });
            let elsewhere = REACHED_ELSEWHERE
                .iter()
                .any(|(f, a, t, _)| f == function && a == action && t == resource);
            if !used && !elsewhere {
                failures.push(format!(
                    "{function} is granted {action} on {resource}, which no path used"
                ));
            }
        }
        println!("{function}: {called:?}");
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
