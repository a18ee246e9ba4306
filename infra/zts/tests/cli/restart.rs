//! A stack killed (SIGKILL) with 100 runs in flight and restarted on the same data
//! directory finishes every run, and every project's events stay gapless and unique.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use zts_domain::ProjectId;
use zts_domain::ports::ProjectStore;
use zts_embedded::EmbeddedStore;

const RUNS: usize = 100;
const KEY: &str = "zts_restart_test_key_000000000000";

struct Server {
    child: Child,
    url: String,
}

fn serve(dir: &std::path::Path) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_zts"))
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--api-key",
            KEY,
            "--rate",
            "10000",
            "--burst",
            "10000",
            "--data-dir",
        ])
        .arg(dir)
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start zts serve");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().expect("a first line").expect("stdout");
    let url = first
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("the listening URL")
        .to_string();
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Server { child, url }
}

fn idea(i: usize) -> Value {
    json!({
        "name": format!("restart test {i}"),
        "description": "Clinics lose 10% of appointments to no-shows; we text patients the day before.",
        "hypothesis": "At least 30% of 20 clinics we contact will pay $49/month within a month.",
        "target_avatars": ["clinic manager"],
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_in_flight_survive_sigkill_and_finish_after_restart() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("restart-{}", ProjectId::generate()));
    let mut first = serve(&dir);
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-api-key", KEY.parse().unwrap());
    let client = reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap();
    let mut creates = tokio::task::JoinSet::new();
    for i in 0..RUNS {
        let (client, url) = (client.clone(), first.url.clone());
        creates.spawn(async move {
            let res = client
                .post(format!("{url}/api/v1/projects"))
                .json(&idea(i))
                .send()
                .await
                .expect("POST");
            assert_eq!(res.status(), 202);
            let body: Value = res.json().await.unwrap();
            body["project_id"].as_str().unwrap().to_string()
        });
    }
    let mut ids = Vec::new();
    while let Some(id) = creates.join_next().await {
        ids.push(id.unwrap());
    }
    first.child.kill().expect("SIGKILL"); // std's kill is SIGKILL on Unix
    first.child.wait().unwrap();

    // How many were still running when the process died (reported, for the record).
    let unfinished = {
        let store = EmbeddedStore::open(&dir).expect("reopen after the kill");
        let mut n = 0;
        for id in &ids {
            let meta = store
                .get_meta(&ProjectId::parse(id).unwrap())
                .await
                .unwrap()
                .expect("every acknowledged project is stored");
            if !meta.state.is_terminal() {
                n += 1;
            }
        }
        n
    };
    println!("{unfinished} of {RUNS} runs were in flight at the kill");

    let mut second = serve(&dir);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    for id in &ids {
        loop {
            let status: Value = client
                .get(format!("{}/api/v1/projects/{id}/status", second.url))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if matches!(status["state"].as_str(), Some("COMPLETED" | "FAILED")) {
                assert_eq!(status["state"], "COMPLETED", "{id}: {status}");
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{id} never finished after the restart: {status}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let events: Value = client
            .get(format!("{}/api/v1/projects/{id}/events", second.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let seqs: Vec<u64> = events["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["seq"].as_u64().unwrap())
            .collect();
        assert_eq!(
            seqs,
            (1..=6).collect::<Vec<_>>(),
            "{id}: gaps or duplicates"
        );
    }
    second.child.kill().unwrap();
    second.child.wait().unwrap();
}
