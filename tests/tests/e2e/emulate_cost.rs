//! What a project costs, counted (issue #35): projects run to COMPLETED under `zts emulate`
//! (the packaged functions, the template's wiring, moto's DynamoDB), and the counts checked
//! against what the code must do: one invocation of each step function per project, one
//! execution with its three states, and the DynamoDB write units per project within the
//! figure the README states, so a change that adds a write fails here rather than
//! surprising a bill. The client is a program that submits an idea and reads the result
//! once: one create and one read per project, so the figures do not depend on how often
//! someone polls.

use crate::emulate_path::{KEY, emulate_metered};
use std::sync::atomic::Ordering;
use std::time::Duration;
use zts_emulate::counts::projects_created;

/// How many projects the run counts; `ZTS_COST_PROJECTS` sets more for the README's
/// figures (cold starts weigh less over more projects).
fn projects() -> u64 {
    std::env::var("ZTS_COST_PROJECTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(4)
}

/// The Projects table's write request units per project (README "What a project costs":
/// 40 measured with this test's flow on 2026-12-04: 58 before the artifacts were deflated
/// and the commits' dedupe records dropped), held with a margin of 2.
pub const WRITE_UNITS_PER_PROJECT_MAX: f64 = 42.0;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn projects_under_emulate_cost_what_the_code_must_do() {
    let Some(emulation) = emulate_metered().await else {
        return;
    };
    let n = projects();
    let http = zts_tests::Http::with_key(&emulation.base_url, Some(KEY));
    // Watched inside the emulation, not by polling the API (which would bill requests);
    // one project at a time, as a steady trickle of ideas meets warm functions.
    let ended = || {
        let c = &emulation.sfn.counts;
        c.succeeded.load(Ordering::Relaxed) + c.failed.load(Ordering::Relaxed)
    };
    let mut ids = Vec::new();
    for i in 0..n {
        ids.push(http.create(&zts_tests::idea(&format!("counted {i}"))).await);
        for _ in 0..600 {
            if ended() > i {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    assert_eq!(emulation.sfn.counts.succeeded.load(Ordering::Relaxed), n);
    for id in &ids {
        let (status, project) = http.get(&format!("/api/v1/projects/{id}")).await;
        assert_eq!(status, 200, "{project}");
        assert_eq!(project["state"], "COMPLETED", "{project}");
        assert_eq!(
            project["artifacts"].as_object().map(|a| a.len()),
            Some(2),
            "{project}"
        );
    }
    // The broadcaster reads the stream after the last commit: let it finish.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(projects_created(&emulation), n);
    let counts = emulation.counts(n);
    let function = |suffix: &str| {
        counts
            .lambda
            .iter()
            .find(|(name, _)| name.ends_with(suffix))
            .map(|(_, f)| f.clone())
            .unwrap_or_else(|| panic!("no function {suffix}: {counts:?}"))
    };
    for step in ["-validator", "-advisory", "-finalize"] {
        let f = function(step);
        assert_eq!(f.invocations, n, "{step}");
        assert!(f.billed_ms >= f.invocations, "{step}: {f:?}");
        assert_eq!((f.memory_mb, f.architecture.as_str()), (256, "arm64"));
    }
    assert_eq!(counts.executions, n);
    // Validate, Advise, Complete.
    assert_eq!(counts.state_transitions, 3 * n);
    let writes: f64 = counts
        .dynamodb
        .iter()
        .filter(|(table, _)| table.ends_with("-projects"))
        .map(|(_, t)| t.write_units)
        .sum();
    let reads: f64 = counts.dynamodb.values().map(|t| t.read_units).sum();
    let per_project = writes / n as f64;
    eprintln!("counts: {}", serde_json::to_string_pretty(&counts).unwrap());
    let template: serde_norway::Value =
        serde_norway::from_str(zts_emulate::template::TEMPLATE).unwrap();
    let table =
        zts_cost::render(&counts, &zts_cost::fixed_of(&template), zts_cost::PRICES).unwrap();
    eprintln!("{table}");
    assert!(
        per_project <= WRITE_UNITS_PER_PROJECT_MAX,
        "{per_project} Projects-table write units per project, more than the README's {WRITE_UNITS_PER_PROJECT_MAX}"
    );
    // The meter counts: a project is at least its create transaction (META, INPUT,
    // event 1, twice each) and its steps' commits.
    assert!(per_project >= 10.0, "{per_project}");
    assert!(reads > 0.0);
    // One create and one read per project.
    assert_eq!(counts.http_request_units, 2 * n);
    assert!(counts.log_bytes > 0);
    // The template's default tracing (PassThrough) records no X-Ray trace.
    assert_eq!(counts.xray_traces, 0);
    assert!(table.contains("total"));
}
