//! A project's life after its create, end to end through URLs on the local stack (`zts
//! serve`) and the emulated deployment (`zts emulate`): a run failed by injected faults is
//! retried to COMPLETED from the step that failed, with one artifact per step and its
//! subscribers told; a running project is cancelled and its subscribers see CANCELLED,
//! and the run it ended changes nothing afterwards; the export holds it all.

use serde_json::Value;
use std::time::Duration;
use zts::emulate::runtime::Fault;
use zts::faults::{Fault as LocalFault, FaultRule};
use zts_domain::project::StepName;
use zts_tests::{Http, seqs_of};

use super::emulate_path::{KEY, emulate};

/// A project name the local stack's faults match.
const RETRY_ME: &str = "retry-me";
const CANCEL_ME: &str = "cancel-me";

async fn post(http: &Http, path: &str, key: Option<&str>) -> (u16, Value) {
    let mut request = http.client().post(format!("{}{path}", http.base));
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    let res = request.send().await.expect("POST");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// The retry scenario once the advisory is set to fail every attempt of the first run
/// (four: the ASL's first and three retries) and succeed afterwards. `advisory_ran`: the
/// failing attempts reached the step (locally) rather than failing before the function
/// ran (an injected Lambda error), so run 1's history has an advisory entry.
async fn a_failed_run_is_retried_to_completion(http: &Http, name: &str, advisory_ran: bool) {
    let id = http.create(&zts_tests::idea(name)).await;
    let mut ws = http.watch().await;
    ws.subscribe(&id, 0).await;
    let first = ws.until_terminal(&id).await;
    let failed = first.last().unwrap();
    assert_eq!(failed["state"], "FAILED", "{first:?}");
    assert_eq!(failed["error"]["code"], "ZeroToShip.Transient");
    let failed_seq = failed["seq"].as_u64().unwrap();
    // A retry while running, or of an unknown project, is refused.
    let (status, body) = post(
        http,
        &format!(
            "/api/v1/projects/{}/retry",
            zts_domain::ProjectId::generate()
        ),
        None,
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("not_found"))
    );

    let (status, retried) = post(
        http,
        &format!("/api/v1/projects/{id}/retry"),
        Some("retry-1"),
    )
    .await;
    assert_eq!(status, 202, "{retried}");
    assert_eq!(
        (retried["state"].as_str(), retried["run"].as_u64()),
        (Some("CREATED"), Some(2))
    );
    assert_eq!(retried["progress"], 50, "the validator's work is kept");
    // The same key again is the same retry.
    let (status, replayed) = post(
        http,
        &format!("/api/v1/projects/{id}/retry"),
        Some("retry-1"),
    )
    .await;
    assert_eq!(
        (status, replayed["run"].as_u64()),
        (202, Some(2)),
        "{replayed}"
    );

    let second = ws.until_terminal(&id).await;
    let all: Vec<Value> = first.iter().chain(&second).cloned().collect();
    let seqs = seqs_of(&all, &id);
    assert_eq!(
        seqs,
        (1..=seqs.len() as u64).collect::<Vec<_>>(),
        "gapless across runs"
    );
    let kinds: Vec<String> = second
        .iter()
        .filter(|m| m["project_id"] == id.as_str())
        .map(|m| {
            format!(
                "{}:{}",
                m["event"].as_str().unwrap(),
                m["state"].as_str().or(m["agent"].as_str()).unwrap_or("")
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "status_update:CREATED",
            "status_update:ADVISORY",
            "step_complete:advisory",
            "status_update:COMPLETED"
        ],
        "the new run starts at the step that failed"
    );
    assert_eq!(second[0]["seq"].as_u64(), Some(failed_seq + 1));

    let (status, project) = http.get(&format!("/api/v1/projects/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(project["state"], "COMPLETED");
    assert_eq!(project["run"], 2);
    assert_eq!(project["attempts"], 1, "the last step's attempts");
    let artifacts = project["artifacts"].as_object().unwrap();
    assert_eq!(
        artifacts.keys().map(String::as_str).collect::<Vec<_>>(),
        [StepName::Advisory.as_str(), StepName::Validator.as_str()],
        "one artifact per step"
    );
    let earlier = project["earlier_runs"].as_array().unwrap();
    assert_eq!(earlier.len(), 1);
    assert_eq!(earlier[0]["run"], 1);
    assert_eq!(earlier[0]["state"], "FAILED");
    if advisory_ran {
        assert_eq!(earlier[0]["steps"]["advisory"]["status"], "failed");
        assert_eq!(earlier[0]["steps"]["advisory"]["attempts"], 4);
    } else {
        assert_eq!(earlier[0]["steps"].get("advisory"), None, "{earlier:?}");
    }
    assert_eq!(earlier[0]["steps"]["validator"]["status"], "succeeded");
    // A finished project cannot be retried again.
    let (status, body) = post(http, &format!("/api/v1/projects/{id}/retry"), None).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("state_conflict")),
        "{body}"
    );

    // The export: everything, and every event.
    let res = http
        .client()
        .get(format!("{}/api/v1/projects/{id}/export", http.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["content-disposition"],
        format!("attachment; filename=\"zerotoship-{id}.json\"").as_str()
    );
    let export: Value = res.json().await.unwrap();
    assert_eq!(export["format"], "zerotoship.project-export");
    assert_eq!(export["project"]["earlier_runs"], project["earlier_runs"]);
    assert_eq!(export["project"]["artifacts"], project["artifacts"]);
    assert_eq!(export["project"]["input"]["name"], name);
    let exported: Vec<u64> = export["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(exported, seqs);
}

/// The cancel scenario once the validator is slow (or failing and being retried) for the
/// project: cancelled while it runs, CANCELLED at once for its subscribers, and still
/// CANCELLED, with no further event, after the step that was running has ended.
async fn a_running_project_is_cancelled(http: &Http, name: &str, settle: Duration) {
    let id = http.create(&zts_tests::idea(name)).await;
    let mut ws = http.watch().await;
    ws.subscribe(&id, 0).await;
    let (status, cancelled) = post(http, &format!("/api/v1/projects/{id}/cancel"), None).await;
    assert_eq!(status, 200, "{cancelled}");
    assert_eq!(cancelled["state"], "CANCELLED");
    let seen = ws.until_terminal(&id).await;
    let last = seen.last().unwrap();
    assert_eq!(last["state"], "CANCELLED", "{seen:?}");
    let seqs = seqs_of(&seen, &id);
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());
    // Cancelling again answers the same; retrying a cancelled project is refused.
    let (status, again) = post(http, &format!("/api/v1/projects/{id}/cancel"), None).await;
    assert_eq!((status, again["state"].as_str()), (200, Some("CANCELLED")));
    let (status, body) = post(http, &format!("/api/v1/projects/{id}/retry"), None).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("state_conflict"))
    );
    // The step that was running ends; its commits are refused, so nothing changes.
    tokio::time::sleep(settle).await;
    let (_, status) = http.get(&format!("/api/v1/projects/{id}/status")).await;
    assert_eq!(status["state"], "CANCELLED");
    let (_, events) = http.get(&format!("/api/v1/projects/{id}/events")).await;
    assert_eq!(
        events["last_seq"].as_u64(),
        Some(seqs.len() as u64),
        "{events}"
    );
    // A finished project cannot be cancelled.
    let done = http.create(&zts_tests::idea("finished")).await;
    http.wait_terminal(&done).await;
    let (status, body) = post(http, &format!("/api/v1/projects/{done}/cancel"), None).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("state_conflict")),
        "{body}"
    );
}

async fn local(faults: Vec<FaultRule>) -> (zts::RunningStack, Http) {
    let stack = zts_tests::stack_with(faults, 1_024).await;
    let http = Http::new(&stack);
    (stack, http)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_retries_a_failed_run_from_its_failed_step() {
    let (_stack, http) = local(vec![FaultRule {
        step: StepName::Advisory,
        name_contains: RETRY_ME.into(),
        fault: LocalFault::Transient(4),
    }])
    .await;
    a_failed_run_is_retried_to_completion(&http, RETRY_ME, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_cancels_a_running_project() {
    let (_stack, http) = local(vec![FaultRule {
        step: StepName::Validator,
        name_contains: CANCEL_ME.into(),
        fault: LocalFault::Delay(Duration::from_millis(1_500)),
    }])
    .await;
    a_running_project_is_cancelled(&http, CANCEL_ME, Duration::from_millis(2_000)).await;
}

fn transient() -> Fault {
    Fault::Error {
        error_type: "ZeroToShip.Transient".into(),
        message: "injected".into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulate_retries_a_failed_run_from_its_failed_step() {
    let Some(emulation) = emulate(&[]).await else {
        return;
    };
    // The first run's four advisory attempts fail as Lambda reports a function error.
    for nth in 1..=4 {
        emulation.functions["AdvisoryFunction"].inject(nth, transient());
    }
    let http = Http::with_key(&emulation.base_url, Some(KEY));
    a_failed_run_is_retried_to_completion(&http, RETRY_ME, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulate_cancels_a_running_project_and_stops_its_execution() {
    let Some(emulation) = emulate(&[]).await else {
        return;
    };
    // The validator fails three times; the cancel lands during the retries' back-off.
    for nth in 1..=3 {
        emulation.functions["ValidatorFunction"].inject(nth, transient());
    }
    let http = Http::with_key(&emulation.base_url, Some(KEY));
    a_running_project_is_cancelled(&http, CANCEL_ME, Duration::from_millis(500)).await;
    // Standard: the api also stopped the execution (StopExecution), which ends after the
    // state it was in instead of running the rest of the pipeline.
    let aborted = &emulation.sfn.counts.aborted;
    for _ in 0..100 {
        if aborted.load(std::sync::atomic::Ordering::Relaxed) == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(aborted.load(std::sync::atomic::Ordering::Relaxed), 1);
}
