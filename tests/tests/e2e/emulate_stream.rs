//! The Projects table's stream → broadcaster mapping of the emulated deployment, with
//! faults injected at the broadcaster's Runtime API: a failed batch is redelivered, and so
//! is a batch whose first record the function reports failed after pushing it (the client
//! sees every event once, in order); a batch that keeps failing is given up on after
//! `MaximumRetryAttempts` and described on the on-failure queue; `FilterCriteria` keeps
//! every item but inserted `EVENT#`s away from the function. A subscribe whose function is
//! throttled gets API Gateway's own frame, and the clients subscribe again.

use serde_json::{Value, json};
use std::sync::atomic::Ordering;
use zts_emulate::runtime::Fault;
use zts_emulate::stack::{EmulateConfig, Emulation, FunctionsDir, start};
use zts_emulate::stream::MotoJson;
use zts_tests::{Http, Ws, assert_delivered, idea, is_terminal};

const KEY: &str = "zts_emulated_stream_key_00000000000000";

async fn emulate() -> Option<(Emulation, String)> {
    let dir = zts_tests::packages::dir(&zts_tests::packages::FUNCTIONS)?;
    let moto = zts_tests::dynamodb::endpoint()?;
    let stage = format!("s{}", &zts_domain::ProjectId::generate().as_str()[24..36]);
    let emulation = start(EmulateConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        functions: FunctionsDir::Packages(dir),
        aws_endpoint: moto.clone(),
        parameters: [("Stage".to_string(), stage)].into(),
        api_keys: vec![("acme".into(), KEY.into(), None)],
        max_processes: 4,
        connection_limits: Default::default(),
        schedule_every: None,
        meter_dynamodb: false,
    })
    .await
    .unwrap();
    Some((emulation, moto))
}

fn broadcaster_fault() -> Fault {
    Fault::Error {
        error_type: "Runtime.ExitError".into(),
        message: "injected at the Runtime API".into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_batch_is_redelivered_and_the_client_loses_nothing_and_gets_nothing_twice_from_it()
{
    let Some((emulated, _)) = emulate().await else {
        return;
    };
    let broadcaster = &emulated.functions["BroadcasterFunction"];
    broadcaster.inject(1, broadcaster_fault());
    broadcaster.inject(2, broadcaster_fault());
    let http = Http::with_key(&emulated.base_url, Some(KEY));
    let mut ws = http.watch().await;
    let id = http.create(&idea("redelivered")).await;
    ws.subscribe(&id, 0).await;
    let seen = ws.until(|m| is_terminal(m, &id)).await;
    // Nothing lost, and nothing the redelivery repeated: every seq after the replay came
    // exactly once.
    assert_delivered(&seen, &id, &[1, 2, 3, 4, 5, 6]);
    assert_eq!(broadcaster.stats.errors.load(Ordering::Relaxed), 2);
    let stream = &emulated.streams[0];
    assert!(stream.counts.retries.load(Ordering::Relaxed) >= 2);
    assert_eq!(
        stream
            .counts
            .records_sent_to_failure
            .load(Ordering::Relaxed),
        0
    );
    // Only inserted EVENT# items reached the function: META, artifacts and the rest were
    // read from the stream and filtered out.
    assert!(stream.counts.records_filtered_out.load(Ordering::Relaxed) > 0);
}

/// What the broadcaster answers when it reports its batch's first record as failed.
fn first_record_failed(batch: &Value) -> Value {
    json!({ "batchItemFailures": [
        { "itemIdentifier": batch["Records"][0]["dynamodb"]["SequenceNumber"] }
    ] })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partly_failed_batch_is_retried_from_its_failed_record_and_nothing_reaches_the_client_twice()
 {
    let Some((emulated, _)) = emulate().await else {
        return;
    };
    // The real broadcaster runs (and pushes) every time; its first two answers report the
    // batch's first record as failed, so Lambda hands it the same records again.
    let broadcaster = &emulated.functions["BroadcasterFunction"];
    broadcaster.inject(1, Fault::Answer(first_record_failed));
    broadcaster.inject(2, Fault::Answer(first_record_failed));
    let http = Http::with_key(&emulated.base_url, Some(KEY));
    let mut ws = http.watch().await;
    let id = http.create(&idea("partly failed")).await;
    ws.subscribe(&id, 0).await;
    let seen = ws.until(|m| is_terminal(m, &id)).await;
    assert_delivered(&seen, &id, &[1, 2, 3, 4, 5, 6]);
    // The first delivery pushed every event it held, so on a slow machine the client has
    // the whole run before Lambda hands the batch over again: wait for both redeliveries
    // and the delivery that succeeds, then nothing more may reach the client.
    let stream = &emulated.streams[0];
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while (stream.counts.retries.load(Ordering::Relaxed) < 2
        || broadcaster.stats.invocations.load(Ordering::Relaxed) < 3)
        && std::time::Instant::now() < deadline
    {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        stream.counts.retries.load(Ordering::Relaxed) >= 2,
        "the failed records were redelivered"
    );
    // The retried records had been pushed already: the delivery marks skip them.
    let late = ws.within(std::time::Duration::from_millis(500)).await;
    assert!(
        late.iter().all(|m| m["project_id"] != id.as_str()),
        "a redelivered record reached the client again: {late:?}"
    );
    assert_eq!(broadcaster.stats.errors.load(Ordering::Relaxed), 0);
    assert_eq!(
        stream
            .counts
            .records_sent_to_failure
            .load(Ordering::Relaxed),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_that_keeps_failing_goes_to_the_on_failure_queue_after_its_retries() {
    let Some((emulated, moto)) = emulate().await else {
        return;
    };
    let broadcaster = &emulated.functions["BroadcasterFunction"];
    for nth in 1..=200 {
        broadcaster.inject(nth, broadcaster_fault());
    }
    let http = Http::with_key(&emulated.base_url, Some(KEY));
    let id = http.create(&idea("given up")).await;
    let status = http.wait_terminal(&id).await;
    assert_eq!(status["state"], "COMPLETED");
    let stream = &emulated.streams[0];
    // Six EVENT# inserts, each retried up to MaximumRetryAttempts (5) and then given up.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while stream
        .counts
        .records_sent_to_failure
        .load(Ordering::Relaxed)
        < 6
    {
        assert!(
            std::time::Instant::now() < deadline,
            "records never given up on"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        stream
            .counts
            .records_sent_to_failure
            .load(Ordering::Relaxed),
        6
    );
    // No record was delivered: every invocation was a failure.
    let invocations = broadcaster.stats.invocations.load(Ordering::Relaxed);
    assert_eq!(
        broadcaster.stats.errors.load(Ordering::Relaxed),
        invocations
    );
    assert!(invocations >= 6, "{invocations}");

    // The queue holds Lambda's batch descriptions, covering six records.
    let sqs = MotoJson::new(&moto, "us-east-1");
    let stage = &emulated.stage;
    let queue = sqs
        .call(
            "sqs",
            "AmazonSQS.GetQueueUrl",
            json!({ "QueueName": format!("zts-{stage}-stream-failures") }),
        )
        .await
        .unwrap()["QueueUrl"]
        .as_str()
        .unwrap()
        .to_string();
    let mut described = 0;
    let mut bodies = Vec::new();
    while described < 6 {
        let page = sqs
            .call(
                "sqs",
                "AmazonSQS.ReceiveMessage",
                json!({ "QueueUrl": queue, "MaxNumberOfMessages": 10 }),
            )
            .await
            .unwrap();
        let messages = page["Messages"].as_array().cloned().unwrap_or_default();
        assert!(
            !messages.is_empty(),
            "the queue ran dry at {described}: {bodies:?}"
        );
        for m in messages {
            let body: Value = serde_json::from_str(m["Body"].as_str().unwrap()).unwrap();
            assert_eq!(
                body["requestContext"]["condition"],
                "RetryAttemptsExhausted"
            );
            let info = &body["DDBStreamBatchInfo"];
            assert!(
                info["streamArn"]
                    .as_str()
                    .unwrap()
                    .contains(&format!("zts-{stage}-projects"))
            );
            described += info["batchSize"].as_u64().unwrap();
            bodies.push(body);
        }
    }
    assert_eq!(described, 6, "{bodies:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_function_runs_on_its_schedule_with_eventbridges_event() {
    let Some(dir) = zts_tests::packages::dir(&zts_tests::packages::FUNCTIONS) else {
        return;
    };
    let Some(moto) = zts_tests::dynamodb::endpoint() else {
        return;
    };
    let stage = format!("r{}", &zts_domain::ProjectId::generate().as_str()[24..36]);
    let emulated = start(EmulateConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        functions: FunctionsDir::Packages(dir),
        aws_endpoint: moto,
        parameters: [("Stage".to_string(), stage)].into(),
        api_keys: Vec::new(),
        max_processes: 2,
        connection_limits: Default::default(),
        // The template's rate(1 minute), shortened so the test sees several passes.
        schedule_every: Some(std::time::Duration::from_millis(400)),
        meter_dynamodb: false,
    })
    .await
    .unwrap();
    let reconciler = &emulated.functions["ReconcilerFunction"];
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        reconciler.stats.invocations.load(Ordering::Relaxed),
        0,
        "the first pass comes one period after the start"
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while reconciler.stats.invocations.load(Ordering::Relaxed) < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "the schedule never ran"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // The real reconciler accepted every scheduled event (a pass on empty tables).
    assert_eq!(reconciler.stats.errors.load(Ordering::Relaxed), 0);
    // Nothing else runs on a schedule.
    assert_eq!(
        emulated.functions["ValidatorFunction"]
            .stats
            .invocations
            .load(Ordering::Relaxed),
        0
    );
}

/// Waits until `function` has been invoked `n` times (a client's $disconnect comes a
/// moment after it closes), and not more.
async fn settled(function: &zts_emulate::runtime::FunctionPool, n: u64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while function.stats.invocations.load(Ordering::Relaxed) < n {
        assert!(
            std::time::Instant::now() < deadline,
            "never reached {n} invocations"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(function.stats.invocations.load(Ordering::Relaxed), n);
}

/// What Lambda answers API Gateway for a throttled invocation.
fn throttled() -> Fault {
    Fault::Error {
        error_type: "Lambda.TooManyRequestsException".into(),
        message: "Rate Exceeded.".into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscribe_whose_function_fails_gets_api_gateways_frame_and_clients_subscribe_again() {
    let Some((emulated, _)) = emulate().await else {
        return;
    };
    let ws_function = &emulated.functions["WsFunction"];
    let http = Http::with_key(&emulated.base_url, Some(KEY));
    let id = http.create(&idea("throttled subscribe")).await;
    let mut ws = http.watch().await;
    ws_function.inject(1, throttled());
    ws.subscribe(&id, 0).await;
    // API Gateway's own frame (asyncapi.json: GatewayError): no event, no project.
    let frame = ws.next().await.unwrap();
    assert_eq!(frame["message"], "Internal server error", "{frame}");
    assert!(frame["connectionId"].is_string() && frame["requestId"].is_string());
    assert_eq!(frame.as_object().unwrap().len(), 3, "{frame}");
    // Nothing of that subscribe is in effect; made again, it replays and goes live.
    ws.subscribe(&id, 0).await;
    let seen = ws.until(|m| is_terminal(m, &id)).await;
    assert_delivered(&seen, &id, &[1, 2, 3, 4, 5, 6]);
    drop(ws);

    // zts load subscribes again the same way: on one socket shared by three projects (one
    // subscribe in flight at a time, so the frame is known to be its), and on a socket per
    // project. The ws function's invocations are counted to place the faults: so far a
    // $connect, two subscribes and (awaited) the $disconnect.
    settled(ws_function, 4).await;
    // Then a $connect; the first project's subscribe fails, and so does the second's.
    ws_function.inject(2, throttled());
    ws_function.inject(4, throttled());
    let shared = zts::load::run(
        &emulated.base_url,
        KEY,
        3,
        1,
        zts::load::Watch::Shared { per_socket: 3 },
    )
    .await
    .unwrap();
    assert_eq!((shared.completed, shared.failed), (3, 0), "{shared}");
    assert_eq!(
        (shared.lost_events, shared.duplicate_events),
        (0, 0),
        "{shared}"
    );
    // $connect, five subscribes, $disconnect.
    settled(ws_function, 4 + 7).await;
    ws_function.inject(2, throttled());
    let ticket = zts::load::run(&emulated.base_url, KEY, 1, 1, zts::load::Watch::Ticket)
        .await
        .unwrap();
    assert_eq!((ticket.completed, ticket.failed), (1, 0), "{ticket}");
    assert_eq!(
        (ticket.lost_events, ticket.duplicate_events),
        (0, 0),
        "{ticket}"
    );
    assert_eq!(ws_function.stats.errors.load(Ordering::Relaxed), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gone_connection_is_answered_410_and_its_record_removed() {
    use zts_domain::ports::ConnectionStore;
    let Some((emulated, moto)) = emulate().await else {
        return;
    };
    // The client's $disconnect is lost (its invocation fails), so the Connections table
    // still lists it when the run's later events are pushed.
    let ws_function = &emulated.functions["WsFunction"];
    // Invocations of the ws function: 1 $connect, 2 subscribe, 3 $disconnect.
    ws_function.inject(3, broadcaster_fault());
    // Each step's answer is held past its timeout once, so the run's events come well after
    // the client has gone, and after the broadcaster's 10 s grace for young connections.
    emulated.functions["ValidatorFunction"].inject(1, Fault::Hold);
    emulated.functions["AdvisoryFunction"].inject(1, Fault::Hold);
    let http = Http::with_key(&emulated.base_url, Some(KEY));
    let id = http.create(&idea("gone")).await;
    let mut ws = http.watch().await;
    ws.subscribe(&id, 0).await;
    ws.until(|m| m["event"] == "replay_complete").await;
    drop(ws);

    let store = zts_aws::DynamoStore::without_listing(
        zts_tests::dynamodb::client(&moto),
        zts_aws::Tables {
            projects: format!("zts-{}-projects", emulated.stage),
            connections: format!("zts-{}-connections", emulated.stage),
            api_keys: format!("zts-{}-apikeys", emulated.stage),
            retention: zts_domain::retention::Retention::default(),
        },
    );
    let project = zts_domain::ProjectId::parse(&id).unwrap();
    assert_eq!(store.subscribers(&project).await.unwrap().len(), 1);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    loop {
        let (_, status) = http.get(&format!("/api/v1/projects/{id}/status")).await;
        let gone = emulated
            .websocket
            .as_ref()
            .unwrap()
            .counts
            .gone
            .load(Ordering::Relaxed);
        if status["state"] == "COMPLETED" && store.subscribers(&project).await.unwrap().is_empty() {
            assert!(gone >= 1, "{gone}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{status} gone={gone}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(ws_function.stats.errors.load(Ordering::Relaxed), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_management_api_and_connections_keep_api_gateways_limits() {
    let Some(dir) = zts_tests::packages::dir(&zts_tests::packages::FUNCTIONS) else {
        return;
    };
    let Some(moto) = zts_tests::dynamodb::endpoint() else {
        return;
    };
    let stage = format!("m{}", &zts_domain::ProjectId::generate().as_str()[24..36]);
    let emulated = start(EmulateConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        functions: FunctionsDir::Packages(dir),
        aws_endpoint: moto,
        parameters: [("Stage".to_string(), stage.clone())].into(),
        api_keys: vec![("acme".into(), KEY.into(), None)],
        max_processes: 2,
        // API Gateway's 10 minutes idle, shortened for the test.
        connection_limits: zts_emulate::websocket::ConnectionLimits {
            idle: std::time::Duration::from_secs(3),
            max_age: std::time::Duration::from_secs(7200),
        },
        schedule_every: None,
        meter_dynamodb: false,
    })
    .await
    .unwrap();
    let gateway = emulated.websocket.clone().unwrap();
    let http = Http::with_key(&emulated.base_url, Some(KEY));
    // No ticket: refused before the authorizer runs.
    let bare = format!("{}/{stage}", emulated.base_url.replacen("http", "ws", 1));
    assert_eq!(Ws::try_connect(&bare, None).await.err(), Some(401));
    assert_eq!(
        emulated.functions["ConnectAuthorizerFunction"]
            .stats
            .invocations
            .load(Ordering::Relaxed),
        0
    );
    // A ticket that does not exist: the authorizer denies, 403.
    assert_eq!(
        Ws::try_connect(&format!("{bare}?ticket=wst_{}", "0".repeat(40)), None)
            .await
            .err(),
        Some(403)
    );

    let mut ws = http.watch().await;
    // This test posts a payload of its own, not a protocol frame.
    ws.stop_recording();
    let ids = gateway.connection_ids();
    assert_eq!(ids.len(), 1);
    // The id needs percent-encoding in a path, as API Gateway's do.
    let encoded: String = ids[0]
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect();
    let at = format!("{}/{stage}/@connections/{encoded}", emulated.base_url);
    let client = reqwest::Client::new();
    let too_big = client
        .post(&at)
        .body(vec![b'x'; 128 * 1024 + 1])
        .send()
        .await
        .unwrap();
    assert_eq!(too_big.status(), 413);
    let sent = client
        .post(&at)
        .body(r#"{"hello":"there"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 200);
    assert_eq!(ws.next().await.unwrap(), json!({"hello": "there"}));
    let info: Value = client.get(&at).send().await.unwrap().json().await.unwrap();
    assert_eq!(info["identity"]["sourceIp"], "127.0.0.1", "{info}");
    assert!(info["connectedAt"].is_string(), "{info}");
    // DELETE closes it; then the connection is gone (410).
    assert_eq!(client.delete(&at).send().await.unwrap().status(), 204);
    assert!(ws.next().await.is_none(), "closed by the Management API");
    for _ in 0..50 {
        if gateway.open_connections() == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let after = client.post(&at).body("late").send().await.unwrap();
    assert_eq!(after.status(), 410);

    // A frame within API Gateway's 32 KB reaches the route (the ws function refuses a
    // message that large politely); a larger frame closes the connection with 1009.
    let mut big = http.watch().await;
    big.send(json!({ "action": "ping", "pad": "x".repeat(20 * 1024) }))
        .await;
    let answer = big.next().await.unwrap();
    assert_eq!(answer["error"]["code"], "message_too_large", "{answer}");
    big.send(json!({
        "action": "ping",
        "pad": "x".repeat(zts_emulate::websocket::MAX_FRAME_BYTES)
    }))
    .await;
    assert_eq!(
        big.close_reason().await,
        Some((1009, "Message too big".to_string()))
    );

    // An idle connection is closed with 1001, Going away.
    let mut idle = http.watch().await;
    let (code, reason) = idle.close_reason().await.unwrap();
    assert_eq!((code, reason.as_str()), (1001, "Going away"));
}
