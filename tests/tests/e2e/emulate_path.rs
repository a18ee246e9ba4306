//! The AWS path as one system, first cut (#13): an HTTP request becomes an API Gateway
//! payload 2.0 event for the packaged api function, whose StartExecution (its SDK pointed
//! at the emulated Step Functions) runs statemachine.asl.json with the template's
//! substitutions, each Task invoking the packaged validator, advisory and finalize
//! functions, all on moto's DynamoDB — until the project is COMPLETED with its six events.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::Duration;
use zts_emulate::runtime::Fault;
use zts_emulate::stack::{EmulateConfig, Emulation, FunctionsDir, start};

pub(crate) const KEY: &str = "zts_emulated_path_key_000000000000000000";

/// The emulated deployment of one test (`zts_emulate::stack`) on a fresh stage, with the
/// parameters `overrides`; `None` (skip) outside CI when moto or the binaries are missing.
pub(crate) async fn emulate(overrides: &[(&str, &str)]) -> Option<Emulation> {
    emulate_with(overrides, 4).await
}

/// [`emulate`] with at most `max_processes` per function (`zts emulate`'s default: a
/// deployment's 1,000, bounded by the machine's memory).
pub(crate) async fn emulate_with(
    overrides: &[(&str, &str)],
    max_processes: usize,
) -> Option<Emulation> {
    emulate_configured(overrides, max_processes, false).await
}

/// [`emulate`] with its DynamoDB calls metered (`zts emulate --counts`).
pub(crate) async fn emulate_metered() -> Option<Emulation> {
    emulate_configured(&[], 4, true).await
}

async fn emulate_configured(
    overrides: &[(&str, &str)],
    max_processes: usize,
    meter_dynamodb: bool,
) -> Option<Emulation> {
    let dir = zts_tests::packages::dir(&zts_tests::packages::FUNCTIONS)?;
    let moto = zts_tests::dynamodb::endpoint()?;
    let mut parameters: BTreeMap<String, String> = overrides
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let stage = format!("e{}", &zts_domain::ProjectId::generate().as_str()[24..36]);
    parameters.insert("Stage".into(), stage);
    let emulation = start(EmulateConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        functions: FunctionsDir::Packages(dir),
        aws_endpoint: moto,
        parameters,
        api_keys: vec![("acme".into(), KEY.into(), None)],
        max_processes,
        connection_limits: Default::default(),
        schedule_every: None,
        meter_dynamodb,
    })
    .await
    .unwrap();
    Some(emulation)
}

/// Creates a project over HTTP and waits for its run to end; returns its id, final state
/// and events.
async fn create_and_wait(base: &str) -> (String, String, serde_json::Value) {
    let id = create(base).await;
    let (state, events) = wait_for_the_end(base, &id).await;
    (id, state, events)
}

async fn create(base: &str) -> String {
    let created = reqwest::Client::new()
        .post(format!("{base}/api/v1/projects"))
        .header("x-api-key", KEY)
        .json(&zts_tests::idea("emulated"))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 202);
    let body: serde_json::Value = created.json().await.unwrap();
    body["project_id"].as_str().unwrap().to_string()
}

/// Waits for the project's run to end; returns its final state and events.
pub(crate) async fn wait_for_the_end(base: &str, id: &str) -> (String, serde_json::Value) {
    let client = reqwest::Client::new();
    let mut state = String::new();
    for _ in 0..600 {
        let status: serde_json::Value = client
            .get(format!("{base}/api/v1/projects/{id}/status"))
            .header("x-api-key", KEY)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        state = status["state"].as_str().unwrap_or_default().to_string();
        if state == "COMPLETED" || state == "FAILED" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let events: serde_json::Value = client
        .get(format!("{base}/api/v1/projects/{id}/events"))
        .header("x-api-key", KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (state, events)
}

fn seqs(events: &serde_json::Value) -> Vec<u64> {
    events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_project_goes_from_an_http_event_through_the_packaged_functions_to_completed() {
    let Some(emulation) = emulate(&[]).await else {
        return;
    };
    let (base, by_logical, sfn) = (
        emulation.base_url.clone(),
        &emulation.functions,
        &emulation.sfn,
    );
    let client = reqwest::Client::new();
    let (id, state, events) = create_and_wait(&base).await;
    assert_eq!(state, "COMPLETED");
    assert_eq!(seqs(&events), [1, 2, 3, 4, 5, 6], "{events}");
    let project: serde_json::Value = client
        .get(format!("{base}/api/v1/projects/{id}"))
        .header("x-api-key", KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let artifacts: Vec<&String> = project["artifacts"].as_object().unwrap().keys().collect();
    assert_eq!(artifacts, ["advisory", "validator"], "{project}");

    // One execution, named by project and run, that succeeded; each function initialised once.
    assert_eq!(sfn.counts.started.load(Ordering::Relaxed), 1);
    assert_eq!(sfn.counts.succeeded.load(Ordering::Relaxed), 1);
    for (id, pool) in by_logical {
        assert!(pool.stats.inits.load(Ordering::Relaxed) <= 1, "{id}");
    }
    // Without a key the route still reaches the api, which refuses (API Gateway does not
    // authenticate this API; the api does).
    let unknown = client
        .get(format!("{base}/api/v1/projects/{id}/status"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 401);
    // The exit summary counts what happened.
    let summary = emulation.summary();
    assert!(
        summary.contains("executions: 1 started, 1 succeeded, 0 failed"),
        "{summary}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_failing_transiently_twice_is_retried_per_the_asl_and_completes_once() {
    let Some(emulated) = emulate(&[]).await else {
        return;
    };
    let validator = &emulated.functions["ValidatorFunction"];
    for nth in [1, 2] {
        validator.inject(
            nth,
            Fault::Error {
                error_type: "ZeroToShip.Transient".into(),
                message: "injected at the Runtime API".into(),
            },
        );
    }
    let (_, state, events) = create_and_wait(&emulated.base_url).await;
    assert_eq!(state, "COMPLETED");
    assert_eq!(seqs(&events), [1, 2, 3, 4, 5, 6], "{events}");
    assert_eq!(validator.stats.invocations.load(Ordering::Relaxed), 3);
    assert_eq!(validator.stats.errors.load(Ordering::Relaxed), 2);
    // The exit summary's retries, per function: Step Functions retried the validator twice.
    assert_eq!(validator.stats.retries.load(Ordering::Relaxed), 2);
    let advisory = &emulated.functions["AdvisoryFunction"];
    assert_eq!(advisory.stats.retries.load(Ordering::Relaxed), 0);
    let summary = emulated.summary();
    let line = summary
        .lines()
        .find(|l| l.starts_with("validator "))
        .unwrap();
    let columns: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(&columns[1..4], ["3", "2", "2"], "{summary}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_whose_answer_never_comes_is_retried_as_a_lambda_timeout() {
    let Some(emulated) = emulate(&[]).await else {
        return;
    };
    // The advisory step does its work but its answer is held past the function's Timeout
    // (8 s): Lambda reports Sandbox.Timedout, the ASL retries, the retry finds the step done.
    let advisory = &emulated.functions["AdvisoryFunction"];
    advisory.inject(1, Fault::Hold);
    let (_, state, events) = create_and_wait(&emulated.base_url).await;
    assert_eq!(state, "COMPLETED");
    assert_eq!(seqs(&events), [1, 2, 3, 4, 5, 6], "{events}");
    assert_eq!(advisory.stats.timeouts.load(Ordering::Relaxed), 1);
    assert_eq!(advisory.stats.invocations.load(Ordering::Relaxed), 2);
    assert_eq!(
        advisory.stats.inits.load(Ordering::Relaxed),
        2,
        "the timed-out environment was replaced"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standard_workflow_runs_the_same_path_once() {
    // The template's default is Express (every other emulated test runs it); Standard is
    // the parameter's other value.
    let Some(emulated) = emulate(&[("WorkflowType", "STANDARD")]).await else {
        return;
    };
    assert_eq!(
        emulated.sfn.workflow_type(),
        zts_emulate::states::WorkflowType::Standard
    );
    let (_, state, events) = create_and_wait(&emulated.base_url).await;
    assert_eq!(state, "COMPLETED");
    assert_eq!(seqs(&events), [1, 2, 3, 4, 5, 6], "{events}");
    assert_eq!(emulated.sfn.counts.started.load(Ordering::Relaxed), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_whose_process_keeps_crashing_fails_the_run_with_lambdas_error() {
    let Some(emulated) = emulate(&[]).await else {
        return;
    };
    // The validator's process is killed with the event in hand, twice: Lambda reports
    // Lambda.Unknown, the ASL retries that once, then catches it into RecordFailure, which
    // the packaged finalize function records. The step never started, so the run goes from
    // CREATED to FAILED with the error Step Functions saw.
    let validator = &emulated.functions["ValidatorFunction"];
    validator.inject(1, Fault::Kill);
    validator.inject(2, Fault::Kill);
    let (_, state, events) = create_and_wait(&emulated.base_url).await;
    assert_eq!(state, "FAILED", "{events}");
    assert_eq!(seqs(&events), [1, 2], "{events}");
    let failed = &events["events"][1];
    assert_eq!(failed["state"], "FAILED", "{events}");
    assert_eq!(failed["error"]["code"], "Lambda.Unknown", "{events}");
    assert_eq!(validator.stats.invocations.load(Ordering::Relaxed), 2);
    assert_eq!(
        emulated.functions["FinalizeFunction"]
            .stats
            .invocations
            .load(Ordering::Relaxed),
        1,
        "one RecordFailure"
    );
    assert_eq!(emulated.sfn.counts.succeeded.load(Ordering::Relaxed), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_that_fails_for_good_records_step_failed_and_the_run_ends_failed() {
    let Some(emulated) = emulate(&[]).await else {
        return;
    };
    // The validator's first three attempts fail transiently at the Runtime API (the
    // function does not run; the ASL backs off between them), and meanwhile the project's
    // INPUT item disappears from the table. The fourth attempt runs the real function: it
    // records the step's start, finds no input (a permanent failure), records
    // `step_failed` with `retryable: false` and fails with ZeroToShip.Invalid, which the ASL
    // does not retry; RecordFailure (the packaged finalize) marks the project FAILED.
    let validator = &emulated.functions["ValidatorFunction"];
    for nth in 1..=3 {
        validator.inject(
            nth,
            Fault::Error {
                error_type: "ZeroToShip.Transient".into(),
                message: "injected at the Runtime API".into(),
            },
        );
    }
    let id = create(&emulated.base_url).await;
    let moto = zts_tests::dynamodb::endpoint().unwrap();
    let project = zts_domain::ProjectId::parse(&id).unwrap();
    zts_tests::dynamodb::client(&moto)
        .delete_item()
        .table_name(format!("zts-{}-projects", emulated.stage))
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(zts_domain::items::project_pk(&project)),
        )
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S(zts_domain::items::INPUT.into()),
        )
        .send()
        .await
        .unwrap();
    let (state, events) = wait_for_the_end(&emulated.base_url, &id).await;
    assert_eq!(state, "FAILED", "{events}");
    let kinds: Vec<(u64, &str)> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["seq"].as_u64().unwrap(), e["event"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            (1, "status_update"),
            (2, "status_update"),
            (3, "step_failed"),
            (4, "status_update")
        ],
        "{events}"
    );
    let step_failed = &events["events"][2];
    assert_eq!(step_failed["agent"], "validator", "{events}");
    assert_eq!(step_failed["retryable"], false, "{events}");
    assert_eq!(
        step_failed["error"]["code"], "ZeroToShip.Invalid",
        "{events}"
    );
    assert_eq!(events["events"][3]["state"], "FAILED", "{events}");
    assert_eq!(validator.stats.invocations.load(Ordering::Relaxed), 4);
    assert_eq!(validator.stats.errors.load(Ordering::Relaxed), 4);
    assert_eq!(
        emulated.functions["FinalizeFunction"]
            .stats
            .invocations
            .load(Ordering::Relaxed),
        1,
        "one RecordFailure"
    );
    // A rejected run is the run doing its job: the execution succeeds (no alarm).
    assert_eq!(emulated.sfn.counts.succeeded.load(Ordering::Relaxed), 1);
}

/// Nobody without a key can make the deployed HTTP API answer 5xx (which would page the
/// on-call through the 5xx alarm): every route and method, garbage credentials, tickets
/// on the WebSocket paths (which reach the api function through `ANY /{proxy+}`, whose
/// role may not redeem them), malformed bodies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_unauthenticated_request_gets_a_5xx_from_the_deployed_http_api() {
    let Some(emulation) = emulate(&[]).await else {
        return;
    };
    let base = emulation.base_url.clone();
    let ticket = zts_tests::Http::with_key(&base, Some(KEY)).ticket().await["ticket"]
        .as_str()
        .unwrap()
        .to_string();
    let garbage_ticket = format!("wst_{}", "A".repeat(43));
    let project = "0192f0c1-0000-7000-8000-000000000000";
    let paths = [
        format!("/ws?ticket={ticket}"),
        format!("/ws/projects/{project}?ticket={garbage_ticket}"),
        "/ws".to_string(),
        "/api/v1/projects".to_string(),
        format!("/api/v1/projects/{project}"),
        format!("/api/v1/projects/{project}/status"),
        format!("/api/v1/projects/{project}/events?after=0"),
        "/api/v1/ws-tickets".to_string(),
        "/nope".to_string(),
        "/health".to_string(),
        "/openapi.json".to_string(),
    ];
    let credentials: [Option<(&str, &str)>; 4] = [
        None,
        Some(("x-api-key", "zts_not_a_key_at_all_000000000000000000")),
        Some(("authorization", "Bearer")),
        Some(("authorization", "Basic dXNlcjpwYXNz")),
    ];
    let client = reqwest::Client::new();
    let mut asked = 0;
    for path in &paths {
        for method in [
            reqwest::Method::GET,
            reqwest::Method::POST,
            reqwest::Method::DELETE,
        ] {
            for credential in credentials {
                let mut request = client
                    .request(method.clone(), format!("{base}{path}"))
                    .header("content-type", "application/json")
                    .body("{not json");
                if let Some((name, value)) = credential {
                    request = request.header(name, value);
                }
                let status = request.send().await.unwrap().status().as_u16();
                assert!(
                    status < 500,
                    "{method} {path} with {credential:?}: {status}"
                );
                asked += 1;
            }
        }
    }
    assert_eq!(asked, paths.len() * 3 * credentials.len());
    // The ticket was not spent by any of them.
    let endpoint = zts_tests::dynamodb::endpoint().unwrap();
    let keys = zts_aws::DynamoKeyStore::new(
        zts_tests::dynamodb::client(&endpoint),
        format!("zts-{}-apikeys", emulation.stage),
    );
    let owner = zts_domain::auth::redeem_ticket(&keys, &ticket, zts_domain::clock::now())
        .await
        .unwrap();
    assert!(owner.is_some(), "the HTTP API spent a WebSocket ticket");
}
