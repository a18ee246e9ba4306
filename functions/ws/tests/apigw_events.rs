//! The WebSocket function driven by API Gateway's own events (connect with the
//! authorizer's context, messages, disconnect), on the embedded store, with a recording
//! pusher standing in for PostToConnection.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failed expectation is a failed test"
)]

use aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;
use serde_json::{Value, json};
use zts_conformance::{RecordingPusher, UnavailableProjects, new_project};
use zts_domain::clock;
use zts_domain::ids::{ConnectionId, ProjectId};
use zts_domain::ports::{ConnectionStore, ProjectStore, PushError};
use zts_embedded::EmbeddedStore;

const ENDPOINT: &str = "https://abcdef1234.execute-api.us-east-1.amazonaws.com/prod";
const CONNECTION: &str = "Zx8xLfNfoAMCJ0w=";

fn event(fixture: &str, edit: impl FnOnce(&mut Value)) -> ApiGatewayWebsocketProxyRequest {
    let mut value: Value = serde_json::from_str(fixture).unwrap();
    edit(&mut value);
    serde_json::from_value(value).expect("a WebSocket proxy event")
}

fn connect_event() -> ApiGatewayWebsocketProxyRequest {
    event(include_str!("fixtures/connect.json"), |_| {})
}

fn message(body: Value) -> ApiGatewayWebsocketProxyRequest {
    event(include_str!("fixtures/message.json"), |e| {
        e["body"] = body.to_string().into()
    })
}

fn conn() -> ConnectionId {
    ConnectionId::parse(CONNECTION).unwrap()
}

async fn handle(
    store: &EmbeddedStore,
    pusher: &RecordingPusher,
    event: ApiGatewayWebsocketProxyRequest,
) -> i64 {
    ws::apigw::handle(store, store, pusher, ENDPOINT, event)
        .await
        .unwrap()
        .status_code
}

async fn project(store: &EmbeddedStore, owner: &str) -> ProjectId {
    let new = new_project(owner, "an idea", clock::now());
    let id = new.project_id.clone();
    store.create_project(new).await.unwrap();
    id
}

#[tokio::test]
async fn connect_records_the_authorized_owner_and_disconnect_removes_it() {
    let store = EmbeddedStore::in_memory().unwrap();
    let pusher = RecordingPusher::default();
    assert_eq!(handle(&store, &pusher, connect_event()).await, 200);
    let record = store.get_connection(&conn()).await.unwrap().unwrap();
    assert_eq!(record.owner.as_str(), "acme");
    assert_eq!(record.endpoint, ENDPOINT);
    assert!(record.subscriptions.is_empty());

    let disconnect = event(include_str!("fixtures/disconnect.json"), |_| {});
    assert_eq!(handle(&store, &pusher, disconnect).await, 200);
    assert!(store.get_connection(&conn()).await.unwrap().is_none());
    assert_eq!(
        pusher.total(),
        0,
        "API Gateway sends nothing on connect/disconnect"
    );
}

#[tokio::test]
async fn a_connect_without_the_authorizer_owner_is_refused_and_not_recorded() {
    let store = EmbeddedStore::in_memory().unwrap();
    let pusher = RecordingPusher::default();
    for owner in [json!(null), json!(""), json!("no#hash"), json!(7)] {
        let unauthorized = event(include_str!("fixtures/connect.json"), |e| {
            e["requestContext"]["authorizer"]["owner"] = owner.clone();
        });
        assert_eq!(handle(&store, &pusher, unauthorized).await, 401, "{owner}");
    }
    assert!(store.get_connection(&conn()).await.unwrap().is_none());
}

#[tokio::test]
async fn subscribe_replays_own_projects_and_hides_others() {
    let store = EmbeddedStore::in_memory().unwrap();
    let pusher = RecordingPusher::default();
    handle(&store, &pusher, connect_event()).await;
    let mine = project(&store, "acme").await;
    let theirs = project(&store, "globex").await;

    let subscribe =
        message(json!({"action": "subscribe", "project_id": mine.as_str(), "after_seq": 0}));
    assert_eq!(handle(&store, &pusher, subscribe).await, 200);
    let sent = pusher.sent_to(&conn());
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(sent[0]["seq"], 1);
    assert_eq!(sent[0]["event"], "status_update");
    assert_eq!(
        sent[1],
        json!({"event": "replay_complete", "project_id": mine.as_str(), "last_seq": 1})
    );
    let subs = store.subscribers(&mine).await.unwrap();
    assert_eq!(subs.len(), 1);
    assert_eq!(subs[0].connection_id, conn());
    assert_eq!(
        subs[0].delivered_through,
        Some(1),
        "after replay_complete the subscription's mark is the replay's last seq"
    );

    let other = message(json!({"action": "subscribe", "project_id": theirs.as_str()}));
    assert_eq!(handle(&store, &pusher, other).await, 200);
    let reply = pusher.sent_to(&conn()).pop().unwrap();
    assert_eq!(reply["event"], "error");
    assert_eq!(reply["error"]["code"], "not_found");
    assert!(store.subscribers(&theirs).await.unwrap().is_empty());
}

#[tokio::test]
async fn bad_messages_get_an_error_frame_and_a_200() {
    let store = EmbeddedStore::in_memory().unwrap();
    let pusher = RecordingPusher::default();
    handle(&store, &pusher, connect_event()).await;
    let cases = [
        ("not json", "malformed_json"),
        (r#"{"action":"drop_tables"}"#, "unknown_action"),
        (r#"{"project_id":"x"}"#, "invalid_message"),
    ];
    for (body, code) in cases {
        let bad = event(include_str!("fixtures/message.json"), |e| {
            e["body"] = body.into()
        });
        assert_eq!(handle(&store, &pusher, bad).await, 200);
        let reply = pusher.sent_to(&conn()).pop().unwrap();
        assert_eq!(reply["error"]["code"], code, "{body}");
    }
    // The connection still works.
    assert_eq!(
        handle(&store, &pusher, message(json!({"action": "ping"}))).await,
        200
    );
    assert_eq!(pusher.sent_to(&conn()).pop().unwrap()["event"], "pong");
}

#[tokio::test]
async fn a_client_gone_mid_reply_is_not_an_error_but_a_failing_push_is() {
    let store = EmbeddedStore::in_memory().unwrap();
    let pusher = RecordingPusher::default();
    handle(&store, &pusher, connect_event()).await;
    pusher.fail(&conn(), PushError::Gone);
    assert_eq!(
        handle(&store, &pusher, message(json!({"action": "ping"}))).await,
        200
    );
    pusher.fail(&conn(), PushError::Transient("throttled".into()));
    let failed = ws::apigw::handle(
        &store,
        &store,
        &pusher,
        ENDPOINT,
        message(json!({"action": "ping"})),
    )
    .await;
    let diagnostic = lambda_runtime::Diagnostic::from(failed.unwrap_err());
    assert_eq!(diagnostic.error_type, "ZeroToShip.Push");
}

#[tokio::test]
async fn a_subscribe_the_store_cannot_serve_is_answered_unavailable_and_nothing_is_recorded() {
    let store = EmbeddedStore::in_memory().unwrap();
    let pusher = RecordingPusher::default();
    handle(&store, &pusher, connect_event()).await;
    let pid = project(&store, "acme").await;
    // The connection is recorded; the projects table is down (throttled, timed out).
    let answered = ws::apigw::handle(
        &UnavailableProjects,
        &store,
        &pusher,
        ENDPOINT,
        message(json!({"action": "subscribe", "project_id": pid.as_str()})),
    )
    .await
    .unwrap();
    // Answered in the protocol, as the local gateway answers it, rather than a failed
    // invocation (which API Gateway turns into its own "Internal server error" frame).
    assert_eq!(answered.status_code, 200);
    let sent = pusher.sent_to(&conn());
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["event"], "error");
    assert_eq!(sent[0]["error"]["code"], "unavailable");
    assert!(
        sent[0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("send it again")
    );
    // Nothing was half done: no subscription, and the same subscribe works once the
    // store answers, from the first event.
    assert!(store.subscribers(&pid).await.unwrap().is_empty());
    assert_eq!(
        handle(
            &store,
            &pusher,
            message(json!({"action": "subscribe", "project_id": pid.as_str()}))
        )
        .await,
        200
    );
    let replayed = pusher.sent_to(&conn());
    assert_eq!(replayed[1]["seq"], 1);
    assert_eq!(replayed.last().unwrap()["event"], "replay_complete");
}

#[tokio::test]
async fn an_event_without_a_connection_id_is_a_400() {
    let store = EmbeddedStore::in_memory().unwrap();
    let pusher = RecordingPusher::default();
    let broken = event(include_str!("fixtures/connect.json"), |e| {
        e["requestContext"]["connectionId"] = Value::Null;
    });
    assert_eq!(handle(&store, &pusher, broken).await, 400);
}
