//! One suite that talks only through URLs — the HTTP API, a ticket, the WebSocket URL the
//! ticket comes with, subscribe messages — run against the local stack (`zts serve`) and
//! against the emulated deployment (`zts emulate`: the packaged functions behind the
//! emulated HTTP API, WebSocket API, Step Functions and the stream → broadcaster mapping).
//! Only the setup differs: which keys exist, registered as each deployment registers them.

use serde_json::Value;
use zts_domain::auth::{self, ApiKeyRecord, KeyStatus, Limits};
use zts_domain::ports::KeyStore;
use zts_tests::{Http, Ws, assert_delivered, idea, is_terminal, seqs_of};

/// A deployment's URL and the keys the suite uses.
struct Target {
    base: String,
    /// Owner "acme", generous limits.
    acme: String,
    /// Owner "globex": another tenant.
    globex: String,
    /// Owner "tight": a burst of 2 and a rate that refills one request a minute.
    tight: String,
    /// The Management API's endpoint (what an SDK client is configured with).
    management: String,
    /// The ids of the open WebSocket connections.
    connections: Box<dyn Fn() -> Vec<String> + Send + Sync>,
    /// Keeps the deployment alive for the test.
    _alive: Box<dyn std::any::Any + Send>,
}

const ACME: &str = "zts_url_suite_acme_key_000000000000000";
const GLOBEX: &str = "zts_url_suite_globex_key_0000000000000";
const TIGHT: &str = "zts_url_suite_tight_key_00000000000000";

fn keys() -> [(&'static str, &'static str, Option<Limits>); 3] {
    let generous = Limits {
        rate: 1_000.0,
        burst: 1_000,
    };
    let tight = Limits {
        rate: 1.0 / 60.0,
        burst: 2,
    };
    [
        ("acme", ACME, Some(generous)),
        ("globex", GLOBEX, Some(generous)),
        ("tight", TIGHT, Some(tight)),
    ]
}

fn target(
    base: String,
    management: String,
    connections: Box<dyn Fn() -> Vec<String> + Send + Sync>,
    alive: Box<dyn std::any::Any + Send>,
) -> Target {
    Target {
        base,
        management,
        connections,
        acme: ACME.into(),
        globex: GLOBEX.into(),
        tight: TIGHT.into(),
        _alive: alive,
    }
}

/// `zts serve`, in memory, with the suite's keys in its store.
async fn serve() -> Target {
    let stack = zts::start(zts_tests::config(zts::DataLocation::InMemory))
        .await
        .unwrap();
    for (owner, key, limits) in keys() {
        stack
            .store
            .put_key(ApiKeyRecord {
                key_hash: auth::hash(key),
                owner: zts_domain::Owner::parse(owner).unwrap(),
                status: KeyStatus::Active,
                limits,
                created_at: zts_domain::clock::now(),
                expires_at: None,
                revoked_at: None,
            })
            .await
            .unwrap();
    }
    let gateway = stack.gateway.clone();
    target(
        stack.http_url(),
        stack.http_url(),
        Box::new(move || gateway.connection_ids()),
        Box::new(stack),
    )
}

/// `zts emulate` on moto with the suite's keys; None (skip) outside CI without moto or the
/// packages.
async fn emulate() -> Option<Target> {
    use zts_emulate::stack::{EmulateConfig, FunctionsDir, start};
    let dir = zts_tests::packages::dir(&zts_tests::packages::FUNCTIONS)?;
    let moto = zts_tests::dynamodb::endpoint()?;
    let stage = format!("u{}", &zts_domain::ProjectId::generate().as_str()[24..36]);
    let emulation = start(EmulateConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        functions: FunctionsDir::Packages(dir),
        aws_endpoint: moto,
        parameters: [("Stage".to_string(), stage)].into(),
        api_keys: keys()
            .into_iter()
            .map(|(o, k, l)| (o.to_string(), k.to_string(), l))
            .collect(),
        max_processes: 4,
        connection_limits: Default::default(),
        schedule_every: None,
        meter_dynamodb: false,
    })
    .await
    .unwrap();
    let websocket = emulation.websocket.clone().unwrap();
    Some(target(
        emulation.base_url.clone(),
        format!("{}/{}", emulation.base_url, emulation.stage),
        Box::new(move || websocket.connection_ids()),
        Box::new(emulation),
    ))
}

/// A WebSocket opened the way a client does: a ticket, then the URL it comes with.
async fn watch(http: &Http) -> Ws {
    let (status, ticket) = http
        .post_raw("/api/v1/ws-tickets", "application/json", "")
        .await;
    assert_eq!(status, 201, "{ticket}");
    let url = ticket["websocket_url"].as_str().unwrap();
    Ws::try_connect(url, None)
        .await
        .unwrap_or_else(|status| panic!("{url} refused with {status}"))
}

fn kinds(messages: &[Value], project: &str) -> Vec<String> {
    messages
        .iter()
        .filter(|m| m["project_id"] == project && m["seq"].is_u64())
        .map(|m| match m["event"].as_str().unwrap_or_default() {
            "status_update" => format!("status:{}:{}", m["state"].as_str().unwrap(), m["progress"]),
            "step_complete" => format!("done:{}:{}", m["agent"].as_str().unwrap(), m["progress"]),
            other => other.to_string(),
        })
        .collect()
}

/// Create → exactly six events in order over the WebSocket → COMPLETED with both
/// artifacts; then a second client replays what came after seq 3; a second subscriber of
/// the same project sees the same six.
async fn a_run_is_watched_live_and_replayed_after_a_reconnect(t: &Target) {
    let http = Http::with_key(&t.base, Some(&t.acme));
    let mut first = watch(&http).await;
    let mut second = watch(&http).await;
    let id = http.create(&idea("url suite")).await;
    first.subscribe(&id, 0).await;
    second.subscribe(&id, 0).await;
    let seen = first.until(|m| is_terminal(m, &id)).await;
    assert_delivered(&seen, &id, &[1, 2, 3, 4, 5, 6]);
    assert_eq!(
        kinds(&seen, &id),
        [
            "status:CREATED:0",
            "status:IDEA_VALIDATION:10",
            "done:validator:50",
            "status:ADVISORY:60",
            "done:advisory:90",
            "status:COMPLETED:100"
        ],
        "{seen:?}"
    );
    let also = second.until(|m| is_terminal(m, &id)).await;
    assert_delivered(&also, &id, &[1, 2, 3, 4, 5, 6]);

    let (status, project) = http.get(&format!("/api/v1/projects/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(project["state"], "COMPLETED", "{project}");
    let artifacts: Vec<&String> = project["artifacts"].as_object().unwrap().keys().collect();
    assert_eq!(artifacts, ["advisory", "validator"], "{project}");

    // A client that reconnects asks for what came after the last seq it saw.
    drop(first);
    let mut again = watch(&http).await;
    again.subscribe(&id, 3).await;
    let replayed = again.until(|m| is_terminal(m, &id)).await;
    assert_eq!(seqs_of(&replayed, &id), [4, 5, 6], "{replayed:?}");
}

/// The events a run of `workflow` promises for `body` (the stop-called idea ends triage
/// after its verdict), in order.
fn promised(workflow: &str, stopped: bool) -> (Vec<&'static str>, Vec<&'static str>) {
    let verdict_only = (
        vec![
            "status:CREATED:0",
            "status:IDEA_VALIDATION:10",
            "done:validator:50",
            "status:COMPLETED:100",
        ],
        vec!["validator"],
    );
    let advised = (
        vec![
            "status:CREATED:0",
            "status:IDEA_VALIDATION:10",
            "done:validator:50",
            "status:ADVISORY:60",
            "done:advisory:90",
            "status:COMPLETED:100",
        ],
        vec!["advisory", "validator"],
    );
    match (workflow, stopped) {
        ("quick-check", _) | ("triage", true) => verdict_only,
        ("idea-to-advice", _) | ("triage", false) => advised,
        (other, _) => panic!("the suite does not know what {other} promises: add it here"),
    }
}

/// An idea the validator calls `stop` (corpus: buzzword-platform).
fn stop_idea() -> Value {
    serde_json::json!({
        "name": "SynergyChain",
        "description": "An AI-powered platform leveraging blockchain to disrupt how businesses unlock synergies across the value chain.",
        "hypothesis": "Businesses will adopt it.",
        "target_avatars": ["businesses"],
    })
}

/// Every listed workflow, run end to end: the events it promises in order with seq
/// gapless, its artifacts, and the workflow and version on the project, its status, its
/// CREATED event and its export. An unknown workflow is a 422 naming the field.
async fn each_workflow_runs_what_it_promises(t: &Target) {
    let http = Http::with_key(&t.base, Some(&t.acme));
    let (status, list) = http.get("/api/v1/workflows").await;
    assert_eq!(status, 200, "{list}");
    let listed: Vec<&str> = list["workflows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["name"].as_str().unwrap())
        .collect();
    let all: Vec<&str> = zts_domain::workflows::WORKFLOWS
        .iter()
        .map(|w| w.name)
        .collect();
    assert_eq!(listed, all, "the deployment runs every listed workflow");
    assert_eq!(list["default"], "idea-to-advice");
    let mut ws = watch(&http).await;
    let mut runs = Vec::new();
    for w in zts_domain::workflows::WORKFLOWS {
        let (status, detail) = http.get(&format!("/api/v1/workflows/{}", w.name)).await;
        assert_eq!(status, 200, "{detail}");
        assert_eq!(detail["version"], w.version);
        assert!(detail["definition"]["States"].is_object(), "{detail}");
        let mut body = idea(&format!("wf {}", w.name));
        body["workflow"] = w.name.into();
        runs.push((w, false, http.create(&body).await));
        if w.name == "triage" {
            let mut body = stop_idea();
            body["workflow"] = w.name.into();
            runs.push((w, true, http.create(&body).await));
        }
    }
    for (w, stopped, id) in &runs {
        ws.subscribe(id, 0).await;
        let seen = ws.until(|m| is_terminal(m, id)).await;
        let (events, artifacts) = promised(w.name, *stopped);
        let seqs: Vec<u64> = (1..=events.len() as u64).collect();
        assert_delivered(&seen, id, &seqs);
        assert_eq!(kinds(&seen, id), events, "{} {seen:?}", w.name);
        let created = seen
            .iter()
            .find(|m| m["project_id"] == id.as_str() && m["seq"] == 1)
            .unwrap();
        assert_eq!(created["workflow"]["name"], w.name, "{created}");
        assert_eq!(created["workflow"]["version"], w.version, "{created}");
        let (_, project) = http.get(&format!("/api/v1/projects/{id}")).await;
        assert_eq!(project["workflow"]["name"], w.name, "{project}");
        let names: Vec<&String> = project["artifacts"].as_object().unwrap().keys().collect();
        assert_eq!(names, artifacts, "{} {project}", w.name);
        let (_, status) = http.get(&format!("/api/v1/projects/{id}/status")).await;
        assert_eq!(status["workflow"]["version"], w.version, "{status}");
        let (_, export) = http.get(&format!("/api/v1/projects/{id}/export")).await;
        assert_eq!(export["project"]["workflow"]["name"], w.name);
    }

    let mut body = idea("no such workflow");
    body["workflow"] = "deep-dive".into();
    let (status, err) = http
        .post_raw("/api/v1/projects", "application/json", body.to_string())
        .await;
    assert_eq!(status, 422, "{err}");
    let field = &err["error"]["details"][0];
    assert_eq!(field["field"], "workflow", "{err}");
    assert_eq!(field["code"], "unknown_workflow", "{err}");
    assert!(
        field["message"].as_str().unwrap().contains("quick-check"),
        "{err}"
    );
    let (status, err) = http.get("/api/v1/workflows/deep-dive").await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (404, Some("not_found")),
        "{err}"
    );
}

/// Another tenant's project does not exist for a key, by any route.
async fn another_tenants_project_is_not_found(t: &Target) {
    let acme = Http::with_key(&t.base, Some(&t.acme));
    let globex = Http::with_key(&t.base, Some(&t.globex));
    let id = acme.create(&idea("acme's")).await;
    for path in [
        format!("/api/v1/projects/{id}"),
        format!("/api/v1/projects/{id}/status"),
        format!("/api/v1/projects/{id}/events"),
    ] {
        let (status, body) = globex.get(&path).await;
        assert_eq!(status, 404, "{path}: {body}");
        assert_eq!(body["error"]["code"], "not_found", "{path}: {body}");
    }
    // Nor over the WebSocket.
    let mut ws = watch(&globex).await;
    ws.subscribe(&id, 0).await;
    let refused = ws.until(|m| m["event"] == "error").await;
    assert_eq!(refused.last().unwrap()["error"]["code"], "not_found");
}

/// A key past its burst is answered 429 in the error shape, with Retry-After.
async fn a_rate_limited_key_gets_429(t: &Target) {
    let tight = Http::with_key(&t.base, Some(&t.tight));
    for _ in 0..2 {
        let (status, body) = tight.get("/api/v1/projects").await;
        assert_eq!(status, 200, "{body}");
    }
    let res = tight
        .client()
        .get(format!("{}/api/v1/projects", t.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    let retry_after: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited", "{body}");
}

/// The load generator, watching as a deployed client must (a ticket per project), counts
/// every project to COMPLETED with nothing lost.
async fn zts_load_via_tickets_sees_every_run_complete(t: &Target) {
    let report = zts::load::run(&t.base, &t.acme, 6, 3, zts::load::Watch::Ticket)
        .await
        .unwrap();
    assert_eq!((report.completed, report.failed), (6, 0), "{report}");
    assert_eq!(report.lost_events, 0, "{report}");
    assert_eq!(report.duplicate_events, 0, "{report}");
    assert_eq!(report.latencies.len(), 6);
}

/// The second load shape: clients that each follow several projects on one WebSocket.
async fn zts_load_with_shared_sockets_sees_every_run_complete(t: &Target) {
    let report = zts::load::run(
        &t.base,
        &t.acme,
        6,
        2,
        zts::load::Watch::Shared { per_socket: 3 },
    )
    .await
    .unwrap();
    assert_eq!((report.completed, report.failed), (6, 0), "{report}");
    assert_eq!(
        (report.lost_events, report.duplicate_events),
        (0, 0),
        "{report}"
    );
    assert!(report.latencies.iter().all(|l| !l.is_zero()), "{report}");
    assert!(report.generator_cpu.is_some(), "{report}");
}

/// The Management API answers as AWS's service model says, read by the AWS SDK itself:
/// GetConnection's fields, a text and a binary post, 413 `PayloadTooLargeException` above
/// 128 KB, DeleteConnection, then 410 `GoneException` for every call on the closed id.
async fn the_management_api_answers_as_aws_documents_it(t: &Target) {
    use aws_sdk_apigatewaymanagement::primitives::Blob;
    let before = (t.connections)();
    let http = Http::with_key(&t.base, Some(&t.acme));
    let mut ws = watch(&http).await;
    ws.stop_recording();
    // `zts serve` registers a connection once the upgrade completes, a moment after the
    // client has its 101: wait for it rather than race it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut opened: Vec<String> = loop {
        let opened: Vec<String> = (t.connections)()
            .into_iter()
            .filter(|id| !before.contains(id))
            .collect();
        if !opened.is_empty() || std::time::Instant::now() > deadline {
            break opened;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(opened.len(), 1, "{opened:?}");
    let id = opened.remove(0);
    let client = aws_sdk_apigatewaymanagement::Client::from_conf(
        aws_sdk_apigatewaymanagement::config::Builder::from(&zts_tests::offline_sdk_config())
            .endpoint_url(&t.management)
            .build(),
    );

    let described = client
        .get_connection()
        .connection_id(&id)
        .send()
        .await
        .unwrap();
    let connected = described.connected_at().expect("connectedAt");
    let age = zts_domain::clock::now().timestamp() - connected.secs();
    assert!((0..60).contains(&age), "connected {age} s ago");
    assert!(described.last_active_at().is_some(), "lastActiveAt");
    let identity = described.identity().expect("identity");
    assert!(
        identity.source_ip().is_some_and(|ip| !ip.is_empty()),
        "{identity:?}"
    );

    client
        .post_to_connection()
        .connection_id(&id)
        .data(Blob::new(br#"{"hello":1}"#.to_vec()))
        .send()
        .await
        .unwrap();
    assert_eq!(
        ws.next_frame().await,
        Some((false, br#"{"hello":1}"#.to_vec()))
    );
    client
        .post_to_connection()
        .connection_id(&id)
        .data(Blob::new(vec![0xff, 0x00, 0x7f]))
        .send()
        .await
        .unwrap();
    assert_eq!(ws.next_frame().await, Some((true, vec![0xff, 0x00, 0x7f])));

    let too_large = client
        .post_to_connection()
        .connection_id(&id)
        .data(Blob::new(vec![b'x'; zts_apigw::MAX_MESSAGE_BYTES + 1]))
        .send()
        .await
        .unwrap_err();
    assert!(
        too_large
            .as_service_error()
            .is_some_and(|e| e.is_payload_too_large_exception()),
        "{too_large:?}"
    );

    client
        .delete_connection()
        .connection_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(ws.next_frame().await, None, "the connection is closed");
    let gone = client
        .get_connection()
        .connection_id(&id)
        .send()
        .await
        .unwrap_err();
    assert!(
        gone.as_service_error()
            .is_some_and(|e| e.is_gone_exception()),
        "{gone:?}"
    );
    let gone = client
        .post_to_connection()
        .connection_id(&id)
        .data(Blob::new(b"late".to_vec()))
        .send()
        .await
        .unwrap_err();
    assert!(
        gone.as_service_error()
            .is_some_and(|e| e.is_gone_exception()),
        "{gone:?}"
    );
    let gone = client
        .delete_connection()
        .connection_id(&id)
        .send()
        .await
        .unwrap_err();
    assert!(
        gone.as_service_error()
            .is_some_and(|e| e.is_gone_exception()),
        "{gone:?}"
    );
}

macro_rules! url_suite {
    ($target:ident, $setup:expr) => {
        mod $target {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_run_is_watched_live_and_replayed_after_a_reconnect() {
                let Some(t) = $setup else { return };
                super::a_run_is_watched_live_and_replayed_after_a_reconnect(&t).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn another_tenants_project_is_not_found() {
                let Some(t) = $setup else { return };
                super::another_tenants_project_is_not_found(&t).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn zts_load_via_tickets_sees_every_run_complete() {
                let Some(t) = $setup else { return };
                super::zts_load_via_tickets_sees_every_run_complete(&t).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn zts_load_with_shared_sockets_sees_every_run_complete() {
                let Some(t) = $setup else { return };
                super::zts_load_with_shared_sockets_sees_every_run_complete(&t).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn each_workflow_runs_what_it_promises() {
                let Some(t) = $setup else { return };
                super::each_workflow_runs_what_it_promises(&t).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn the_management_api_answers_as_aws_documents_it() {
                let Some(t) = $setup else { return };
                super::the_management_api_answers_as_aws_documents_it(&t).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_rate_limited_key_gets_429() {
                let Some(t) = $setup else { return };
                super::a_rate_limited_key_gets_429(&t).await;
            }
        }
    };
}

url_suite!(on_zts_serve, Some(serve().await));
url_suite!(on_zts_emulate, emulate().await);
