//! The emulation's Lambda Runtime API running a real function package (the validator's
//! package, built by infra/scripts/package.sh before the tests) against moto: the function's own errors, Lambda's
//! timeout and crash reports, one process per concurrent invocation under a cap, init
//! counted once per process, and faults injected at the Runtime API.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use zts_emulate::runtime::{Fault, FunctionPool, InvokeError, Launch};
use zts_emulate::template::{Pseudo, TEMPLATE, Template};

/// The validator's package (see `zts_tests::packages`). Outside CI a missing one skips.
fn validator_binary() -> Option<PathBuf> {
    Some(zts_tests::packages::dir(&["validator"])?.join("validator/bootstrap"))
}

/// The validator as the template deploys it, on fresh moto tables named for a unique stage.
async fn validator_pool(
    max_processes: usize,
    timeout: Option<Duration>,
) -> Option<Arc<FunctionPool>> {
    let bootstrap = validator_binary()?;
    let endpoint = zts_tests::dynamodb::endpoint()?;
    let stage = format!("t{}", &zts_domain::ProjectId::generate().as_str()[24..36]);
    let template = Template::parse(TEMPLATE).unwrap();
    let resolver = template
        .resolver(
            &BTreeMap::from([("Stage".to_string(), stage)]),
            Pseudo::default(),
        )
        .unwrap()
        .with_physical("CursorSecret", "arn:unused");
    let client = zts_tests::dynamodb::client(&endpoint);
    for table in ["ProjectsTable", "ConnectionsTable", "ApiKeysTable"] {
        let name = resolver.resolve_property(table, "TableName").unwrap();
        zts_tests::dynamodb::create_table(&client, table, &name).await;
    }
    let mut spec = resolver
        .functions()
        .unwrap()
        .into_iter()
        .find(|f| f.binary == "validator")
        .unwrap();
    if let Some(t) = timeout {
        spec.timeout = t;
    }
    let extra_env = BTreeMap::from([
        ("AWS_ENDPOINT_URL".to_string(), endpoint),
        ("AWS_ACCESS_KEY_ID".into(), "test".into()),
        ("AWS_SECRET_ACCESS_KEY".into(), "test".into()),
        ("AWS_REGION".into(), "us-east-1".into()),
        ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
        ("RUST_LOG".into(), "warn".into()),
    ]);
    Some(FunctionPool::new(
        spec,
        Launch {
            bootstrap,
            extra_env,
            max_processes,
        },
    ))
}

fn step_for_missing_project() -> serde_json::Value {
    serde_json::json!({
        "project_id": zts_domain::ProjectId::generate(),
        "correlation_id": "emulate",
        "execution_id": "arn:aws:states:us-east-1:123456789012:execution:zts:emulate",
        "state": "Validate",
        "retry_count": 0,
        "run": 1,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_error_reaches_the_caller_by_its_type_and_the_process_is_reused() {
    let Some(pool) = validator_pool(4, None).await else {
        return;
    };
    for _ in 0..3 {
        let err = pool.invoke(&step_for_missing_project()).await.unwrap_err();
        assert_eq!(err.states_error(), "ZeroToShip.Invalid", "{err}");
    }
    assert_eq!(
        pool.processes(),
        1,
        "sequential invocations share one environment"
    );
    assert_eq!(pool.stats.inits.load(Ordering::Relaxed), 1, "init once");
    assert_eq!(pool.stats.invocations.load(Ordering::Relaxed), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_invocations_start_more_processes_up_to_the_cap_then_throttle() {
    let Some(pool) = validator_pool(2, None).await else {
        return;
    };
    // Two held invocations occupy both environments; a third is throttled.
    pool.inject(1, Fault::Hold);
    pool.inject(2, Fault::Hold);
    let held: Vec<_> = (0..2)
        .map(|_| {
            let pool = pool.clone();
            tokio::spawn(async move { pool.invoke(&step_for_missing_project()).await })
        })
        .collect();
    let mut waited = Duration::ZERO;
    while pool.processes() < 2 && waited < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(20)).await;
        waited += Duration::from_millis(20);
    }
    // Both are in flight (their environments initialised) before the third arrives.
    while pool.stats.inits.load(Ordering::Relaxed) < 2 && waited < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(20)).await;
        waited += Duration::from_millis(20);
    }
    let third = pool.invoke(&step_for_missing_project()).await.unwrap_err();
    assert_eq!(third, InvokeError::Throttled(2));
    assert_eq!(third.states_error(), "Lambda.TooManyRequestsException");
    for h in held {
        let err = h.await.unwrap().unwrap_err();
        assert!(matches!(err, InvokeError::TimedOut(_)), "{err}");
        assert_eq!(err.states_error(), "Sandbox.Timedout");
    }
    assert_eq!(
        pool.stats.inits.load(Ordering::Relaxed),
        2,
        "one init per process"
    );
    assert_eq!(pool.stats.throttles.load(Ordering::Relaxed), 1);
    assert_eq!(pool.stats.timeouts.load(Ordering::Relaxed), 2);
    assert_eq!(pool.processes(), 0, "timed-out environments are gone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_at_the_runtime_api_report_as_lambda_would() {
    let Some(pool) = validator_pool(2, Some(Duration::from_secs(3))).await else {
        return;
    };
    pool.inject(
        1,
        Fault::Error {
            error_type: "ZeroToShip.Transient".into(),
            message: "injected".into(),
        },
    );
    pool.inject(2, Fault::Kill);
    let first = pool.invoke(&step_for_missing_project()).await.unwrap_err();
    assert_eq!(first.states_error(), "ZeroToShip.Transient");
    let second = pool.invoke(&step_for_missing_project()).await.unwrap_err();
    assert!(matches!(second, InvokeError::Crashed(_)), "{second}");
    assert_eq!(second.states_error(), "Lambda.Unknown");
    // A fresh environment serves the next one, answering as the function does.
    let third = pool.invoke(&step_for_missing_project()).await.unwrap_err();
    assert_eq!(third.states_error(), "ZeroToShip.Invalid");
    assert_eq!(pool.stats.inits.load(Ordering::Relaxed), 2);
}
