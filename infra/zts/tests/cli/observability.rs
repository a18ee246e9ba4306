//! What operators see of a local stack (ARCHITECTURE.md §11): its Prometheus metrics count a
//! known mix of runs exactly and name no key, owner or project; every log line of one run
//! carries its correlation id; a hostile correlation id is replaced, never logged.
//!
//! The `metrics` facade and `tracing` have one global recorder and subscriber per process,
//! so this is the only test of this binary that runs a stack in process.

use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tracing_subscriber::fmt::MakeWriter;
use zts::faults::{Fault, FaultRule};
use zts::{DataLocation, StackConfig};
use zts_domain::project::StepName;

const KEY: &str = "zts_observability_test_key_0000001";

#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<u8>>>);

impl Write for Lines {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Lines {
    type Writer = Lines;
    fn make_writer(&'a self) -> Lines {
        self.clone()
    }
}

impl Lines {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    fn json(&self) -> Vec<Value> {
        self.text()
            .lines()
            .map(|l| serde_json::from_str(l).expect("every line is one JSON object"))
            .collect()
    }
}

/// A Prometheus text page as (name, sorted labels) → value.
fn parse(page: &str) -> BTreeMap<(String, String), f64> {
    let mut out = BTreeMap::new();
    for line in page
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (series, value) = line.rsplit_once(' ').expect("series value");
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => {
                let mut labels: Vec<&str> = rest.trim_end_matches('}').split(',').collect();
                labels.sort_unstable();
                (name.to_string(), labels.join(","))
            }
            None => (series.to_string(), String::new()),
        };
        out.insert((name, labels), value.parse().expect("a number"));
    }
    out
}

fn value(page: &BTreeMap<(String, String), f64>, name: &str, labels: &[(&str, &str)]) -> f64 {
    let mut wanted: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    wanted.sort_unstable();
    page.get(&(name.to_string(), wanted.join(",")))
        .copied()
        .unwrap_or(0.0)
}

fn idea(name: &str) -> Value {
    json!({
        "name": name,
        "description": "Independent bookkeepers spend 6 hours a month chasing receipts; we automate the chase.",
        "hypothesis": "At least 20% of 50 bookkeepers will pre-order at $29/month within 2 weeks.",
        "target_avatars": ["independent bookkeeper"],
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_runs_exactly_and_every_line_of_a_run_carries_its_correlation_id() {
    let logs = Lines::default();
    tracing::subscriber::set_global_default(
        tracing_subscriber::fmt()
            .with_env_filter("info,broadcaster=debug")
            .fmt_fields(tracing_subscriber::fmt::format::JsonFields::new())
            .event_format(zts_telemetry::PowertoolsJson::new("zts", false))
            .with_writer(logs.clone())
            .finish(),
    )
    .unwrap();
    let metrics_url = zts::prometheus::serve("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();

    let mut config = StackConfig::new("127.0.0.1:0".parse().unwrap(), DataLocation::InMemory);
    config.api_key = Some(KEY.into());
    config.default_limits = zts_domain::auth::Limits {
        rate: 10_000.0,
        burst: 10_000,
    };
    config.faults = vec![
        FaultRule {
            step: StepName::Validator,
            name_contains: "retry-me".into(),
            fault: Fault::Transient(1),
        },
        FaultRule {
            step: StepName::Validator,
            name_contains: "reject-me".into(),
            fault: Fault::Permanent,
        },
    ];
    config.reconcile_every = Duration::from_millis(100);
    let stack = zts::start(config).await.unwrap();
    let base = stack.http_url();
    let client = reqwest::Client::new();
    let create = |body: Value, headers: Vec<(&'static str, String)>| {
        let mut req = client
            .post(format!("{base}/api/v1/projects"))
            .header("x-api-key", KEY)
            .json(&body);
        for (k, v) in headers {
            req = req.header(k, v);
        }
        req.send()
    };

    // Four projects: two clean, one whose validator fails once and is retried, one whose
    // idea the validator rejects; the first is created twice with one Idempotency-Key.
    let traced = "order-4711-trace";
    let mut ids = Vec::new();
    for (name, headers) in [
        (
            "clean one",
            vec![
                ("x-correlation-id", traced.to_string()),
                ("idempotency-key", "k-1".into()),
            ],
        ),
        ("clean two", vec![]),
        ("retry-me", vec![]),
        ("reject-me", vec![]),
    ] {
        let res = create(idea(name), headers).await.unwrap();
        assert_eq!(res.status(), 202);
        let body: Value = res.json().await.unwrap();
        ids.push(body["project_id"].as_str().unwrap().to_string());
    }
    let replay = create(
        idea("clean one"),
        vec![
            ("x-correlation-id", traced.to_string()),
            ("idempotency-key", "k-1".into()),
        ],
    )
    .await
    .unwrap();
    assert_eq!(replay.status(), 202);
    assert_eq!(
        replay.headers()["x-correlation-id"].to_str().unwrap(),
        traced
    );
    // A hostile correlation id: 10 KB, then one with a space, then bytes beyond ASCII.
    let hostile = format!("evil-{}", "x".repeat(10 * 1024));
    let mut replaced = Vec::new();
    for bad in [
        reqwest::header::HeaderValue::from_str(&hostile).unwrap(),
        reqwest::header::HeaderValue::from_static("two words"),
        reqwest::header::HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap(),
    ] {
        let res = client
            .post(format!("{base}/api/v1/projects"))
            .header("x-api-key", KEY)
            .header("x-correlation-id", bad.clone())
            .json(&json!({"name": ""}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 422);
        let answered = res.headers()["x-correlation-id"].clone();
        assert_ne!(answered, bad);
        assert!(answered.len() <= 128 && answered.to_str().is_ok());
        replaced.push(answered.to_str().unwrap().to_string());
    }
    let unauthorized = client
        .get(format!("{base}/api/v1/projects"))
        .header("x-api-key", "zts_not_a_key_anyone_has_000000000")
        .send()
        .await
        .unwrap();
    assert_eq!(unauthorized.status(), 401);

    // Every run ends: three COMPLETED, the rejected one FAILED.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    for id in &ids {
        loop {
            let status: Value = client
                .get(format!("{base}/api/v1/projects/{id}/status"))
                .header("x-api-key", KEY)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if matches!(status["state"].as_str(), Some("COMPLETED" | "FAILED")) {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "{id}: {status}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    // "Where is my project?": the project names its correlation id and executions.
    let project: Value = client
        .get(format!("{base}/api/v1/projects/{}", ids[0]))
        .header("x-api-key", KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(project["correlation_id"], traced);
    assert_eq!(project["executions"], json!([format!("{}-1", ids[0])]));
    // The last event is committed before the broadcaster sees it: let it catch up.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let page = reqwest::get(&metrics_url)
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let m = parse(&page);
    let wf = ("workflow_name", "idea-to-advice");
    assert_eq!(
        value(&m, "zerotoship_project_creations_total", &[wf]),
        4.0,
        "{page}"
    );
    assert_eq!(value(&m, "zerotoship_project_replays_total", &[wf]), 1.0);
    for (status, n) in [("completed", 3.0), ("rejected", 1.0), ("failed", 0.0)] {
        assert_eq!(
            value(
                &m,
                "zerotoship_workflow_executions_total",
                &[wf, ("status", status)]
            ),
            n,
            "{status}"
        );
    }
    for step in ["validator", "advisory"] {
        assert_eq!(
            value(&m, "zerotoship_steps_succeeded_total", &[("step", step)]),
            3.0
        );
    }
    let failed = |t| {
        value(
            &m,
            "zerotoship_steps_failed_total",
            &[("step", "validator"), ("error_type", t)],
        )
    };
    assert_eq!(failed("ZeroToShip.Transient"), 1.0);
    assert_eq!(failed("ZeroToShip.Invalid"), 1.0);
    assert_eq!(
        value(
            &m,
            "zerotoship_steps_retried_total",
            &[("step", "validator")]
        ),
        1.0
    );
    assert_eq!(
        value(
            &m,
            "zerotoship_steps_retried_total",
            &[("step", "advisory")]
        ),
        0.0
    );
    // Every attempt is timed: 3 successes and 2 failures of the validator.
    assert_eq!(
        value(
            &m,
            "zerotoship_step_duration_seconds_count",
            &[("step", "validator")]
        ),
        5.0
    );
    assert_eq!(
        value(
            &m,
            "zerotoship_step_duration_seconds_count",
            &[("step", "advisory")]
        ),
        3.0
    );
    // 6 events per clean run, one more for the retry, 4 for the rejection.
    assert_eq!(
        value(&m, "zerotoship_events_published_total", &[]),
        6.0 + 6.0 + 7.0 + 4.0
    );
    assert_eq!(
        value(
            &m,
            "zerotoship_errors_total",
            &[("error_type", "validation_failed")]
        ),
        3.0
    );
    assert_eq!(
        value(
            &m,
            "zerotoship_errors_total",
            &[("error_type", "unauthorized")]
        ),
        1.0
    );
    assert_eq!(value(&m, "zerotoship_auth_rejected_total", &[]), 1.0);
    assert_eq!(value(&m, "zerotoship_cold_starts_total", &[]), 1.0);
    assert!(value(&m, "zerotoship_request_processing_seconds_count", &[]) >= 9.0);
    // The gauges: each reconciler pass samples the open connections and subscriptions
    // (two connections, one following two projects; one past its TTL is not open).
    use zts_domain::ports::ConnectionStore as _;
    let now = zts_domain::clock::now();
    for (n, ttl) in [(0, 3600), (1, 3600), (2, -60)] {
        let id = zts_domain::ConnectionId::generate();
        stack
            .connections
            .put_connection(zts_domain::ports::ConnectionRecord {
                connection_id: id.clone(),
                owner: zts_domain::Owner::parse("gauge").unwrap(),
                endpoint: base.clone(),
                connected_at: now,
                subscriptions: Vec::new(),
                ttl: now.timestamp() + ttl,
            })
            .await
            .unwrap();
        for project in ids.iter().take(if n == 0 { 2 } else { 1 }) {
            let project = zts_domain::ProjectId::parse(project).unwrap();
            stack.connections.subscribe(&id, &project).await.unwrap();
        }
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let sampled = parse(
            &reqwest::get(&metrics_url)
                .await
                .unwrap()
                .text()
                .await
                .unwrap(),
        );
        let open = (
            value(&sampled, "zerotoship_connections_active", &[]),
            value(&sampled, "zerotoship_subscriptions_active", &[]),
        );
        if open == (2.0, 3.0) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "gauges stuck at {open:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // No metric names a key, an owner, a project or a correlation id.
    for secret in [KEY, traced]
        .iter()
        .copied()
        .chain(ids.iter().map(String::as_str))
    {
        assert!(!page.contains(secret), "/metrics leaks {secret}");
    }
    for line in page.lines().filter(|l| l.starts_with("zerotoship_")) {
        let name = line.split(['{', ' ']).next().unwrap();
        let base = name
            .trim_end_matches("_count")
            .trim_end_matches("_sum")
            .trim_end_matches("_bucket");
        assert!(
            zts_domain::metrics::find(name).is_some() || zts_domain::metrics::find(base).is_some(),
            "{name} is not a defined metric"
        );
    }

    // Every line about the traced project carries its correlation id: the request, the
    // steps, the run's end, the broadcasts.
    let lines = logs.json();
    let of_project: Vec<&Value> = lines
        .iter()
        .filter(|l| l["project_id"].as_str() == Some(ids[0].as_str()))
        .collect();
    for message in ["request", "step succeeded", "run ended", "event broadcast"] {
        assert!(
            of_project.iter().any(|l| l["message"] == message),
            "no {message:?} line for the project: {of_project:#?}"
        );
    }
    for line in &of_project {
        assert_eq!(line["correlation_id"], traced, "{line}");
        for key in ["level", "message", "timestamp", "service"] {
            assert!(line.get(key).is_some(), "{key} missing: {line}");
        }
    }
    let request = of_project
        .iter()
        .find(|l| l["message"] == "request")
        .unwrap();
    assert_eq!(request["route"], "/api/v1/projects");
    assert_eq!(request["method"], "POST");
    assert_eq!(request["status"], 202);
    assert_eq!(
        request["key_id"],
        zts_domain::auth::key_id(&zts_domain::auth::hash(KEY))
    );
    // A hostile id reached no line; what replaced it did (the request lines).
    let text = logs.text();
    assert!(!text.contains("evil-xxxx") && !text.contains("two words"));
    assert!(!text.contains(KEY), "a log line holds the key");
    for id in &replaced {
        assert!(
            lines
                .iter()
                .any(|l| l["correlation_id"] == id.as_str() && l["status"] == 422),
            "no request line for {id}"
        );
    }
    stack.shutdown().await;
}

#[test]
fn zts_health_says_in_one_line_when_nothing_answers_and_exits_2() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_zts"))
        .args(["health", "--endpoint", "http://127.0.0.1:9"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("zts health: http://127.0.0.1:9/health/ready did not answer"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}
