//! A project's life after its create, end to end through URLs on the local stack (`zts
//! serve`) and the emulated deployment (`zts emulate`): a run failed by injected faults is
//! retried to COMPLETED from the step that failed, with one artifact per step and its
//! subscribers told; a running project is cancelled and its subscribers see CANCELLED,
//! and the run it ended changes nothing afterwards; the export holds it all; a deleted
//! project is gone from every route, its subscribers told, and (locally) none of its text
//! is left in the store's files.

use serde_json::Value;
use std::time::Duration;
use zts::faults::{Fault as LocalFault, FaultRule};
use zts_domain::project::StepName;
use zts_emulate::runtime::Fault;
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

async fn delete(http: &Http, id: &str) -> u16 {
    http.client()
        .delete(format!("{}/api/v1/projects/{id}", http.base))
        .send()
        .await
        .expect("DELETE")
        .status()
        .as_u16()
}

/// The delete scenario: a project with a live subscriber and an Idempotency-Key, deleted
/// while `running` (cancelled first) or after its run; afterwards every route answers
/// 404, it is not listed, and the old key makes a new project. Returns the deleted id.
async fn a_deleted_project_is_gone_from_every_route(
    http: &Http,
    name: &str,
    running: bool,
) -> String {
    let create = |key: &'static str, name: &str| {
        http.client()
            .post(format!("{}/api/v1/projects", http.base))
            .header("idempotency-key", key)
            .json(&zts_tests::idea(name))
            .send()
    };
    let key = if running {
        "delete-running"
    } else {
        "delete-done"
    };
    let created: Value = create(key, name).await.unwrap().json().await.unwrap();
    let id = created["project_id"].as_str().unwrap().to_string();
    let mut ws = http.watch().await;
    ws.subscribe(&id, 0).await;
    let mut seen = Vec::new();
    if !running {
        seen = ws.until_terminal(&id).await;
    }
    assert_eq!(delete(http, &id).await, 204);
    seen.extend(ws.until(|m| m["event"] == "project_deleted").await);
    let ours: Vec<&Value> = seen
        .iter()
        .filter(|m| m["project_id"] == id.as_str() && m["seq"].is_u64())
        .collect();
    if running {
        let cancelled = &ours[ours.len() - 2];
        assert_eq!(cancelled["state"], "CANCELLED", "{seen:?}");
    }
    let seqs = seqs_of(&seen, &id);
    assert_eq!(
        seqs,
        (1..=seqs.len() as u64).collect::<Vec<_>>(),
        "gapless to the end"
    );
    for path in [
        format!("/api/v1/projects/{id}"),
        format!("/api/v1/projects/{id}/status"),
        format!("/api/v1/projects/{id}/events"),
        format!("/api/v1/projects/{id}/export"),
    ] {
        let (status, body) = http.get(&path).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (404, Some("not_found")),
            "{path}"
        );
    }
    for action in ["retry", "cancel"] {
        let (status, _) = post(http, &format!("/api/v1/projects/{id}/{action}"), None).await;
        assert_eq!(status, 404, "{action}");
    }
    assert_eq!(
        delete(http, &id).await,
        404,
        "a second delete finds nothing"
    );
    let (_, list) = http.get("/api/v1/projects?limit=100").await;
    assert!(
        list["projects"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["project_id"] != id.as_str()),
        "{list}"
    );
    // A new subscription to it is refused like one to a missing project.
    ws.subscribe(&id, 0).await;
    let refused = ws.until(|m| m["event"] == "error").await;
    assert_eq!(refused.last().unwrap()["error"]["code"], "not_found");
    // The old Idempotency-Key does not bring it back: the key is free again, so even
    // another body makes a new project (no conflict with the deleted one).
    let again = create(key, "recreated").await.unwrap();
    assert_eq!(again.status(), 202);
    let again: Value = again.json().await.unwrap();
    assert_ne!(again["project_id"], id.as_str());
    id
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
    // Standard, chosen: only a Standard execution can be stopped (the default is Express).
    let Some(emulation) = emulate(&[("WorkflowType", "STANDARD")]).await else {
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

/// Retention on the local stack: an ended project says until when it is kept, is gone
/// from every route once that passes, and the reconciler's pass (on its timer) removes it
/// from the store; a project within its retention stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_forgets_an_ended_project_after_its_retention() {
    let mut config = zts_tests::config(zts::DataLocation::InMemory);
    config.retention = zts_domain::retention::Retention::after(Duration::from_secs(3));
    config.reconcile_every = Duration::from_millis(200);
    config.reconcile.purge_grace = Duration::ZERO;
    let stack = zts::start(config).await.unwrap();
    let http = Http::new(&stack);
    let id = http
        .create(&zts_tests::idea("kept for three seconds"))
        .await;
    http.wait_terminal(&id).await;
    let (status, project) = http.get(&format!("/api/v1/projects/{id}")).await;
    assert_eq!(status, 200);
    let until = project["retain_until"]
        .as_str()
        .expect("an ended project says until when");
    let until = chrono::DateTime::parse_from_rfc3339(until).unwrap();
    let ended =
        chrono::DateTime::parse_from_rfc3339(project["updated_at"].as_str().unwrap()).unwrap();
    assert_eq!(until - ended, chrono::Duration::seconds(3));

    let project_id = zts_domain::ProjectId::parse(&id).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        use zts_domain::ports::ProjectStore as _;
        let gone = stack.store.get_meta(&project_id).await.unwrap().is_none();
        if gone {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the sweeper never removed it"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for path in [
        format!("/api/v1/projects/{id}"),
        format!("/api/v1/projects/{id}/status"),
        format!("/api/v1/projects/{id}/events?after=0"),
        format!("/api/v1/projects/{id}/export"),
    ] {
        assert_eq!(http.get(&path).await.0, 404, "{path}");
    }
    let (_, list) = http.get("/api/v1/projects").await;
    assert!(
        !list.to_string().contains(&id),
        "an expired project is not listed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_deletes_a_project_and_its_text_leaves_the_store_files() {
    let (stack, http) = local(vec![FaultRule {
        step: StepName::Validator,
        name_contains: "slow-delete".into(),
        fault: LocalFault::Delay(Duration::from_millis(1_500)),
    }])
    .await;
    // A word that appears nowhere but in these projects' text.
    let marker = "zebracornquux";
    let kept = http
        .create(&zts_tests::idea(&format!("kept {marker}")))
        .await;
    http.wait_terminal(&kept).await;
    let done =
        a_deleted_project_is_gone_from_every_route(&http, &format!("done {marker}x"), false).await;
    let running =
        a_deleted_project_is_gone_from_every_route(&http, &format!("slow-delete {marker}y"), true)
            .await;
    // The running project's validator ends after the delete: nothing of it is stored.
    tokio::time::sleep(Duration::from_millis(1_800)).await;
    let files = || {
        let dir = stack.store.path().parent().unwrap().to_path_buf();
        let mut bytes = Vec::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
        }
        bytes
    };
    let holds = |bytes: &[u8], text: &str| bytes.windows(text.len()).any(|w| w == text.as_bytes());
    let bytes = files();
    assert!(
        holds(&bytes, &format!("kept {marker}")),
        "the check can see text that is there"
    );
    for gone in [format!("{marker}x"), format!("{marker}y")] {
        assert!(
            !holds(&bytes, &gone),
            "{gone} is still in the store's files"
        );
    }
    // The purge, after its grace, leaves nothing of either.
    let later = zts_domain::clock::now() + chrono::Duration::minutes(2);
    let report = zts_domain::reconcile::reconcile(
        &*stack.store,
        &stack.workflow,
        later,
        zts_domain::reconcile::ReconcilePolicy::DEFAULT,
    )
    .await
    .unwrap();
    assert_eq!(report.purged, 2);
    for id in [&done, &running] {
        let id = zts_domain::ProjectId::parse(id).unwrap();
        use zts_domain::ports::ProjectStore as _;
        assert_eq!(stack.store.get_meta(&id).await.unwrap(), None);
        assert!(
            stack
                .store
                .events_after(&id, 0, 10)
                .await
                .unwrap()
                .is_empty()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulate_deletes_a_project_and_tells_its_subscribers() {
    let Some(emulation) = emulate(&[]).await else {
        return;
    };
    // The running one: its validator fails three times, so the delete lands mid-run.
    let http = Http::with_key(&emulation.base_url, Some(KEY));
    a_deleted_project_is_gone_from_every_route(&http, "done", false).await;
    for nth in 1..=3 {
        emulation.functions["ValidatorFunction"].inject(nth, transient());
    }
    a_deleted_project_is_gone_from_every_route(&http, "running", true).await;
}
