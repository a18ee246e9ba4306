//! `zts load` itself: the Python prototype's protocol (for side-by-side runs) against a
//! stand-in server that speaks it, counting a dropped frame as lost; and the CPU figures
//! (the server's, by pid, and the generator's own); the store's cost per project from the
//! local stack's counters; a soak's rounds and memory readings.

use axum::Json;
use axum::extract::ws::{Message, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use zts::load::{Watch, run_measured};

/// Projects in creation order; the second one's watcher gets one frame fewer.
#[derive(Default)]
struct Prototype {
    created: Mutex<HashMap<String, usize>>,
}

async fn create(State(p): State<Arc<Prototype>>) -> Json<Value> {
    let mut created = p.created.lock().unwrap();
    let id = format!("p{}", created.len());
    let n = created.len();
    created.insert(id.clone(), n);
    Json(json!({ "project_id": id, "state": "CREATED" }))
}

async fn watch(
    State(p): State<Arc<Prototype>>,
    Path(id): Path<String>,
    ws: WebSocketUpgrade,
) -> axum::response::Response {
    let drop_one = p.created.lock().unwrap().get(&id) == Some(&1);
    ws.on_upgrade(move |mut socket| async move {
        let mut frames = vec![
            json!({"event": "status_update", "state": "IDEA_VALIDATION"}),
            json!({"event": "step_complete", "agent": "validator"}),
            json!({"event": "step_complete", "agent": "advisory"}),
            json!({"event": "status_update", "state": "COMPLETED"}),
        ];
        if drop_one {
            frames.remove(1);
        }
        for frame in frames {
            let _ = socket.send(Message::Text(frame.to_string().into())).await;
        }
    })
}

async fn prototype() -> String {
    let app = axum::Router::new()
        .route("/health", get(|| async { Json(json!({"status": "ok"})) }))
        .route("/api/v1/projects", post(create))
        .route("/ws/projects/{id}", get(watch))
        .with_state(Arc::new(Prototype::default()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_prototype_protocol_is_measured_and_a_missing_frame_counts_as_lost() {
    let url = prototype().await;
    // The stand-in runs in this process: its pid is ours.
    let report = run_measured(&url, "", 4, 2, Watch::Prototype, Some(std::process::id()))
        .await
        .unwrap();
    assert_eq!((report.completed, report.failed), (4, 0), "{report}");
    assert_eq!(
        (report.lost_events, report.duplicate_events),
        (1, 0),
        "{report}"
    );
    assert!(report.server_cpu.is_some() && report.generator_cpu.is_some());
    assert!(report.per_project_ms(report.server_cpu).is_some());
    let printed = report.to_string();
    assert!(printed.contains("ms/project"), "{printed}");
}

#[tokio::test]
async fn a_server_pid_that_is_no_process_is_refused_before_any_load() {
    let url = prototype().await;
    let err = run_measured(&url, "", 1, 1, Watch::Prototype, Some(u32::MAX))
        .await
        .unwrap_err();
    assert!(
        matches!(err, zts::load::LoadError::NoProcess(u32::MAX)),
        "{err}"
    );
    assert!(err.to_string().contains("no process"), "{err}");
}

/// Against the local stack (in this process, so its pid is ours): the store's counters
/// come from its `/_zts/stats`, per completed project, and are what a run must cost at
/// least: one create, two step commits per step, an artifact per step, the finalize.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_cost_per_project_comes_from_the_servers_own_counters() {
    let stack = zts_tests::stack().await;
    let report = run_measured(
        &stack.http_url(),
        zts_tests::TEST_KEY,
        6,
        3,
        Watch::ProjectLink,
        Some(std::process::id()),
    )
    .await
    .unwrap();
    assert_eq!((report.completed, report.lost_events), (6, 0), "{report}");
    let store = report.store.expect("the local stack serves its counters");
    // create + (start, artifact, success) × 2 + finalize = 8 writes at the very least.
    assert!(store.writes >= 6 * 8, "{store:?}");
    assert!(store.reads > 0 && store.commits > 0 && store.commits <= store.writes);
    assert!(store.fsyncs <= store.commits && store.rows_written >= store.writes);
    assert!(report.server_storage_bytes.is_some(), "{report}");
    let printed = report.to_string();
    assert!(
        printed.contains("writes")
            && printed.contains("fsyncs")
            && printed.contains("KiB to storage"),
        "{printed}"
    );
    stack.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_soak_repeats_rounds_until_its_time_is_up_and_reads_memory_after_each() {
    let stack = zts_tests::stack().await;
    let soak = zts::load::soak::run(
        &stack.http_url(),
        zts_tests::TEST_KEY,
        3,
        3,
        Watch::ProjectLink,
        std::process::id(),
        std::time::Duration::from_secs(3),
    )
    .await
    .unwrap();
    assert!(soak.rounds.len() >= 2, "{soak}");
    assert!(soak.clean(), "{soak}");
    assert!(soak.rounds.iter().all(|r| r.resident_bytes > 0));
    let (warm, later) = soak.growth_after_warm_up().unwrap();
    assert!(soak.peak_resident_bytes >= warm.max(later), "{soak}");
    let printed = soak.to_string();
    assert!(printed.contains("after round 1"), "{printed}");
    stack.shutdown().await;
}
