//! `zts backup` / `zts restore` (README: Backup and restore): a backup taken while the local
//! stack is under load — runs in flight, creates continuing — restores to a store that is
//! consistent (every project's events gapless, its state the one its last event says) and
//! that finishes the runs that were in flight; a restore refuses a directory that already
//! holds a store.

use serde_json::Value;
use std::time::Duration;
use zts::DataLocation;
use zts::faults::{Fault, FaultRule};
use zts_domain::ProjectId;
use zts_domain::project::StepName;
use zts_embedded::backup::{self, BackupError};
use zts_tests::Http;

/// Every project of the test key's owner, through the API (every page).
async fn all_projects(http: &Http) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/projects?limit=100&cursor={c}"),
            None => "/api/v1/projects?limit=100".to_string(),
        };
        let (status, page) = http.get(&path).await;
        assert_eq!(status, 200, "{page}");
        ids.extend(
            page["projects"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["project_id"].as_str().unwrap().to_string()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return ids,
        }
    }
}

/// A project's events are 1..=N without a gap, and its state is the one its last status
/// says.
async fn assert_consistent(http: &Http, id: &str) {
    let (_, status) = http.get(&format!("/api/v1/projects/{id}/status")).await;
    let (_, events) = http
        .get(&format!("/api/v1/projects/{id}/events?limit=1000"))
        .await;
    let events = events["events"].as_array().unwrap();
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>(), "{id}");
    let last_status = events
        .iter()
        .rev()
        .find(|e| e["event"] == "status_update")
        .unwrap();
    assert_eq!(last_status["state"], status["state"], "{id}: {events:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_under_load_restores_to_a_consistent_store_that_finishes_its_runs() {
    let root = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("backup-{}", ProjectId::generate()));
    let (data, restored, file) = (
        root.join("data"),
        root.join("restored"),
        root.join("zts.backup"),
    );
    let mut config = zts_tests::config(DataLocation::Dir(data.clone()));
    // The advice takes a while, so runs are in flight when the backup is taken.
    config.faults = vec![FaultRule {
        step: StepName::Advisory,
        name_contains: "slow".into(),
        fault: Fault::Delay(Duration::from_millis(1_500)),
    }];
    let stack = zts::start(config).await.unwrap();
    let http = Http::new(&stack);
    let creator = Http::new(&stack);
    let creating = tokio::spawn(async move {
        for i in 0..30 {
            creator.create(&zts_tests::idea(&format!("slow {i}"))).await;
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    });
    // The backup is taken once an execution is persisted (a run in flight), however slow
    // the machine: a fixed pause raced the first start on a loaded CI machine.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while stack.store.load_executions().await.unwrap().is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no run started within 20 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (from, to) = (data.clone(), file.clone());
    let mut steps = 0;
    let copied = tokio::task::spawn_blocking(move || {
        backup::backup(&from, &to, &mut |p| {
            assert!(p.remaining <= p.total);
            steps += 1;
        })
        .map(|c| (c, steps))
    })
    .await
    .unwrap()
    .unwrap();
    let (copied, steps) = copied;
    creating.await.unwrap();
    assert!(steps >= 1, "progress was reported");
    assert!(copied.projects >= 1 && copied.projects <= 30, "{copied:?}");
    // A second backup to the same file is refused: a backup never overwrites.
    let again = backup::backup(&data, &file, &mut |_| {}).unwrap_err();
    assert!(matches!(again, BackupError::Refused(_)), "{again}");
    stack.shutdown().await;

    // A directory that holds a store is refused; an empty one takes the backup.
    let refused = backup::restore(&file, &data, false, &mut |_| {}).unwrap_err();
    assert!(
        refused.to_string().contains("already holds a store"),
        "{refused}"
    );
    let restore = backup::restore(&file, &restored, false, &mut |_| {}).unwrap();
    assert_eq!(restore.projects, copied.projects);

    // Served again: the runs that were in flight at the backup finish (a run whose start
    // the snapshot missed is the reconciler's, with a short deadline here).
    let mut config = zts_tests::config(DataLocation::Dir(restored.clone()));
    config.reconcile_every = Duration::from_millis(200);
    config.reconcile.start_deadline = Duration::from_secs(1);
    let stack = zts::start(config).await.unwrap();
    assert!(
        stack.resumed >= 1,
        "runs were in flight when the backup was taken"
    );
    let http_restored = Http::new(&stack);
    let ids = all_projects(&http_restored).await;
    assert_eq!(ids.len() as u64, copied.projects);
    for id in &ids {
        let status: Value = http_restored.wait_terminal(id).await;
        assert_eq!(status["state"], "COMPLETED", "{id}");
        assert_consistent(&http_restored, id).await;
    }
    drop(http);
    stack.shutdown().await;
    let _ = std::fs::remove_dir_all(&root);
}
