//! The api as Lambda runs it: API Gateway HTTP API (payload 2.0) events, turned into
//! requests by `lambda_http`, through the deployed router (`api::deploy::app`) configured
//! from an environment — on the embedded store.

use async_trait::async_trait;
use http_body_util::BodyExt;
use serde_json::Value;
use std::sync::{Arc, Mutex};
use tower::ServiceExt;
use zts_aws::deploy::{Env, vars};
use zts_domain::auth::{self, ApiKeyRecord, KeyStatus};
use zts_domain::ids::ConnectionId;
use zts_domain::ports::{
    EventPusher, KeyStore, PushError, StartOutcome, WorkflowError, WorkflowStart, WorkflowStarter,
};
use zts_embedded::EmbeddedStore;

const KEY: &str = "zts_apigw_fixture_key_0000000000000000000";
const WS_URL: &str = "wss://ws1234.execute-api.us-east-1.amazonaws.com/prod";

#[derive(Default)]
struct Started(Mutex<Vec<String>>);

#[async_trait]
impl WorkflowStarter for Started {
    async fn start(&self, s: &WorkflowStart) -> Result<StartOutcome, WorkflowError> {
        self.0.lock().unwrap().push(s.project_id.to_string());
        Ok(StartOutcome::Started)
    }
    async fn ready(&self) -> Result<(), WorkflowError> {
        Ok(())
    }
}

async fn app(store: &Arc<EmbeddedStore>, started: &Arc<Started>) -> axum::Router {
    store
        .put_key(ApiKeyRecord {
            key_hash: auth::hash(KEY),
            owner: zts_domain::Owner::parse("acme").unwrap(),
            status: KeyStatus::Active,
            limits: None,
            created_at: zts_domain::clock::now(),
            expires_at: None,
            revoked_at: None,
        })
        .await
        .unwrap();
    let api = api::Api {
        projects: store.clone(),
        workflow: started.clone(),
        keys: store.clone(),
        websocket: api::WebSocketUrls {
            connect: WS_URL.into(),
            per_project_paths: false,
        },
        pii: zts_domain::pii::PiiPolicy::default(),
        push: Arc::new(zts_conformance::RecordingPusher::default()),
        counts: Default::default(),
    };
    // The function's own configuration, from an environment shaped like template.yaml's.
    let env = Env::from_pairs(&[
        (vars::PROJECTS_TABLE, "zts-dev-projects"),
        (vars::CONNECTIONS_TABLE, "zts-dev-connections"),
        (vars::API_KEYS_TABLE, "zts-dev-apikeys"),
        (
            vars::STATE_MACHINE_ARN,
            "arn:aws:states:us-east-1:123456789012:stateMachine:zts-dev",
        ),
        (vars::WS_URL, WS_URL),
        (
            vars::WS_MANAGEMENT_ENDPOINT,
            "https://abc123.execute-api.us-east-1.amazonaws.com/dev",
        ),
        (
            vars::CURSOR_SECRET_ARN,
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:zts-dev-cursor-secret-AbCdEf",
        ),
        (
            vars::CORS_ORIGINS,
            "https://app.example.com, https://admin.example.com",
        ),
        (vars::RATE_BURST, "3"),
    ]);
    let config = api::config::Config::from_env(&env).unwrap();
    api::deploy::app(api, store.clone(), &config)
}

fn fixture(name: &str, edit: impl FnOnce(&mut Value)) -> lambda_http::Request {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let mut event: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    event["headers"]["x-api-key"] = KEY.into();
    edit(&mut event);
    lambda_http::request::from_str(&event.to_string()).expect("an HTTP API v2 event")
}

async fn call(
    app: &axum::Router,
    req: lambda_http::Request,
) -> (u16, axum::http::HeaderMap, Value) {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        headers,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn an_http_api_create_event_creates_and_starts_the_project() {
    let store = Arc::new(EmbeddedStore::in_memory().unwrap());
    let started = Arc::new(Started::default());
    let app = app(&store, &started).await;
    let (status, headers, body) = call(&app, fixture("http-create-project.json", |_| {})).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["state"], "CREATED");
    let id = body["project_id"].as_str().unwrap().to_string();
    assert_eq!(
        body["links"]["websocket"], WS_URL,
        "API Gateway has one WebSocket URL"
    );
    assert_eq!(*started.0.lock().unwrap(), vec![id.clone()]);
    assert!(headers.contains_key("strict-transport-security"));
    assert_eq!(
        headers["ratelimit-limit"], "3",
        "the default burst comes from the environment"
    );

    // The same Idempotency-Key and body: the same project, not a second one.
    let (again, _, replay) = call(&app, fixture("http-create-project.json", |_| {})).await;
    assert_eq!(
        (again, replay["project_id"].as_str()),
        (202, Some(id.as_str()))
    );

    let (status, _, list) = call(&app, fixture("http-list-projects.json", |_| {})).await;
    assert_eq!(status, 200);
    assert_eq!(list["projects"].as_array().unwrap().len(), 1, "{list}");
}

#[tokio::test]
async fn bad_http_api_events_get_the_error_shape_and_store_nothing() {
    let store = Arc::new(EmbeddedStore::in_memory().unwrap());
    let started = Arc::new(Started::default());
    let app = app(&store, &started).await;
    type Edit = Box<dyn FnOnce(&mut Value)>;
    let cases: Vec<(u16, &str, Edit)> = vec![
        (
            401,
            "unauthorized",
            Box::new(|e| e["headers"]["x-api-key"] = "zts_wrong".into()),
        ),
        (
            400,
            "malformed_json",
            Box::new(|e| e["body"] = "{\"name\":".into()),
        ),
        (
            415,
            "unsupported_media_type",
            Box::new(|e| e["headers"]["content-type"] = "text/plain".into()),
        ),
        (
            422,
            "validation_failed",
            Box::new(|e| {
                e["body"] =
                    r#"{"name":"","description":"x","hypothesis":"y","target_avatars":[]}"#.into()
            }),
        ),
    ];
    for (expected, code, edit) in cases {
        let (status, headers, body) = call(&app, fixture("http-create-project.json", edit)).await;
        assert_eq!(status, expected, "{body}");
        assert_eq!(body["error"]["code"], code, "{body}");
        assert!(body["request_id"].is_string());
        assert_eq!(headers["x-content-type-options"], "nosniff");
    }
    assert!(started.0.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_browser_preflight_from_an_allowed_origin_needs_no_key() {
    let store = Arc::new(EmbeddedStore::in_memory().unwrap());
    let app = app(&store, &Arc::new(Started::default())).await;
    let preflight = fixture("http-list-projects.json", |e| {
        e["requestContext"]["http"]["method"] = "OPTIONS".into();
        e["headers"].as_object_mut().unwrap().remove("x-api-key");
        e["headers"]["origin"] = "https://app.example.com".into();
        e["headers"]["access-control-request-method"] = "POST".into();
    });
    let (status, headers, _) = call(&app, preflight).await;
    assert!(status < 300, "{status}");
    assert_eq!(
        headers["access-control-allow-origin"],
        "https://app.example.com"
    );
}

#[tokio::test]
async fn on_lambda_a_request_without_ids_is_correlated_by_api_gateways_request_id() {
    let store = Arc::new(EmbeddedStore::in_memory().unwrap());
    let started = Arc::new(Started::default());
    let app = app(&store, &started).await;
    let (status, headers, body) = call(&app, fixture("http-create-project.json", |_| {})).await;
    assert_eq!(status, 202, "{body}");
    // The fixture's requestContext.requestId, as API Gateway sends it.
    assert_eq!(headers["x-correlation-id"], "Zx8xOGhPIAMFs4D=");
    assert_eq!(headers["x-request-id"], "Zx8xOGhPIAMFs4D=");
    let id = zts_domain::ProjectId::parse(body["project_id"].as_str().unwrap()).unwrap();
    let meta = zts_domain::ports::ProjectStore::get_meta(&*store, &id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(meta.correlation_id, "Zx8xOGhPIAMFs4D=");

    // A caller's own id wins; a hostile one is replaced by API Gateway's.
    let (_, headers, _) = call(
        &app,
        fixture("http-create-project.json", |e| {
            e["headers"]["x-correlation-id"] = "trace-77".into();
            e["headers"]["idempotency-key"] = "another-key".into();
        }),
    )
    .await;
    assert_eq!(headers["x-correlation-id"], "trace-77");
    let (_, headers, _) = call(
        &app,
        fixture("http-create-project.json", |e| {
            e["headers"]["x-correlation-id"] = "a".repeat(129).into();
            e["headers"]["idempotency-key"] = "a-third-key".into();
        }),
    )
    .await;
    assert_eq!(headers["x-correlation-id"], "Zx8xOGhPIAMFs4D=");
}

struct Down;

#[async_trait]
impl WorkflowStarter for Down {
    async fn start(&self, _: &WorkflowStart) -> Result<StartOutcome, WorkflowError> {
        Err(WorkflowError::Unavailable(
            "Step Functions is unreachable".into(),
        ))
    }
    async fn ready(&self) -> Result<(), WorkflowError> {
        Err(WorkflowError::Unavailable(
            "Step Functions is unreachable".into(),
        ))
    }
}

/// A push endpoint that refuses (a role without its grant, another stage).
struct Refusing;

#[async_trait]
impl EventPusher for Refusing {
    async fn push(&self, _: &ConnectionId, _: &str) -> Result<(), PushError> {
        Err(PushError::Failed("403".into()))
    }
    async fn ready(&self) -> Result<(), PushError> {
        Err(PushError::Failed(
            "the management endpoint answered 403 (ForbiddenException: Forbidden)".into(),
        ))
    }
}

/// Readiness counts projects per state at most every `COUNTS_MAX_AGE`: a probe polled
/// often does not scan the state index each time.
#[tokio::test]
async fn readiness_counts_projects_at_most_once_per_interval() {
    use zts_domain::ports::ProjectStore as _;
    let store = Arc::new(EmbeddedStore::in_memory().unwrap());
    let started = Arc::new(Started::default());
    let app = app(&store, &started).await;
    let ready = || async {
        let req = axum::http::Request::get("/health/ready")
            .body(axum::body::Body::empty())
            .unwrap();
        let res = app.clone().oneshot(req).await.unwrap();
        let body: Value =
            serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap();
        body["projects"]["CREATED"].as_u64().unwrap_or(0)
    };
    assert_eq!(ready().await, 0);
    let new = zts_conformance::new_project("acme", "counted later", zts_domain::clock::now());
    store.create_project(new).await.unwrap();
    assert_eq!(
        ready().await,
        0,
        "counted again within {:?}",
        api::COUNTS_MAX_AGE
    );
}

#[tokio::test]
async fn readiness_names_a_push_endpoint_that_refuses() {
    let store = Arc::new(EmbeddedStore::in_memory().unwrap());
    let app = api::with_envelope(
        api::router(api::Api {
            projects: store.clone(),
            workflow: Arc::new(Started::default()),
            keys: store.clone(),
            websocket: api::WebSocketUrls {
                connect: WS_URL.into(),
                per_project_paths: false,
            },
            pii: zts_domain::pii::PiiPolicy::default(),
            push: Arc::new(Refusing),
            counts: Default::default(),
        }),
        &api::HttpConfig::default(),
    );
    let req = axum::http::Request::get("/health/ready")
        .body(axum::body::Body::empty())
        .unwrap();
    let res = app.oneshot(req).await.unwrap();
    assert_eq!(res.status(), 503);
    let body: Value =
        serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(body["checks"]["store"]["status"], "ok");
    assert_eq!(body["checks"]["workflow"]["status"], "ok");
    assert!(
        body["checks"]["push"]["status"]
            .as_str()
            .unwrap()
            .contains("ForbiddenException"),
        "{body}"
    );
}

#[tokio::test]
async fn readiness_names_a_dependency_that_is_down_while_liveness_stays_up() {
    let store = Arc::new(EmbeddedStore::in_memory().unwrap());
    let app = api::with_envelope(
        api::router(api::Api {
            projects: store.clone(),
            workflow: Arc::new(Down),
            keys: store.clone(),
            websocket: api::WebSocketUrls {
                connect: WS_URL.into(),
                per_project_paths: false,
            },
            pii: zts_domain::pii::PiiPolicy::default(),
            push: Arc::new(zts_conformance::RecordingPusher::default()),
            counts: Default::default(),
        }),
        &api::HttpConfig::default(),
    );
    let get = |path: &str| {
        axum::http::Request::get(path)
            .body(axum::body::Body::empty())
            .unwrap()
    };
    let res = app.clone().oneshot(get("/health/ready")).await.unwrap();
    assert_eq!(res.status(), 503);
    let body: Value =
        serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(body["status"], "unavailable");
    assert_eq!(body["checks"]["store"]["status"], "ok");
    assert!(
        body["checks"]["workflow"]["status"]
            .as_str()
            .unwrap()
            .contains("Step Functions is unreachable"),
        "{body}"
    );
    assert!(body["checks"]["workflow"]["latency_ms"].as_f64().unwrap() >= 0.0);
    assert!(body.get("projects").is_none(), "no counts when not ready");
    let live = app.oneshot(get("/health")).await.unwrap();
    assert_eq!(live.status(), 200);
}

#[tokio::test]
async fn a_ticket_sent_to_the_http_api_is_an_ordinary_401_and_is_not_spent() {
    // On AWS `GET /ws?ticket=…` reaches this function through `ANY /{proxy+}`; redeeming
    // the ticket here would need a DeleteItem its role does not have (a 500 anyone could
    // cause) and would let tickets authenticate HTTP calls.
    let store = Arc::new(EmbeddedStore::in_memory().unwrap());
    let started = Arc::new(Started::default());
    let app = app(&store, &started).await;
    let (status, _, ticket) = call(
        &app,
        fixture("http-list-projects.json", |e| {
            e["routeKey"] = "POST /api/v1/ws-tickets".into();
            e["rawPath"] = "/api/v1/ws-tickets".into();
            e["rawQueryString"] = "".into();
            e["requestContext"]["http"]["method"] = "POST".into();
            e["requestContext"]["http"]["path"] = "/api/v1/ws-tickets".into();
            e.as_object_mut().unwrap().remove("queryStringParameters");
        }),
    )
    .await;
    assert_eq!(status, 201, "{ticket}");
    let ticket = ticket["ticket"].as_str().unwrap().to_string();
    for path in ["/ws", "/ws/projects/0192f0c1-0000-7000-8000-000000000000"] {
        let (status, _, body) = call(
            &app,
            fixture("http-list-projects.json", |e| {
                e["routeKey"] = "ANY /{proxy+}".into();
                e["rawPath"] = path.into();
                e["rawQueryString"] = format!("ticket={ticket}").into();
                e["requestContext"]["http"]["path"] = path.into();
                e["queryStringParameters"] = serde_json::json!({"ticket": ticket});
                e["headers"].as_object_mut().unwrap().remove("x-api-key");
            }),
        )
        .await;
        assert_eq!(status, 401, "{path}: {body}");
        assert_eq!(body["error"]["code"], "unauthorized");
    }
    // Still unspent: the WebSocket API's authorizer can redeem it once.
    let owner = zts_domain::auth::redeem_ticket(&*store, &ticket, zts_domain::clock::now())
        .await
        .unwrap();
    assert_eq!(owner.map(|o| o.to_string()), Some("acme".to_string()));
}
