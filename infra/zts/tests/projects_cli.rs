//! `zts new`, `status`, `get`, `list`, `watch`, `retry`, `cancel`, `export` and `delete`
//! against a running local stack, as a person runs them: a watched run exits 0 with its
//! artifacts printed, a failed one exits 1 with its reason, a dropped WebSocket is rejoined
//! without an event shown twice, and a wrong key, a wrong endpoint or a rate limit each
//! gives one clear line.
//!
//! A test binary of its own: the metrics recorder is global to a process, and another
//! binary's in-process stack counting these projects would break its exact counts.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failed expectation is a failed test"
)]

use std::process::{Command, Output};
use std::time::Duration;
use zts::faults::{Fault, FaultRule};
use zts::{DataLocation, RunningStack, StackConfig};
use zts_domain::auth::Limits;
use zts_domain::project::StepName;

const KEY: &str = "zts_cli_test_key_for_the_local_owner_01";

async fn stack(limits: Limits) -> RunningStack {
    let mut config = StackConfig::new("127.0.0.1:0".parse().unwrap(), DataLocation::InMemory);
    config.api_key = Some(KEY.into());
    config.default_limits = limits;
    config.faults = vec![
        FaultRule {
            step: StepName::Validator,
            name_contains: "doomed".into(),
            fault: Fault::Permanent,
        },
        FaultRule {
            step: StepName::Advisory,
            name_contains: "slow-advice".into(),
            fault: Fault::Delay(Duration::from_millis(1_500)),
        },
        // Every attempt of the first run (the ASL's four), then it works.
        FaultRule {
            step: StepName::Advisory,
            name_contains: "flaky-advice".into(),
            fault: Fault::Transient(4),
        },
    ];
    zts::start(config).await.unwrap()
}

fn generous() -> Limits {
    Limits {
        rate: 1_000.0,
        burst: 1_000,
    }
}

/// Runs zts off the async runtime (the stack answers on it meanwhile).
async fn zts(args: &[&str], endpoint: &str, key: &str) -> Output {
    let args: Vec<String> = args.iter().map(|a| (*a).to_string()).collect();
    let (endpoint, key) = (endpoint.to_string(), key.to_string());
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_zts"))
            .args(&args)
            .env("ZTS_ENDPOINT", endpoint)
            .env("ZTS_API_KEY", key)
            .env("RUST_LOG", "error")
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// The seqs of the event lines (`#3   ✓ validator done …`) a watch printed.
fn seqs(stderr: &str) -> Vec<u64> {
    stderr
        .lines()
        .filter_map(|l| l.strip_prefix('#'))
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect()
}

const IDEA: [&str; 8] = [
    "--description",
    "Independent bookkeepers spend 6 hours a month chasing receipts; we automate the chase.",
    "--hypothesis",
    "At least 20% of 50 bookkeepers will pre-order at $29/month within 2 weeks.",
    "--avatar",
    "independent bookkeeper",
    "--avatar",
    "small accounting firm",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watched_run_exits_0_with_its_artifacts_and_the_other_commands_read_it() {
    let stack = stack(generous()).await;
    let url = stack.http_url();
    let mut args = vec!["new", "--name", "Receipt chaser", "--watch"];
    args.extend(IDEA);
    let out = zts(&args, &url, KEY).await;
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert_eq!(seqs(&stderr), vec![1, 2, 3, 4, 5, 6], "{stderr}");
    assert!(stdout.contains("COMPLETED  100%"), "{stdout}");
    assert!(stdout.contains("Validation: "), "{stdout}");
    assert!(stdout.contains("Advice: "), "{stdout}");
    assert!(
        stdout.contains("success: "),
        "an experiment with its metric: {stdout}"
    );
    let id = stdout
        .split_whitespace()
        .find(|w| w.starts_with('('))
        .unwrap();
    let id = id.trim_matches(['(', ')']).to_string();

    let status = zts(&["status", &id], &url, KEY).await;
    let line = text(&status.stdout);
    assert!(status.status.success());
    assert_eq!(line.lines().count(), 1, "{line}");
    assert!(
        line.starts_with(&format!("{id}  COMPLETED  100%")),
        "{line}"
    );

    let get = zts(&["get", &id, "--json"], &url, KEY).await;
    let project: serde_json::Value = serde_json::from_slice(&get.stdout).unwrap();
    assert_eq!(project["state"], "COMPLETED");
    assert!(project["artifacts"]["advisory"]["content"]["decision"]["call"].is_string());

    let list = zts(&["list"], &url, KEY).await;
    let table = text(&list.stdout);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(
        lines[0].find("STATE"),
        lines[1].find("COMPLETED"),
        "{table}"
    );
    assert!(
        lines[1].starts_with(&id) && lines[1].ends_with("Receipt chaser"),
        "{table}"
    );

    // Attached late, from seq 3: only what came after, then the summary.
    let late = zts(&["watch", &id, "--after-seq", "3"], &url, KEY).await;
    assert!(late.status.success());
    assert_eq!(seqs(&text(&late.stderr)), vec![4, 5, 6]);
    stack.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_cancel_and_export_as_a_person_runs_them() {
    let stack = stack(generous()).await;
    let url = stack.http_url();
    let failed = zts(&["new", "--name", "flaky-advice", "--watch"], &url, KEY).await;
    assert_eq!(failed.status.code(), Some(1), "{}", text(&failed.stderr));
    let id = text(&failed.stdout)
        .split_whitespace()
        .find(|w| w.starts_with('('))
        .unwrap()
        .trim_matches(['(', ')'])
        .to_string();
    // The retried run, followed from the retry's first event: CREATED again, then the
    // advisory (the validator's work is kept), then COMPLETED.
    let retried = zts(&["retry", &id, "--watch"], &url, KEY).await;
    let (stdout, stderr) = (text(&retried.stdout), text(&retried.stderr));
    assert!(retried.status.success(), "{stdout}\n{stderr}");
    assert_eq!(seqs(&stderr), vec![10, 11, 12, 13], "{stderr}");
    assert!(stdout.contains("COMPLETED  100%"), "{stdout}");
    let again = zts(&["retry", &id], &url, KEY).await;
    assert_eq!(again.status.code(), Some(2));
    assert!(
        text(&again.stderr).contains("only a FAILED project can be retried"),
        "{}",
        text(&again.stderr)
    );

    let out = std::env::temp_dir().join(format!("zts-export-{id}.json"));
    let export = zts(&["export", &id, "--out", out.to_str().unwrap()], &url, KEY).await;
    assert!(export.status.success(), "{}", text(&export.stderr));
    let document: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    std::fs::remove_file(&out).unwrap();
    assert_eq!(document["events"].as_array().unwrap().len(), 13);
    assert_eq!(document["project"]["earlier_runs"][0]["run"], 1);

    let slow = zts(&["new", "--name", "slow-advice"], &url, KEY).await;
    let slow_id = text(&slow.stdout).trim().to_string();
    let cancel = zts(&["cancel", &slow_id], &url, KEY).await;
    let line = text(&cancel.stdout);
    assert!(cancel.status.success(), "{}", text(&cancel.stderr));
    assert!(line.starts_with(&format!("{slow_id}  CANCELLED")), "{line}");
    let watched = zts(&["watch", &slow_id], &url, KEY).await;
    assert_eq!(
        watched.status.code(),
        Some(1),
        "a cancelled run is not a success"
    );
    assert!(
        text(&watched.stderr).contains("zts: the run cancelled"),
        "{}",
        text(&watched.stderr)
    );

    let deleted = zts(&["delete", &id], &url, KEY).await;
    assert!(deleted.status.success(), "{}", text(&deleted.stderr));
    assert_eq!(text(&deleted.stderr).trim(), format!("deleted {id}"));
    let gone = zts(&["get", &id], &url, KEY).await;
    assert_eq!(gone.status.code(), Some(2));
    assert!(text(&gone.stderr).contains(&id), "{}", text(&gone.stderr));
    stack.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_run_exits_1_with_its_reason() {
    let stack = stack(generous()).await;
    let out = zts(
        &["new", "--name", "doomed idea", "--watch"],
        &stack.http_url(),
        KEY,
    )
    .await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let reason = stderr.lines().last().unwrap();
    assert!(reason.starts_with("zts: the run failed: "), "{stderr}");
    assert!(text(&out.stdout).contains("FAILED"));
    stack.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_websocket_is_rejoined_and_no_event_is_shown_twice() {
    let stack = stack(generous()).await;
    let url = stack.http_url();
    let watch = tokio::spawn({
        let url = url.clone();
        async move { zts(&["new", "--name", "slow-advice idea", "--watch"], &url, KEY).await }
    });
    // Cut the connection while the advice step is running (it takes 1.5 s; validation
    // is instant, so once the watcher is connected the run is in ADVISORY).
    let mut cut = 0;
    for _ in 0..200 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if !stack.gateway.ids().is_empty() {
            tokio::time::sleep(Duration::from_millis(200)).await;
            for id in stack.gateway.ids() {
                let reason = zts::gateway::CloseReason {
                    code: 1001,
                    reason: "going away".into(),
                };
                cut += usize::from(stack.gateway.close(&id, reason));
            }
            break;
        }
    }
    let out = watch.await.unwrap();
    let stderr = text(&out.stderr);
    assert!(cut > 0, "no connection was open to cut");
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("connection lost (closed 1001 going away)"),
        "{stderr}"
    );
    assert_eq!(seqs(&stderr), vec![1, 2, 3, 4, 5, 6], "{stderr}");
    stack.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_key_a_wrong_endpoint_and_a_rate_limit_each_say_one_line() {
    let stack = stack(Limits {
        rate: 1.0,
        burst: 1,
    })
    .await;
    let url = stack.http_url();
    let bad = zts(&["list"], &url, "zts_wrong_key_000000000000000000000").await;
    let line = text(&bad.stderr);
    assert_eq!(bad.status.code(), Some(2));
    assert_eq!(line.lines().count(), 1, "{line}");
    assert!(line.starts_with("zts: the API refused the key"), "{line}");

    let nowhere = zts(&["list"], "http://127.0.0.1:9", KEY).await;
    let line = text(&nowhere.stderr);
    assert_eq!(nowhere.status.code(), Some(2));
    assert_eq!(line.lines().count(), 1, "{line}");
    assert!(
        line.starts_with("zts: could not reach http://127.0.0.1:9"),
        "{line}"
    );

    // One request per second: the second list waits out Retry-After once and succeeds.
    assert!(zts(&["list"], &url, KEY).await.status.success());
    let paced = zts(&["list"], &url, KEY).await;
    assert!(paced.status.success(), "{}", text(&paced.stderr));
    assert!(text(&paced.stderr).starts_with("rate limited; waiting "));

    let nokey = zts(&["list"], &url, "").await;
    assert_eq!(nokey.status.code(), Some(2));
    assert!(text(&nokey.stderr).contains("pass --api-key or set ZTS_API_KEY"));
    stack.shutdown().await;
}
