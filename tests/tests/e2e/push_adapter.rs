//! The API Gateway Management push adapter, end to end against the local gateway's
//! `/@connections` endpoint with real WebSocket clients: what PostToConnection sends
//! arrives in order; through the broadcaster, a gone connection is deleted and a young
//! one kept. Against a loopback endpoint that misbehaves on purpose: throttling and 5xx
//! are retried with back-off, a 403 is not.

use axum::http::StatusCode;
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use zts_aws::{ApiGatewayPusher, PushRetry};
use zts_domain::clock;
use zts_domain::events::{Event, EventBody};
use zts_domain::ids::{ConnectionId, Owner, ProjectId};
use zts_domain::ports::{ConnectionRecord, ConnectionStore, EventPusher, PushError};
use zts_domain::project::State;
use zts_tests::{Http, Ws, idea, offline_sdk_config, stack};

fn fast_retry() -> PushRetry {
    PushRetry {
        max_attempts: 4,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
    }
}

/// A connected, subscribed client and its connection id.
async fn client(stack: &zts::RunningStack, project: &str) -> (Ws, ConnectionId) {
    let before =
        zts_tests::subscriber_ids(&*stack.connections, &ProjectId::parse(project).unwrap()).await;
    let mut ws = Ws::connect(&format!("{}/ws/projects/{project}", stack.ws_url())).await;
    ws.until(|m| m["event"] == "replay_complete").await;
    let after =
        zts_tests::subscriber_ids(&*stack.connections, &ProjectId::parse(project).unwrap()).await;
    let id = after.into_iter().find(|c| !before.contains(c)).unwrap();
    (ws, id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_to_connection_delivers_in_order_to_real_clients() {
    let stack = stack().await;
    let http = Http::new(&stack);
    let project = http.create(&idea("pushed")).await;
    http.wait_terminal(&project).await;
    let (mut a, a_id) = client(&stack, &project).await;
    let (mut b, b_id) = client(&stack, &project).await;
    a.stop_recording();
    b.stop_recording();
    let pusher = ApiGatewayPusher::new(&offline_sdk_config(), &http.base, fast_retry());
    for n in 0..40 {
        pusher
            .push(&a_id, &json!({"n": n}).to_string())
            .await
            .unwrap();
    }
    pusher.push(&b_id, r#"{"only":"b"}"#).await.unwrap();
    let got = a.until(|m| m["n"] == 39).await;
    let ns: Vec<u64> = got.iter().filter_map(|m| m["n"].as_u64()).collect();
    assert_eq!(ns, (0..40).collect::<Vec<_>>());
    assert_eq!(
        b.until(|m| m["only"].is_string()).await.last().unwrap()["only"],
        "b"
    );

    let nobody = ConnectionId::parse("nobody=").unwrap();
    assert_eq!(pusher.push(&nobody, "{}").await, Err(PushError::Gone));
    stack.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_broadcaster_deletes_old_gone_connections_and_keeps_young_ones() {
    let stack = stack().await;
    let http = Http::new(&stack);
    let id = http.create(&idea("gone")).await;
    http.wait_terminal(&id).await;
    let project = ProjectId::parse(&id).unwrap();
    let (mut live, live_id) = client(&stack, &id).await;
    // Records whose sockets the gateway does not have: one left behind long ago (its
    // $disconnect never ran), one whose $connect has not returned yet.
    let mut stale = Vec::new();
    for (name, age) in [("old=", 600), ("young=", 1)] {
        let conn = ConnectionId::parse(name).unwrap();
        stack
            .connections
            .put_connection(ConnectionRecord {
                connection_id: conn.clone(),
                owner: Owner::parse("local").unwrap(),
                endpoint: http.base.clone(),
                connected_at: clock::now() - chrono::Duration::seconds(age),
                subscriptions: vec![],
                ttl: clock::now().timestamp() + 3600,
            })
            .await
            .unwrap();
        stack.connections.subscribe(&conn, &project).await.unwrap();
        stale.push(conn);
    }
    let pusher = ApiGatewayPusher::new(&offline_sdk_config(), &http.base, fast_retry());
    let event = Event {
        body: EventBody::StatusUpdate {
            state: State::Completed,
            progress: 100,
            current_step: None,
            error: None,
            workflow: None,
        },
        project_id: project.clone(),
        seq: 7, // the next after the six of a completed run (the local gateway orders by seq)
        ts: clock::now(),
        correlation_id: "push-test".into(),
    };
    // Through the local gateway, which orders by itself (its sequencer).
    let delivery = broadcaster::broadcast(
        &*stack.connections,
        &*stack.store,
        &pusher,
        &event,
        broadcaster::Ordering::ByGateway,
    )
    .await
    .unwrap();
    assert_eq!(
        (delivery.delivered, delivery.removed, delivery.failed),
        (1, 1, 1)
    );
    let got = live.until(|m| m["seq"] == 7).await;
    assert_eq!(got.last().unwrap()["event"], "status_update");
    assert!(
        stack
            .connections
            .get_connection(&stale[0])
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        stack
            .connections
            .get_connection(&stale[1])
            .await
            .unwrap()
            .is_some()
    );
    let left = zts_tests::subscriber_ids(&*stack.connections, &project).await;
    assert!(left.contains(&live_id) && left.contains(&stale[1]) && !left.contains(&stale[0]));
    stack.shutdown().await;
}

/// A management endpoint that answers from a script, counting calls.
async fn scripted(answers: Vec<(u16, &'static str)>) -> (String, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let script = Arc::new(answers);
    let app = axum::Router::new().route(
        "/@connections/{id}",
        axum::routing::post({
            let calls = calls.clone();
            move || {
                let n = calls.fetch_add(1, Ordering::SeqCst);
                let (status, kind) = script[n.min(script.len() - 1)];
                async move {
                    let mut res = axum::response::IntoResponse::into_response((
                        StatusCode::from_u16(status).unwrap(),
                        axum::Json(json!({"message": kind})),
                    ));
                    if !kind.is_empty() {
                        res.headers_mut()
                            .insert("x-amzn-errortype", kind.parse().unwrap());
                    }
                    res
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, calls)
}

#[tokio::test]
async fn throttling_and_server_errors_are_retried_a_refusal_is_not() {
    let conn = ConnectionId::parse("abc=").unwrap();
    type Case = (Vec<(u16, &'static str)>, Result<(), &'static str>, usize);
    let cases: Vec<Case> = vec![
        // Throttled twice, then accepted.
        (
            vec![
                (429, "LimitExceededException"),
                (429, "LimitExceededException"),
                (200, ""),
            ],
            Ok(()),
            3,
        ),
        (vec![(503, "ServiceUnavailable"), (200, "")], Ok(()), 2),
        // Always failing: four attempts, then transient.
        (
            vec![(500, "InternalServerErrorException")],
            Err("transient"),
            4,
        ),
        (vec![(403, "ForbiddenException")], Err("failed"), 1),
        (vec![(410, "GoneException")], Err("gone"), 1),
    ];
    for (script, expected, attempts) in cases {
        let (url, calls) = scripted(script.clone()).await;
        let pusher = ApiGatewayPusher::new(&offline_sdk_config(), &url, fast_retry());
        let got = pusher.push(&conn, "{}").await;
        let kind = got.as_ref().map(|_| ()).map_err(|e| match e {
            PushError::Gone => "gone",
            PushError::Transient(_) => "transient",
            PushError::Failed(_) => "failed",
        });
        assert_eq!(kind, expected, "{script:?}: {got:?}");
        assert_eq!(calls.load(Ordering::SeqCst), attempts, "{script:?}");
    }
}

/// A loopback Management API whose GetConnection always answers `status` (`kind` as its
/// error type).
async fn answering_get(status: u16, kind: &'static str) -> String {
    let app = axum::Router::new().route(
        "/@connections/{id}",
        axum::routing::get(move || async move {
            let mut res = axum::response::IntoResponse::into_response((
                StatusCode::from_u16(status).unwrap(),
                axum::Json(json!({"message": kind})),
            ));
            if !kind.is_empty() {
                res.headers_mut()
                    .insert("x-amzn-errortype", kind.parse().unwrap());
            }
            res
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

/// Readiness (`GET /health/ready`'s push check) is one GetConnection of a connection that
/// does not exist: the local gateway's 410 is ready, so are 400 and 200; a refusal (403:
/// no grant, another API or stage), a server error or no answer at all is not, and says
/// what it got.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_asks_the_endpoint_about_a_connection_that_does_not_exist() {
    let stack = stack().await;
    let http = Http::new(&stack);
    let local = ApiGatewayPusher::new(&offline_sdk_config(), &http.base, fast_retry());
    local.ready().await.unwrap();
    for (status, kind, ready) in [
        (410, "GoneException", true),
        (400, "BadRequestException", true),
        (403, "ForbiddenException", false),
        (500, "InternalServerErrorException", false),
    ] {
        let url = answering_get(status, kind).await;
        let pusher = ApiGatewayPusher::new(&offline_sdk_config(), &url, fast_retry());
        match pusher.ready().await {
            Ok(()) => assert!(ready, "{status} answered ready"),
            Err(e) => {
                assert!(!ready, "{status} answered not ready: {e}");
                assert!(e.to_string().contains(&status.to_string()), "{e}");
            }
        }
    }
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let nobody = ApiGatewayPusher::new(&offline_sdk_config(), &closed, fast_retry());
    let err = nobody.ready().await.unwrap_err();
    assert!(err.to_string().contains("did not answer"), "{err}");
}
