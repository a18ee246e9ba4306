//! Durability: a write acknowledged by the embedded store survives the process being
//! killed (SIGKILL) right after the acknowledgement.
//!
//! The test re-runs this test binary as a child that writes and prints each id as soon
//! as its call returns; the parent kills the child mid-stream, reopens the data
//! directory and looks for every acknowledged write.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failed expectation is a failed test"
)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use zts_conformance::{commit, new_project, started};
use zts_domain::ports::{CommitOutcome, ProjectStore};
use zts_domain::project::StepName;
use zts_domain::{ProjectId, clock};
use zts_embedded::EmbeddedStore;

const DIR_ENV: &str = "ZTS_DURABILITY_CHILD_DIR";
const ACKS_BEFORE_KILL: usize = 200;

#[test]
#[ignore = "the child half of acknowledged_writes_survive_sigkill; run by it"]
fn child_writes_until_killed() {
    let dir = std::env::var(DIR_ENV).expect("run by acknowledged_writes_survive_sigkill");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async move {
        let store = std::sync::Arc::new(EmbeddedStore::open(dir.as_ref()).unwrap());
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
        // Four concurrent writers, so acknowledgements come out of group commits.
        for w in 0..4 {
            let (store, tx) = (store.clone(), tx.clone());
            tokio::spawn(async move {
                for i in 0.. {
                    let new = new_project("alice", &format!("w{w}-{i}"), clock::now());
                    let id = new.project_id.clone();
                    store.create_project(new).await.unwrap();
                    let _ = tx.send(format!("project {id}"));
                    let outcome = store
                        .commit_step(commit(&id, started(StepName::Validator, 1)))
                        .await
                        .unwrap();
                    let CommitOutcome::Committed { event: Some(e), .. } = outcome else {
                        panic!("no event");
                    };
                    let _ = tx.send(format!("event {id} {}", e.seq));
                }
            });
        }
        let mut out = std::io::stdout().lock();
        while let Some(line) = rx.recv().await {
            writeln!(out, "ACK {line}").unwrap();
            out.flush().unwrap();
        }
    });
}

#[test]
fn acknowledged_writes_survive_sigkill() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("durability-{}", ProjectId::generate()));
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_writes_until_killed",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(DIR_ENV, &dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut acked = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some(ack) = line.strip_prefix("ACK ") {
            acked.push(ack.to_string());
            if acked.len() == ACKS_BEFORE_KILL {
                break;
            }
        }
    }
    child.kill().expect("SIGKILL the child"); // std's kill is SIGKILL on Unix
    let status = child.wait().unwrap();
    assert!(!status.success(), "the child ended by itself: {status:?}");
    assert_eq!(
        acked.len(),
        ACKS_BEFORE_KILL,
        "the child stopped acknowledging early"
    );

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = EmbeddedStore::open(&dir).expect("reopen after the kill");
        for ack in &acked {
            let parts: Vec<&str> = ack.split(' ').collect();
            let id = ProjectId::parse(parts[1]).unwrap();
            match parts[0] {
                "project" => assert!(
                    store.get_meta(&id).await.unwrap().is_some(),
                    "acknowledged project {id} is missing"
                ),
                "event" => {
                    let seq: u64 = parts[2].parse().unwrap();
                    let events = store.events_after(&id, seq - 1, 1).await.unwrap();
                    assert_eq!(
                        events.first().map(|e| e.seq),
                        Some(seq),
                        "event {seq} of {id} is missing"
                    );
                }
                other => panic!("unknown ack {other}"),
            }
        }
    });
}
