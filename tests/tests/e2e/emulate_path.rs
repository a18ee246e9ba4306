//! The AWS path as one system, first cut (#13): an HTTP request becomes an API Gateway
//! payload 2.0 event for the packaged api function, whose StartExecution (its SDK pointed
//! at the emulated Step Functions) runs statemachine.asl.json with the template's
//! substitutions, each Task invoking the packaged validator, advisory and finalize
//! functions, all on moto's DynamoDB — until the project is COMPLETED with its six events.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use zts::emulate::http_api::{HttpApiEmulator, routes};
use zts::emulate::runtime::{Fault, FunctionPool, Launch};
use zts::emulate::states::{EmulatedFunctions, StepFunctionsEmulator};
use zts::emulate::template::{Pseudo, TEMPLATE, Template, api_id};
use zts_domain::auth::{self, ApiKeyRecord, KeyStatus};
use zts_domain::ports::KeyStore;

const KEY: &str = "zts_emulated_path_key_000000000000000000";

/// The workspace's build of each function's binary; outside CI a missing one skips.
fn binaries(names: &[&str]) -> Option<BTreeMap<String, PathBuf>> {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .parent()?
        .join("debug");
    let mut out = BTreeMap::new();
    for name in names {
        let path = dir.join(name);
        if !path.exists() {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("{} is missing: run the workspace's tests", path.display());
            }
            eprintln!("skipped: {} is not built", path.display());
            return None;
        }
        out.insert((*name).to_string(), path);
    }
    Some(out)
}

async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    format!("http://{addr}")
}

/// The emulated deployment of one test: its base URL, its functions by logical id, its
/// Step Functions.
struct Emulated {
    base: String,
    functions: BTreeMap<String, Arc<FunctionPool>>,
    sfn: Arc<StepFunctionsEmulator>,
}

/// Everything CloudFormation would create for a fresh stage, on moto, with the parameters
/// `overrides`; `None` (skip) outside CI when moto or the binaries are missing.
async fn emulate(overrides: &[(&str, &str)]) -> Option<Emulated> {
    let bins = binaries(&["api", "validator", "advisory", "finalize"])?;
    let moto = zts_tests::dynamodb::endpoint()?;
    let stage = format!("e{}", &zts_domain::ProjectId::generate().as_str()[24..36]);
    let template = Template::parse(TEMPLATE).unwrap();

    // What CloudFormation would create: the tables and the cursor secret (on moto).
    let sm = aws_sdk_secretsmanager::Client::from_conf(
        aws_sdk_secretsmanager::Config::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .endpoint_url(&moto)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_secretsmanager::config::Credentials::new(
                "test",
                "test",
                None,
                None,
                "zts-tests",
            ))
            .build(),
    );
    let secret_arn = sm
        .create_secret()
        .name(format!("zts-{stage}-cursor-secret"))
        .secret_string("emulated-cursor-secret-0123456789abcdef")
        .send()
        .await
        .unwrap()
        .arn
        .unwrap();
    let mut parameters: BTreeMap<String, String> = overrides
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    parameters.insert("Stage".into(), stage.clone());
    let resolver = template
        .resolver(&parameters, Pseudo::default())
        .unwrap()
        .with_physical("CursorSecret", &secret_arn);
    let ddb = zts_tests::dynamodb::client(&moto);
    for table in ["ProjectsTable", "ConnectionsTable", "ApiKeysTable"] {
        let name = resolver.resolve_property(table, "TableName").unwrap();
        zts_tests::dynamodb::create_table(&ddb, table, &name).await;
    }
    let keys = zts_aws::DynamoKeyStore::new(
        ddb.clone(),
        resolver
            .resolve_property("ApiKeysTable", "TableName")
            .unwrap(),
    );
    keys.put_key(ApiKeyRecord {
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

    // The Step Functions endpoint first: the api's SDK is pointed at it.
    let sfn_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sfn_url = format!("http://{}", sfn_listener.local_addr().unwrap());
    let extra_env = BTreeMap::from([
        ("AWS_ENDPOINT_URL".to_string(), moto.clone()),
        ("AWS_ENDPOINT_URL_SFN".into(), sfn_url),
        ("AWS_ACCESS_KEY_ID".into(), "test".into()),
        ("AWS_SECRET_ACCESS_KEY".into(), "test".into()),
        ("AWS_REGION".into(), "us-east-1".into()),
        ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
    ]);
    let mut by_logical = BTreeMap::new();
    let mut by_arn = BTreeMap::new();
    for spec in resolver.functions().unwrap() {
        let Some(bootstrap) = bins.get(&spec.binary) else {
            continue;
        };
        let arn = format!(
            "arn:aws:lambda:us-east-1:123456789012:function:{}",
            spec.name
        );
        let logical = spec.logical_id.clone();
        let pool = FunctionPool::new(
            spec,
            Launch {
                bootstrap: bootstrap.clone(),
                extra_env: extra_env.clone(),
                max_processes: 4,
            },
        );
        by_arn.insert(arn, pool.clone());
        by_logical.insert(logical, pool);
    }
    let sfn = Arc::new(
        StepFunctionsEmulator::from_template(
            &resolver,
            "Workflow",
            zts::STATE_MACHINE,
            Arc::new(EmulatedFunctions::new(by_arn)),
        )
        .unwrap(),
    );
    let router = sfn.clone().router();
    tokio::spawn(async move { axum::serve(sfn_listener, router).await.unwrap() });
    let http = HttpApiEmulator::new(routes(&template), by_logical.clone(), api_id("HttpApi"));
    let base = serve(http.router()).await;

    Some(Emulated {
        base,
        functions: by_logical,
        sfn,
    })
}

/// Creates a project over HTTP and waits for its run to end; returns its id, final state
/// and events.
async fn create_and_wait(base: &str) -> (String, String, serde_json::Value) {
    let client = reqwest::Client::new();
    let created = client
        .post(format!("{base}/api/v1/projects"))
        .header("x-api-key", KEY)
        .json(&zts_tests::idea("emulated"))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 202);
    let body: serde_json::Value = created.json().await.unwrap();
    let id = body["project_id"].as_str().unwrap().to_string();

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
    (id, state, events)
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
    let Some(Emulated {
        base,
        functions: by_logical,
        sfn,
    }) = emulate(&[]).await
    else {
        return;
    };
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
    for (id, pool) in &by_logical {
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
    let (_, state, events) = create_and_wait(&emulated.base).await;
    assert_eq!(state, "COMPLETED");
    assert_eq!(seqs(&events), [1, 2, 3, 4, 5, 6], "{events}");
    assert_eq!(validator.stats.invocations.load(Ordering::Relaxed), 3);
    assert_eq!(validator.stats.errors.load(Ordering::Relaxed), 2);
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
    let (_, state, events) = create_and_wait(&emulated.base).await;
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
async fn an_express_workflow_runs_the_same_path_once() {
    let Some(emulated) = emulate(&[("WorkflowType", "EXPRESS")]).await else {
        return;
    };
    assert_eq!(
        emulated.sfn.workflow_type(),
        zts::emulate::states::WorkflowType::Express
    );
    let (_, state, events) = create_and_wait(&emulated.base).await;
    assert_eq!(state, "COMPLETED");
    assert_eq!(seqs(&events), [1, 2, 3, 4, 5, 6], "{events}");
    assert_eq!(emulated.sfn.counts.started.load(Ordering::Relaxed), 1);
}
