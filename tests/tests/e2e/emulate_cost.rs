//! What a project costs, counted (issue #35): projects run to COMPLETED under `zts emulate`
//! (the packaged functions, the template's wiring, moto's DynamoDB), and the counts checked
//! against what the code must do: one invocation of each step function per project, one
//! execution with its three states, and the DynamoDB write units per project within the
//! figure the README states, so a change that adds a write fails here rather than
//! surprising a bill.

use crate::emulate_path::{KEY, emulate_metered, wait_for_the_end};
use zts::emulate::counts::projects_created;

const PROJECTS: u64 = 4;

/// The Projects table's write request units per project (README "What a project costs":
/// 58 measured with this test's flow — create, run to COMPLETED, no WebSocket subscriber —
/// on 2026-12-04), held with a margin of 2.
pub const WRITE_UNITS_PER_PROJECT_MAX: f64 = 60.0;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn projects_under_emulate_cost_what_the_code_must_do() {
    let Some(emulation) = emulate_metered().await else {
        return;
    };
    let base = emulation.base_url.clone();
    let client = reqwest::Client::new();
    for i in 0..PROJECTS {
        let created: serde_json::Value = client
            .post(format!("{base}/api/v1/projects"))
            .header("x-api-key", KEY)
            .json(&zts_tests::idea(&format!("counted {i}")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = created["project_id"].as_str().unwrap().to_string();
        let (state, _) = wait_for_the_end(&base, &id).await;
        assert_eq!(state, "COMPLETED");
    }
    // The broadcaster reads the stream after the last commit: let it finish.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(projects_created(&emulation), PROJECTS);
    let counts = emulation.counts(PROJECTS);
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
        assert_eq!(f.invocations, PROJECTS, "{step}");
        assert!(f.billed_ms >= f.invocations, "{step}: {f:?}");
        assert_eq!((f.memory_mb, f.architecture.as_str()), (256, "arm64"));
    }
    assert_eq!(counts.executions, PROJECTS);
    // Validate, Advise, Complete.
    assert_eq!(counts.state_transitions, 3 * PROJECTS);
    let writes: f64 = counts
        .dynamodb
        .iter()
        .filter(|(table, _)| table.ends_with("-projects"))
        .map(|(_, t)| t.write_units)
        .sum();
    let reads: f64 = counts.dynamodb.values().map(|t| t.read_units).sum();
    let per_project = writes / PROJECTS as f64;
    eprintln!("counts: {}", serde_json::to_string_pretty(&counts).unwrap());
    let template: serde_norway::Value =
        serde_norway::from_str(zts::emulate::template::TEMPLATE).unwrap();
    let table =
        zts::cost::render(&counts, &zts::cost::fixed_of(&template), zts::cost::PRICES).unwrap();
    eprintln!("{table}");
    assert!(
        per_project <= WRITE_UNITS_PER_PROJECT_MAX,
        "{per_project} Projects-table write units per project, more than the README's {WRITE_UNITS_PER_PROJECT_MAX}"
    );
    // The meter counts: a project is at least its create transaction (META, INPUT,
    // event 1, twice each) and its steps' commits.
    assert!(per_project >= 10.0, "{per_project}");
    assert!(reads > 0.0);
    assert!(counts.http_request_units >= PROJECTS);
    assert!(counts.log_bytes > 0);
    let template: serde_norway::Value =
        serde_norway::from_str(zts::emulate::template::TEMPLATE).unwrap();
    let table =
        zts::cost::render(&counts, &zts::cost::fixed_of(&template), zts::cost::PRICES).unwrap();
    eprintln!("{table}");
    assert!(table.contains("total"));
}
