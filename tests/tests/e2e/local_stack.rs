//! The local stack end to end: real HTTP and WebSocket clients against a stack on an
//! ephemeral port, running the real statemachine.asl.json.

use serde_json::{Value, json};
use std::time::Duration;
use zts::faults::{Fault, FaultRule};
use zts_domain::ports::ConnectionStore;
use zts_domain::project::StepName;
use zts_tests::*;

fn kinds(messages: &[Value]) -> Vec<String> {
    messages
        .iter()
        .filter(|m| m["seq"].is_u64())
        .map(|m| match m["event"].as_str().unwrap() {
            "status_update" => format!("status:{}:{}", m["state"].as_str().unwrap(), m["progress"]),
            "step_complete" => format!("done:{}:{}", m["agent"].as_str().unwrap(), m["progress"]),
            "step_failed" => format!("failed:{}:{}", m["agent"].as_str().unwrap(), m["retryable"]),
            other => other.to_string(),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_happy_path_emits_exactly_the_six_events_and_both_artifacts() {
    let stack = stack().await;
    let http = Http::new(&stack);
    let id = http.create(&idea("receipts")).await;
    let mut ws = Ws::connect(&format!("{}/ws/projects/{id}", stack.ws_url())).await;
    let messages = ws.until_terminal(&id).await;
    assert_eq!(
        kinds(&messages),
        vec![
            "status:CREATED:0",
            "status:IDEA_VALIDATION:10",
            "done:validator:50",
            "status:ADVISORY:60",
            "done:advisory:90",
            "status:COMPLETED:100"
        ]
    );
    assert_eq!(seqs_of(&messages, &id), vec![1, 2, 3, 4, 5, 6]);
    for m in messages.iter().filter(|m| m["seq"].is_u64()) {
        assert_eq!(m["project_id"], id.as_str());
        assert!(
            m["ts"].is_string() && m["correlation_id"].is_string(),
            "{m}"
        );
        assert!(m.to_string().len() < 4096);
    }
    let (status, project) = http.get(&format!("/api/v1/projects/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(project["state"], "COMPLETED");
    assert_eq!(
        project["artifacts"]["validator"]["artifact_type"],
        "validation_report"
    );
    assert_eq!(
        project["artifacts"]["advisory"]["artifact_type"],
        "advisory_plan"
    );
    assert!(project["artifacts"]["validator"]["content"]["overall_score"].is_u64());
    assert_eq!(project["run_history"]["validator"]["attempts"], 1);
    assert_eq!(project["run_history"]["advisory"]["status"], "succeeded");
    let (_, status) = http.get(&format!("/api/v1/projects/{id}/status")).await;
    assert_eq!(
        (status["state"].as_str(), status["progress"].as_u64()),
        (Some("COMPLETED"), Some(100))
    );
    let (_, events) = http
        .get(&format!("/api/v1/projects/{id}/events?after=4"))
        .await;
    assert_eq!(
        seqs_of(events["events"].as_array().unwrap(), &id),
        vec![5, 6]
    );
    assert_eq!(events["last_seq"], 6);
    stack.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribers_get_everything_late_ones_replay_and_reconnects_resume() {
    let stack = stack_with(
        vec![FaultRule {
            step: StepName::Advisory,
            name_contains: "slow".into(),
            fault: Fault::Delay(Duration::from_millis(400)),
        }],
        1_024,
    )
    .await;
    let http = Http::new(&stack);
    let id = http.create(&idea("slow run")).await;
    // Two live subscribers on the same project.
    let mut a = Ws::connect(&format!("{}/ws/projects/{id}", stack.ws_url())).await;
    let mut b = Ws::connect(&format!("{}/ws", stack.ws_url())).await;
    b.subscribe(&id, 0).await;
    let from_a = a.until_terminal(&id).await;
    let from_b = b.until_terminal(&id).await;
    assert_eq!(seqs_of(&from_a, &id), vec![1, 2, 3, 4, 5, 6]);
    assert_eq!(seqs_of(&from_b, &id), vec![1, 2, 3, 4, 5, 6]);
    let complete = from_b
        .iter()
        .find(|m| m["event"] == "replay_complete")
        .expect("replay_complete");
    assert_eq!(complete["project_id"], id.as_str());

    // A late subscriber: the replay, then replay_complete with the last seq.
    let mut late = Ws::connect(&format!("{}/ws", stack.ws_url())).await;
    late.subscribe(&id, 0).await;
    let replay = late.until(|m| m["event"] == "replay_complete").await;
    assert_eq!(seqs_of(&replay, &id), vec![1, 2, 3, 4, 5, 6]);
    assert_eq!(replay.last().unwrap()["last_seq"], 6);

    // A reconnect with after_seq gets only what it missed.
    let mut again = Ws::connect(&format!("{}/ws", stack.ws_url())).await;
    again.subscribe(&id, 4).await;
    let missed = again.until(|m| m["event"] == "replay_complete").await;
    assert_eq!(seqs_of(&missed, &id), vec![5, 6]);
    stack.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_connection_follows_three_projects_in_order() {
    let stack = stack_with(
        vec![FaultRule {
            step: StepName::Validator,
            name_contains: "watched".into(),
            fault: Fault::Delay(Duration::from_millis(300)),
        }],
        1_024,
    )
    .await;
    let http = Http::new(&stack);
    let mut ws = Ws::connect(&format!("{}/ws", stack.ws_url())).await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let id = http.create(&idea(&format!("watched {i}"))).await;
        ws.subscribe(&id, 0).await;
        ids.push(id);
    }
    let mut messages = Vec::new();
    let mut done = 0;
    while done < 3 {
        let m = ws.next().await.expect("the connection stays open");
        if ids.iter().any(|id| is_terminal(&m, id)) {
            done += 1;
        }
        messages.push(m);
    }
    for id in &ids {
        assert_eq!(
            seqs_of(&messages, id),
            vec![1, 2, 3, 4, 5, 6],
            "project {id}"
        );
    }
    stack.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_failing_transiently_twice_is_retried_then_completes() {
    let stack = stack_with(
        vec![FaultRule {
            step: StepName::Validator,
            name_contains: "flaky".into(),
            fault: Fault::Transient(2),
        }],
        1_024,
    )
    .await;
    let http = Http::new(&stack);
    let id = http.create(&idea("flaky idea")).await;
    let mut ws = Ws::connect(&format!("{}/ws/projects/{id}", stack.ws_url())).await;
    let messages = ws.until_terminal(&id).await;
    assert_eq!(
        kinds(&messages),
        vec![
            "status:CREATED:0",
            "status:IDEA_VALIDATION:10",
            "failed:validator:true",
            "failed:validator:true",
            "done:validator:50",
            "status:ADVISORY:60",
            "done:advisory:90",
            "status:COMPLETED:100"
        ]
    );
    let attempts: Vec<u64> = messages
        .iter()
        .filter(|m| m["event"] == "step_failed" || m["event"] == "step_complete")
        .map(|m| m["attempt"].as_u64().unwrap())
        .collect();
    assert_eq!(attempts, vec![1, 2, 3, 1]);
    let (_, project) = http.get(&format!("/api/v1/projects/{id}")).await;
    assert_eq!(
        project["artifacts"].as_object().unwrap().len(),
        2,
        "exactly one artifact per step"
    );
    assert_eq!(project["run_history"]["validator"]["attempts"], 3);
    assert_eq!(
        project["run_history"]["validator"]["errors"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        project["run_history"]["validator"]["errors"][0]["code"],
        "ZeroToShip.Transient"
    );
    stack.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanent_failure_ends_failed_with_the_reason() {
    let stack = stack_with(
        vec![FaultRule {
            step: StepName::Advisory,
            name_contains: "doomed".into(),
            fault: Fault::Permanent,
        }],
        1_024,
    )
    .await;
    let http = Http::new(&stack);
    let id = http.create(&idea("doomed idea")).await;
    let mut ws = Ws::connect(&format!("{}/ws/projects/{id}", stack.ws_url())).await;
    let messages = ws.until_terminal(&id).await;
    assert_eq!(
        kinds(&messages),
        vec![
            "status:CREATED:0",
            "status:IDEA_VALIDATION:10",
            "done:validator:50",
            "status:ADVISORY:60",
            "failed:advisory:false",
            "status:FAILED:60"
        ]
    );
    let failed = messages.last().unwrap();
    assert_eq!(failed["error"]["code"], "ZeroToShip.Invalid");
    assert!(
        failed["error"]["message"]
            .as_str()
            .unwrap()
            .contains("injected permanent advisory failure"),
        "{failed}"
    );
    let (_, status) = http.get(&format!("/api/v1/projects/{id}/status")).await;
    assert_eq!(status["state"], "FAILED");
    assert_eq!(status["error"]["code"], "ZeroToShip.Invalid");
    let (_, project) = http.get(&format!("/api/v1/projects/{id}")).await;
    assert_eq!(project["run_history"]["advisory"]["status"], "failed");
    assert_eq!(
        project["run_history"]["advisory"]["errors"][0]["retryable"],
        false
    );
    assert!(project["artifacts"]["advisory"].is_null());
    stack.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_consumer_is_disconnected_while_a_fast_one_gets_everything() {
    const CAPACITY: usize = 8;
    let stack = stack_with(
        vec![FaultRule {
            step: StepName::Validator,
            name_contains: "watched".into(),
            fault: Fault::Delay(Duration::from_millis(1_500)),
        }],
        CAPACITY,
    )
    .await;
    let http = Http::new(&stack);
    let id = http.create(&idea("watched closely")).await;
    let project = zts_domain::ProjectId::parse(&id).unwrap();
    let mut slow = Ws::connect(&format!("{}/ws/projects/{id}", stack.ws_url())).await;
    slow.until(|m| m["event"] == "replay_complete").await;
    let slow_id = zts_tests::subscriber_ids(&*stack.connections, &project)
        .await
        .pop()
        .expect("the slow subscriber");
    let mut fast = Ws::connect(&format!("{}/ws/projects/{id}", stack.ws_url())).await;
    let replayed = fast.until(|m| m["event"] == "replay_complete").await;
    let fast_reader = tokio::spawn({
        let id = id.clone();
        async move { fast.until_terminal(&id).await }
    });
    // The slow one stops reading; flood it through the management API until the gateway
    // gives up on it (its queue overflows once the socket buffers are full).
    let noise = serde_json::json!({"event": "noise", "pad": "x".repeat(100 * 1024)}).to_string();
    let mut rounds = 0;
    loop {
        let res = http
            .client()
            .post(format!("{}/@connections/{slow_id}", http.base))
            .body(noise.clone())
            .send()
            .await
            .unwrap();
        if res.status() == 410 {
            break;
        }
        assert_eq!(res.status(), 200);
        rounds += 1;
        assert!(rounds < 5_000, "the slow consumer was never disconnected");
    }
    // The fast one is still subscribed and receives the whole run, in order.
    let live = fast_reader.await.unwrap();
    let mut seqs = seqs_of(&replayed, &id);
    seqs.extend(seqs_of(&live, &id));
    assert_eq!(seqs, vec![1, 2, 3, 4, 5, 6]);
    let (code, reason) = slow
        .close_reason()
        .await
        .expect("a close frame with a reason");
    assert_eq!(code, 1008);
    assert!(reason.contains("send queue overflow"), "{reason}");
    // Once closed, the slow connection and its subscription are gone; the fast one's stays.
    let deadline = tokio::time::Instant::now() + WAIT;
    while zts_tests::subscriber_ids(&*stack.connections, &project)
        .await
        .contains(&slow_id)
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the slow connection's subscription was never removed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        stack.connections.get_connection(&slow_id).await.unwrap(),
        None
    );
    stack.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_the_error_shape() {
    let stack = stack().await;
    let http = Http::new(&stack);
    let (status, body) = http
        .post_raw("/api/v1/projects", "application/json", "{\"name\": ")
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "malformed_json");
    assert!(body["request_id"].as_str().is_some_and(|r| !r.is_empty()));
    let (status, body) = http
        .post_raw(
            "/api/v1/projects",
            "application/json",
            r#"{"name": "", "extra": 1}"#,
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["code"], "validation_failed");
    assert_eq!(body["error"]["details"].as_array().unwrap().len(), 2);
    let (status, body) = http
        .post_raw("/api/v1/projects", "text/plain", "name=x")
        .await;
    assert_eq!(status, 415);
    assert_eq!(body["error"]["code"], "unsupported_media_type");
    let (status, body) = http
        .post_raw(
            "/api/v1/projects",
            "application/json",
            "x".repeat(70 * 1024),
        )
        .await;
    assert_eq!(status, 413);
    assert_eq!(body["error"]["code"], "payload_too_large");
    let missing = zts_domain::ProjectId::generate();
    for path in [
        format!("/api/v1/projects/{missing}"),
        format!("/api/v1/projects/{missing}/status"),
        format!("/api/v1/projects/{missing}/events"),
        "/api/v1/projects/not-an-id".into(),
        "/nope".into(),
    ] {
        let (status, body) = http.get(&path).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(body["error"]["code"], "not_found", "{path}");
    }
    let res = http
        .client()
        .delete(format!("{}/api/v1/projects", http.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
    let (status, body) = http.get("/api/v1/projects?limit=0").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("invalid_parameter"))
    );
    let (status, body) = http.get("/api/v1/projects?cursor=forged.cursor").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("invalid_cursor"))
    );
    // Nothing was stored by any of these.
    let (_, list) = http.get("/api/v1/projects").await;
    assert_eq!(list["projects"].as_array().unwrap().len(), 0);
    stack.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotency_listing_health_and_openapi() {
    let stack = stack().await;
    let http = Http::new(&stack);
    let send = |key: &str, body: Value| {
        http.client()
            .post(format!("{}/api/v1/projects", http.base))
            .header("content-type", "application/json")
            .header("idempotency-key", key)
            .body(body.to_string())
            .send()
    };
    let first: Value = send("k-1", idea("same"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let again: Value = send("k-1", idea("same"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(first["project_id"], again["project_id"]);
    let conflict = send("k-1", idea("other")).await.unwrap();
    assert_eq!(conflict.status(), 409);
    let body: Value = conflict.json().await.unwrap();
    assert_eq!(body["error"]["code"], "idempotency_conflict");
    http.create(&idea("second")).await;
    let (status, page) = http.get("/api/v1/projects?limit=1").await;
    assert_eq!(status, 200);
    assert_eq!(page["projects"].as_array().unwrap().len(), 1);
    assert_eq!(page["projects"][0]["name"], "second", "newest first");
    let cursor = page["next_cursor"].as_str().unwrap();
    let (_, next) = http
        .get(&format!("/api/v1/projects?limit=1&cursor={cursor}"))
        .await;
    assert_eq!(next["projects"][0]["name"], "same");
    assert!(next.get("next_cursor").is_none());
    let (status, health) = http.get("/health/ready").await;
    assert_eq!(
        (status, health["checks"]["store"]["status"].as_str()),
        (200, Some("ok"))
    );
    assert!(
        health["checks"]["workflow"]["latency_ms"]
            .as_f64()
            .is_some()
    );
    // Two projects were created; both end up somewhere in the per-state counts.
    let counted: u64 = health["projects"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(counted, 2, "{health}");
    let (status, doc) = http.get("/openapi.json").await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    assert!(doc["paths"]["/api/v1/projects/{id}/events"]["get"].is_object());
    stack.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reconciler_starts_a_project_left_created() {
    use zts_domain::ports::{NewProject, ProjectStore};
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("reconcile-{}", zts_domain::ProjectId::generate()));
    // A project whose start was lost: stored, but no workflow was ever started for it.
    let id = {
        let store = zts_embedded::EmbeddedStore::open(&dir).unwrap();
        let new: NewProject =
            zts_conformance::new_project("local", "lost start", zts_domain::clock::now());
        let id = new.project_id.to_string();
        store.create_project(new).await.unwrap();
        id
    };
    // Run 1 was claimed at the create and never started; with no deadline to wait out,
    // the reconciler's first pass claims run 2 and starts it.
    let mut config = config(zts::DataLocation::Dir(dir));
    config.reconcile.start_deadline = std::time::Duration::ZERO;
    let stack = zts::start(config).await.unwrap();
    let http = Http::new(&stack);
    let status = http.wait_terminal(&id).await;
    assert_eq!(status["state"], "COMPLETED");
    let meta = stack
        .store
        .get_meta(&zts_domain::ProjectId::parse(&id).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(meta.run, 2, "the reconciler's run completed it");
    stack.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_websockets_with_going_away() {
    let stack = stack().await;
    let mut ws = Ws::connect(&format!("{}/ws", stack.ws_url())).await;
    ws.send(serde_json::json!({"action": "ping"})).await;
    assert_eq!(ws.next().await.unwrap()["event"], "pong");
    let shutdown = tokio::spawn(stack.shutdown());
    let (code, reason) = ws.close_reason().await.expect("a close frame");
    assert_eq!(code, 1001);
    assert!(reason.contains("shutting down"), "{reason}");
    drop(ws);
    tokio::time::timeout(WAIT, shutdown)
        .await
        .expect("the server stops")
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_management_api_sends_describes_and_disconnects() {
    let stack = stack().await;
    let http = Http::new(&stack);
    let id = http.create(&idea("managed")).await;
    let mut ws = Ws::connect(&format!("{}/ws/projects/{id}", stack.ws_url())).await;
    ws.until(|m| m["event"] == "replay_complete").await;
    // What follows is a payload of the test's own, not a protocol frame.
    ws.stop_recording();
    let conn = zts_tests::subscriber_ids(
        &*stack.connections,
        &zts_domain::ProjectId::parse(&id).unwrap(),
    )
    .await
    .pop()
    .unwrap();
    let url = format!("{}/@connections/{conn}", http.base);
    let res = http
        .client()
        .post(&url)
        .body(r#"{"hello":"from PostToConnection"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let got = ws.until(|m| m["hello"].is_string()).await;
    assert_eq!(got.last().unwrap()["hello"], "from PostToConnection");
    let res = http.client().get(&url).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let info: Value = res.json().await.unwrap();
    // The service model's jsonName: lower camel case.
    assert!(info["connectedAt"].is_string(), "{info}");
    let res = http.client().delete(&url).send().await.unwrap();
    assert_eq!(res.status(), 204);
    assert!(ws.close_reason().await.is_some());
    for res in [
        http.client().get(&url).send().await.unwrap(),
        http.client().post(&url).body("x").send().await.unwrap(),
    ] {
        assert_eq!(res.status(), 410);
        // The header an AWS SDK reads the error's type from.
        assert_eq!(res.headers()["x-amzn-errortype"], "GoneException");
    }
    stack.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pii_of_every_kind_never_reaches_the_store_the_answers_or_the_artifacts() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("pii-{}", zts_domain::ProjectId::generate()));
    let stack = zts::start(config(zts::DataLocation::Dir(dir.clone())))
        .await
        .unwrap();
    let http = Http::new(&stack);
    let id = http.create(&idea_full_of_pii("Pet sitting")).await;
    assert_eq!(http.wait_terminal(&id).await["state"], "COMPLETED");
    // Every answer that shows the project: itself (with its artifacts), its status, its
    // events, the list.
    let mut shown = String::new();
    for path in [
        format!("/api/v1/projects/{id}"),
        format!("/api/v1/projects/{id}/status"),
        format!("/api/v1/projects/{id}/events"),
        "/api/v1/projects".to_string(),
    ] {
        let (status, body) = http.get(&path).await;
        assert_eq!(status, 200, "{path}: {body}");
        shown.push_str(&body.to_string());
    }
    let (_, project) = http.get(&format!("/api/v1/projects/{id}")).await;
    let kinds = &project["input"]["redaction"]["kinds"];
    for kind in zts_domain::pii::PiiKind::ALL {
        assert!(
            kinds[kind.as_str()].as_u64().is_some_and(|n| n >= 1),
            "{} not reported: {kinds}",
            kind.as_str()
        );
    }
    assert!(shown.contains("REDACTED"), "the test would prove nothing");
    stack.shutdown().await;
    // Every byte the store wrote: the database, its WAL.
    let mut stored = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        stored.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    let stored = String::from_utf8_lossy(&stored);
    assert!(
        stored.contains("Pet sitting"),
        "the store's files were not read"
    );
    for (secret, _) in PII_SAMPLES.iter().chain([&("7700 900123", "")]) {
        assert!(!stored.contains(secret), "{secret} is in the store's files");
        assert!(!shown.contains(secret), "{secret} is in an API answer");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_avatar_holding_personal_data_is_refused_and_nothing_is_stored() {
    let stack = stack().await;
    let http = Http::new(&stack);
    let mut idea = idea("Avatar with a phone");
    idea["target_avatars"] = json!(["dog owner", "Jan, call +49 170 1234567"]);
    let (status, body) = http
        .post_raw("/api/v1/projects", "application/json", idea.to_string())
        .await;
    assert_eq!(status, 422, "{body}");
    let error = &body["error"];
    assert_eq!(error["code"], "validation_failed", "{body}");
    assert_eq!(error["details"][0]["field"], "target_avatars[1]");
    assert_eq!(error["details"][0]["code"], "personal_data");
    let message = error["details"][0]["message"].as_str().unwrap();
    assert!(message.contains("a phone number"), "{message}");
    assert!(
        !body.to_string().contains("1234567"),
        "the error echoes the value: {body}"
    );
    let (_, list) = http.get("/api/v1/projects").await;
    assert_eq!(list["projects"].as_array().map(Vec::len), Some(0), "{list}");
    stack.shutdown().await;
}

/// The stored execution of `project`'s first run, if any.
async fn stored_execution(stack: &zts::RunningStack, project: &str) -> Option<Value> {
    stack
        .store
        .load_executions()
        .await
        .unwrap()
        .into_iter()
        .find(|(name, _)| name.starts_with(project))
        .map(|(_, body)| body)
}

/// An execution is written when it starts and before it waits, never after a step: a
/// restart re-runs the (idempotent) steps since. Here Advise is slow: while it runs, the
/// stored execution is still the one saved at the start, at Validate; a step failing
/// transiently is saved with its retry count before its back-off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_execution_is_saved_at_its_start_and_before_a_wait_not_after_each_step() {
    let stack = stack_with(
        vec![
            FaultRule {
                step: StepName::Advisory,
                name_contains: "slow".into(),
                fault: Fault::Delay(Duration::from_millis(1_500)),
            },
            FaultRule {
                step: StepName::Validator,
                name_contains: "flaky".into(),
                // Two failures, so two back-offs (each up to 1 s, fully jittered) to see.
                fault: Fault::Transient(2),
            },
        ],
        64,
    )
    .await;
    let http = Http::new(&stack);

    let slow = http.create(&idea("slow")).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (_, status) = http.get(&format!("/api/v1/projects/{slow}/status")).await;
        if status["state"] == "ADVISORY" {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{status}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let saved = stored_execution(&stack, &slow)
        .await
        .expect("saved at its start");
    // As saved at the start: in its first state, entered once (after Validate it would be
    // at Advise with two transitions).
    assert_eq!(saved["position"]["state"], "Validate", "{saved}");
    assert_eq!(saved["transitions"], 1, "{saved}");

    let flaky = http.create(&idea("flaky")).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let during_back_off = loop {
        if let Some(saved) = stored_execution(&stack, &flaky).await
            && saved["position"]["retry_count"].as_u64() >= Some(1)
        {
            break saved;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the retry's back-off was never saved"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    assert_eq!(during_back_off["position"]["state"], "Validate");
    assert!(during_back_off["position"]["not_before"].is_string());

    for id in [&slow, &flaky] {
        let status = http.wait_terminal(id).await;
        assert_eq!(status["state"], "COMPLETED", "{status}");
        assert!(
            stored_execution(&stack, id).await.is_none(),
            "a finished execution is deleted"
        );
    }
    stack.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zts_health_reports_readiness_latency_and_projects_per_state() {
    let stack = stack().await;
    let http = Http::new(&stack);
    let id = http.create(&idea("health")).await;
    http.wait_terminal(&id).await;
    let report = zts::health::fetch(&stack.http_url()).await.unwrap();
    assert!(report.ready, "{:?}", report.body);
    assert_eq!(report.body["projects"]["COMPLETED"], 1, "{:?}", report.body);
    assert_eq!(report.body["runs_in_flight"], 0);
    let text = zts::health::render(&stack.http_url(), &report);
    assert!(text.contains(": ready\n"), "{text}");
    assert!(text.contains("store      ok"), "{text}");
    assert!(text.contains("projects: COMPLETED 1"), "{text}");
    stack.shutdown().await;

    let gone = zts::health::fetch("http://127.0.0.1:9").await.unwrap_err();
    assert!(
        matches!(gone, zts::health::HealthError::Unreachable { .. }),
        "{gone}"
    );
    assert!(gone.to_string().contains("is the stack running there?"));
}
