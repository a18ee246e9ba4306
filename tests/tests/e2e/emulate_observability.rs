//! What operators see of the deployed shape (ARCHITECTURE.md §11), through the packaged
//! functions under `zts emulate`: every EMF document they write is valid EMF in the stage's
//! namespace, names only defined metrics with exactly their labels, and counts a known mix
//! of runs exactly (a retried step, a rejected idea, live pushes); every JSON log line about a project carries its correlation id, across
//! the api, the steps and the broadcaster; a hostile correlation id is replaced, never
//! logged.

use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::Duration;
use zts_emulate::runtime::Fault;

use super::emulate_path::{KEY, emulate, wait_for_the_end};

async fn create(base: &str, name: &str, correlation: Option<&str>) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(format!("{base}/api/v1/projects"))
        .header("x-api-key", KEY)
        .json(&zts_tests::idea(name));
    if let Some(id) = correlation {
        request = request.header("x-correlation-id", id);
    }
    request.send().await.unwrap()
}

/// The sum of a metric's values over every document, for one set of label values.
fn total(docs: &[Value], name: &str, labels: &[(&str, &str)]) -> f64 {
    docs.iter()
        .filter(|d| d.get(name).is_some())
        .filter(|d| labels.iter().all(|(k, v)| d[*k] == *v))
        .map(|d| match &d[name] {
            Value::Array(values) => values.len() as f64,
            v => v.as_f64().unwrap(),
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn packaged_functions_write_valid_emf_and_every_line_of_a_run_carries_its_correlation_id() {
    // The broadcaster's line per event is at debug (README: Observability).
    let Some(emulation) = emulate(&[("LogLevel", "info,broadcaster=debug")]).await else {
        return;
    };
    let base = emulation.base_url.clone();
    // The validator's first invocation fails transiently (as Lambda reports a function
    // error); Step Functions retries it per the ASL.
    emulation.functions["ValidatorFunction"].inject(
        1,
        Fault::Error {
            error_type: "ZeroToShip.Transient".into(),
            message: "injected".into(),
        },
    );
    let traced = "checkout-4711-trace";
    let first = create(&base, "traced", Some(traced)).await;
    assert_eq!(first.status(), 202);
    assert_eq!(first.headers()["x-correlation-id"], traced);
    let traced_id = first.json::<Value>().await.unwrap()["project_id"]
        .as_str()
        .unwrap()
        .to_string();
    // A browser follows it over the deployed WebSocket (ticket, one URL, subscribe) while
    // the validator's retry waits: its later events are pushed live.
    let http = zts_tests::Http::with_key(&base, Some(KEY));
    let mut ws = http.watch().await;
    ws.subscribe(&traced_id, 0).await;
    let refused = reqwest::Client::new()
        .get(format!("{base}/api/v1/projects"))
        .header("x-api-key", "zts_no_such_key_0000000000000000000000")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let second = create(&base, "plain", None).await;
    let plain_id = second.json::<Value>().await.unwrap()["project_id"]
        .as_str()
        .unwrap()
        .to_string();
    // 8 KB: within API Gateway's 10,240 bytes for the request line and headers.
    let hostile = format!("evil-{}", "y".repeat(8 * 1024));
    let res = create(&base, "hostile", Some(&hostile)).await;
    assert_eq!(res.status(), 202);
    let replaced = res.headers()["x-correlation-id"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(replaced.len() <= 128 && !replaced.starts_with("evil-"));
    let hostile_id = res.json::<Value>().await.unwrap()["project_id"]
        .as_str()
        .unwrap()
        .to_string();
    let seen = ws.until_terminal(&traced_id).await;
    assert_eq!(
        zts_tests::seqs_of(&seen, &traced_id),
        (1..=6).collect::<Vec<_>>()
    );
    for id in [&traced_id, &plain_id, &hostile_id] {
        assert_eq!(wait_for_the_end(&base, id).await.0, "COMPLETED", "{id}");
    }
    // A rejected idea: the validator answers ZeroToShip.Invalid (as a refused idea does);
    // the run ends FAILED, counted as rejected, not as a system failure.
    emulation.functions["ValidatorFunction"].inject(
        1,
        Fault::Error {
            error_type: "ZeroToShip.Invalid".into(),
            message: "the idea cannot be analysed".into(),
        },
    );
    let rejected = create(&base, "rejected", None).await;
    let rejected_id = rejected.json::<Value>().await.unwrap()["project_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(wait_for_the_end(&base, &rejected_id).await.0, "FAILED");
    let (_, project) = http.get(&format!("/api/v1/projects/{traced_id}")).await;
    assert_eq!(project["correlation_id"], traced);
    assert_eq!(project["executions"], json!([format!("{traced_id}-1")]));
    // The stream reaches the broadcaster after the commit: wait for its 20 events (six of
    // each completed run, CREATED and FAILED of the rejected one).
    let broadcaster = &emulation.functions["BroadcasterFunction"];
    for _ in 0..200 {
        let published = total(
            &broadcaster.logs.emf_documents(),
            "zerotoship_events_published_total",
            &[],
        );
        if published >= 20.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let namespace = format!("ZeroToShip/{}", emulation.stage);
    let mut docs = Vec::new();
    let mut lines = Vec::new();
    for (id, pool) in &emulation.functions {
        for line in pool.logs.lines() {
            let Ok(value) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            if value.get("_aws").is_none() {
                lines.push((id.clone(), value));
                continue;
            }
            let metrics = zts_telemetry::emf::check(&line)
                .unwrap_or_else(|e| panic!("{id} wrote invalid EMF ({e}): {line}"));
            for m in metrics {
                assert_eq!(m.namespace, namespace, "{line}");
                let defined = zts_domain::metrics::find(&m.name)
                    .unwrap_or_else(|| panic!("{} is not a defined metric", m.name));
                let labels: BTreeSet<String> =
                    defined.labels.iter().map(|l| l.to_string()).collect();
                assert_eq!(m.dimension_sets, vec![labels], "{line}");
                assert_eq!(m.unit.as_deref(), Some(defined.unit.cloudwatch()));
            }
            docs.push(value);
        }
    }
    let wf = ("workflow_name", "idea-to-advice");
    assert_eq!(
        total(&docs, "zerotoship_project_creations_total", &[wf]),
        4.0
    );
    assert_eq!(
        total(
            &docs,
            "zerotoship_workflow_executions_total",
            &[wf, ("status", "rejected")]
        ),
        1.0
    );
    assert_eq!(
        total(
            &docs,
            "zerotoship_workflow_executions_total",
            &[wf, ("status", "failed")]
        ),
        0.0,
        "a rejected idea is not a system failure"
    );
    assert_eq!(
        total(
            &docs,
            "zerotoship_workflow_executions_total",
            &[wf, ("status", "completed")]
        ),
        3.0
    );
    for step in ["validator", "advisory"] {
        assert_eq!(
            total(&docs, "zerotoship_steps_succeeded_total", &[("step", step)]),
            3.0,
            "{step}"
        );
    }
    // The injected error never reached the validator's code; its retry is attempt 2.
    assert_eq!(
        total(
            &docs,
            "zerotoship_steps_retried_total",
            &[("step", "validator")]
        ),
        1.0
    );
    assert_eq!(total(&docs, "zerotoship_steps_failed_total", &[]), 0.0);
    assert_eq!(
        total(
            &docs,
            "zerotoship_step_duration_seconds",
            &[("step", "validator")]
        ),
        3.0
    );
    assert_eq!(total(&docs, "zerotoship_events_published_total", &[]), 20.0);
    assert!(total(&docs, "zerotoship_request_processing_seconds", &[]) >= 4.0);
    // The browser: one connection, one subscription, live pushes; the bad key refused.
    assert_eq!(
        total(
            &docs,
            "zerotoship_connections_total",
            &[("status", "opened")]
        ),
        1.0
    );
    assert_eq!(total(&docs, "zerotoship_subscriptions_total", &[]), 1.0);
    let pushed = total(&docs, "zerotoship_pushes_total", &[("status", "delivered")]);
    assert!((1.0..=6.0).contains(&pushed), "{pushed} pushes");
    assert_eq!(total(&docs, "zerotoship_auth_rejected_total", &[]), 1.0);
    assert_eq!(
        total(
            &docs,
            "zerotoship_errors_total",
            &[("error_type", "unauthorized")]
        ),
        1.0
    );
    // One cold start per process; every function that ran had at least one.
    for service in ["api", "validator", "advisory", "finalize", "broadcaster"] {
        let cold = docs
            .iter()
            .filter(|d| d["service"] == service)
            .map(|d| d["zerotoship_cold_starts_total"].as_f64().unwrap_or(0.0))
            .sum::<f64>();
        assert!(cold >= 1.0, "{service} counted no cold start");
    }

    // Every JSON line about the traced project carries its correlation id, and the api,
    // each step and the broadcaster wrote such lines.
    let of_project: Vec<&(String, Value)> = lines
        .iter()
        .filter(|(_, l)| l["project_id"] == traced_id.as_str())
        .collect();
    let services: BTreeSet<&str> = of_project
        .iter()
        .filter_map(|(_, l)| l["service"].as_str())
        .collect();
    for service in ["api", "validator", "advisory", "finalize", "broadcaster"] {
        assert!(
            services.contains(service),
            "no {service} line: {services:?}"
        );
    }
    for (function, line) in &of_project {
        assert_eq!(line["correlation_id"], traced, "{function}: {line}");
        for key in [
            "level",
            "message",
            "timestamp",
            "service",
            "cold_start",
            "function_request_id",
        ] {
            assert!(line.get(key).is_some(), "{function}: {key} missing: {line}");
        }
    }
    let step_line = of_project
        .iter()
        .find(|(_, l)| l["service"] == "validator" && l["message"] == "step succeeded")
        .unwrap();
    for key in ["execution_id", "step", "attempt"] {
        assert!(step_line.1.get(key).is_some(), "{key}: {}", step_line.1);
    }
    assert_eq!(step_line.1["attempt"], 2);
    // The hostile id reached no line; its project's lines carry what replaced it.
    let all: String = lines.iter().map(|(_, l)| l.to_string()).collect();
    assert!(!all.contains("evil-yyyy"));
    assert!(
        lines
            .iter()
            .filter(|(_, l)| l["project_id"] == hostile_id.as_str())
            .all(|(_, l)| l["correlation_id"] == replaced.as_str())
    );
}
