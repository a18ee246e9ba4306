//! Property tests on hostile input: whatever the create body, the api answers below 500
//! in the error shape and stores nothing from a rejected request; whatever a WebSocket
//! client sends, the ws handler answers with JSON and subscribes to nothing it should not.

use async_trait::async_trait;
use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use proptest::prelude::*;
use serde_json::Value;
use std::sync::{Arc, Mutex};
use tower::ServiceExt;
use zts_domain::auth::{self, ApiKeyRecord, KeyStatus, Limits};
use zts_domain::ids::ConnectionId;
use zts_domain::ports::{
    ConnectionStore, EventPusher, KeyStore, PageRequest, ProjectStore, PushError, StartOutcome,
    WorkflowError, WorkflowStart, WorkflowStarter,
};
use zts_embedded::EmbeddedStore;

const KEY: &str = "zts_property_test_key_00000000000000000";

struct NoWorkflow;

#[async_trait]
impl WorkflowStarter for NoWorkflow {
    async fn start(&self, _: &WorkflowStart) -> Result<StartOutcome, WorkflowError> {
        Ok(StartOutcome::Started)
    }
    async fn ready(&self) -> Result<(), WorkflowError> {
        Ok(())
    }
}

struct World {
    rt: tokio::runtime::Runtime,
    store: Arc<EmbeddedStore>,
    app: axum::Router,
}

fn world() -> World {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let store = Arc::new(EmbeddedStore::in_memory().unwrap());
    rt.block_on(store.put_key(ApiKeyRecord {
        key_hash: auth::hash(KEY),
        owner: zts_domain::Owner::parse("prop").unwrap(),
        status: KeyStatus::Active,
        limits: Some(Limits {
            rate: 1_000_000.0,
            burst: 1_000_000,
        }),
        created_at: zts_domain::clock::now(),
        expires_at: None,
        revoked_at: None,
    }))
    .unwrap();
    let router = api::router(api::Api {
        projects: store.clone(),
        workflow: Arc::new(NoWorkflow),
        keys: store.clone(),
        websocket: api::WebSocketUrls {
            connect: "ws://test/ws".into(),
            per_project_paths: true,
        },
        pii: zts_domain::pii::PiiPolicy::default(),
        push: Arc::new(zts_conformance::RecordingPusher::default()),
        counts: Default::default(),
    });
    let router = api::with_auth(
        router,
        api::Auth {
            keys: store.clone(),
            default_limits: Limits::DEFAULT,
            websocket_tickets: true,
        },
    );
    let app = api::with_envelope(router, &api::HttpConfig::default());
    World { rt, store, app }
}

fn projects(w: &World) -> usize {
    let owner = zts_domain::Owner::parse("prop").unwrap();
    w.rt.block_on(w.store.list_projects(
        &owner,
        PageRequest {
            limit: 100,
            cursor: None,
        },
    ))
    .unwrap()
    .items
    .len()
}

fn post(w: &World, content_type: &str, body: Vec<u8>) -> (u16, Value) {
    let req = Request::post("/api/v1/projects")
        .header("x-api-key", KEY)
        .header("content-type", content_type)
        .body(Body::from(body))
        .unwrap();
    w.rt.block_on(async {
        let res = w.app.clone().oneshot(req).await.unwrap();
        let status = res.status().as_u16();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    })
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        "\\PC{0,200}".prop_map(Value::String),
        Just(Value::String("x".repeat(6_000))),
    ];
    leaf.prop_recursive(3, 40, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..12).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("name".to_string()),
                    Just("description".to_string()),
                    Just("hypothesis".to_string()),
                    Just("target_avatars".to_string()),
                    "[a-z_]{1,12}".prop_map(|s| s)
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn check_answer(status: u16, body: &Value) -> Result<(), TestCaseError> {
    prop_assert!(status < 500, "status {} for {}", status, body);
    if status == 202 {
        prop_assert!(body["project_id"].is_string());
    } else {
        prop_assert!(
            body["error"]["code"].is_string(),
            "not the error shape: {}",
            body
        );
        prop_assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
        prop_assert!(body["request_id"].is_string());
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn any_json_body_gets_a_clean_answer_and_rejections_store_nothing(body in json_value()) {
        let w = world();
        let (status, answer) = post(&w, "application/json", body.to_string().into_bytes());
        check_answer(status, &answer)?;
        prop_assert_eq!(projects(&w), usize::from(status == 202));
    }

    #[test]
    fn any_bytes_and_content_type_get_a_clean_answer(bytes in prop::collection::vec(any::<u8>(), 0..2_000), ct in prop_oneof![Just("application/json"), Just("text/plain"), Just("application/x-www-form-urlencoded"), Just(""), Just("application/json; charset=utf-8")]) {
        let w = world();
        let (status, answer) = post(&w, ct, bytes);
        check_answer(status, &answer)?;
        prop_assert_eq!(projects(&w), usize::from(status == 202));
    }
}

#[derive(Default)]
struct Recorder(Mutex<Vec<String>>);

#[async_trait]
impl EventPusher for Recorder {
    async fn push(&self, _: &ConnectionId, message: &str) -> Result<(), PushError> {
        self.0.lock().unwrap().push(message.to_string());
        Ok(())
    }
}

fn ws_message() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,300}",
        json_value().prop_map(|v| v.to_string()),
        (
            "(subscribe|unsubscribe|ping|SUBSCRIBE|drop)",
            "\\PC{0,40}",
            any::<i64>()
        )
            .prop_map(|(a, p, n)| {
                serde_json::json!({"action": a, "project_id": p, "after_seq": n}).to_string()
            }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn any_websocket_message_gets_json_back_and_no_foreign_subscription(text in ws_message()) {
        let w = world();
        let id = ConnectionId::generate();
        let pusher = Recorder::default();
        let outcome = w.rt.block_on(async {
            ws::connect(&*w.store, &id, &zts_domain::Owner::parse("prop").unwrap(), "local").await.unwrap();
            ws::on_message(&*w.store, &*w.store, &pusher, &id, &text).await
        });
        prop_assert!(outcome.is_ok(), "{:?}", outcome);
        let sent = pusher.0.lock().unwrap().clone();
        prop_assert!(!sent.is_empty(), "no answer to {:?}", text);
        for m in &sent {
            prop_assert!(serde_json::from_str::<Value>(m).is_ok(), "not JSON: {}", m);
        }
        // No project exists, so no message may leave a subscription behind.
        let record = w.rt.block_on(w.store.get_connection(&id)).unwrap().unwrap();
        prop_assert!(record.subscriptions.is_empty(), "{:?}", record.subscriptions);
    }
}
