//! `zts serve` checks every workflow definition before it serves anything, and its watchdog
//! ends a looping run with a FAILED project rather than a hang. The definitions come from
//! a copy of the repository's files (`--definitions-root`), each test breaking one.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;
use zts_domain::ProjectId;

const KEY: &str = "zts_workflows_cli_key_00000000000000";

/// A definitions root with the repository's files, `file` replaced by `edit` of it.
fn root_with(file: &str, edit: impl FnOnce(&mut Value)) -> PathBuf {
    let repo = zts::definitions::repository_root();
    let root =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("defs-{}", ProjectId::generate()));
    std::fs::create_dir_all(root.join("workflows")).unwrap();
    for w in zts_domain::workflows::WORKFLOWS {
        std::fs::copy(repo.join(w.definition_file), root.join(w.definition_file)).unwrap();
    }
    let path = root.join(file);
    let mut definition: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    edit(&mut definition);
    std::fs::write(&path, definition.to_string()).unwrap();
    root
}

/// `zts serve` on `root`: its exit status and what it printed to stderr (when it refused),
/// or None when it started (it is killed at once).
fn refusal(root: &Path) -> Option<String> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_zts"))
        .args([
            "serve",
            "--in-memory",
            "--addr",
            "127.0.0.1:0",
            "--api-key",
            KEY,
            "--definitions-root",
        ])
        .arg(root)
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
    if out
        .next()
        .is_some_and(|l| l.is_ok_and(|l| l.contains("listening")))
    {
        child.kill().unwrap();
        child.wait().unwrap();
        return None;
    }
    let status = child.wait().unwrap();
    assert!(!status.success());
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    Some(err)
}

fn refused(file: &str, edit: impl FnOnce(&mut Value)) -> String {
    let root = root_with(file, edit);
    refusal(&root).unwrap_or_else(|| panic!("zts serve started with a broken {file}"))
}

#[test]
fn the_unedited_copies_start() {
    assert_eq!(refusal(&root_with("statemachine.asl.json", |_| {})), None);
}

#[test]
fn a_next_to_an_unknown_state_is_refused_naming_file_and_state() {
    let err = refused("workflows/quick-check.asl.json", |d| {
        d["States"]["Validate"]["Next"] = "Nowhere".into();
    });
    assert!(err.contains("workflows/quick-check.asl.json"), "{err}");
    assert!(err.contains("state \"Validate\""), "{err}");
    assert!(err.contains("Nowhere"), "{err}");
}

#[test]
fn an_unreachable_state_is_refused() {
    let err = refused("statemachine.asl.json", |d| {
        d["States"]["Orphan"] = json!({"Type": "Succeed"});
    });
    assert!(err.contains("statemachine.asl.json"), "{err}");
    assert!(err.contains("state \"Orphan\""), "{err}");
    assert!(err.contains("unreachable"), "{err}");
}

#[test]
fn a_task_whose_function_does_not_exist_is_refused() {
    let err = refused("workflows/triage.asl.json", |d| {
        d["States"]["Advise"]["Resource"] = "${ScorerFunctionArn}".into();
    });
    assert!(err.contains("workflows/triage.asl.json"), "{err}");
    assert!(err.contains("state \"Advise\""), "{err}");
    assert!(err.contains("ScorerFunctionArn"), "{err}");
}

#[test]
fn a_loop_with_no_exit_is_refused() {
    let err = refused("workflows/quick-check.asl.json", |d| {
        d["States"]["Validate"]["Next"] = "Gate".into();
        d["States"]["Gate"] = json!({"Type": "Choice",
            "Choices": [{"Variable": "$.validation.call", "StringEquals": "never", "Next": "Complete"}],
            "Default": "Spin"});
        d["States"]["Spin"] = json!({"Type": "Pass", "Next": "SpinAgain"});
        d["States"]["SpinAgain"] = json!({"Type": "Pass", "Next": "Spin"});
    });
    assert!(err.contains("state \"Spin"), "{err}");
    assert!(err.contains("loop with no exit"), "{err}");
}

#[test]
fn a_definition_running_steps_its_entry_does_not_list_is_refused() {
    let advise = {
        let text = std::fs::read_to_string(
            zts::definitions::repository_root().join("statemachine.asl.json"),
        )
        .unwrap();
        serde_json::from_str::<Value>(&text).unwrap()["States"]["Advise"].clone()
    };
    let err = refused("workflows/quick-check.asl.json", |d| {
        d["States"]["Validate"]["Next"] = "Advise".into();
        d["States"]["Advise"] = advise;
    });
    assert!(
        err.contains("quick-check runs the steps [validator]"),
        "{err}"
    );
    assert!(err.contains("[validator, advisory]"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watchdog_ends_a_looping_run_and_its_project_fails() {
    // A loop with an exit it never takes: the validator's call is always present, so the
    // run goes back to Validate (done, so at once) until the watchdog ends it.
    let root = root_with("workflows/quick-check.asl.json", |d| {
        d["States"]["Validate"]["Next"] = "Again".into();
        d["States"]["Again"] = json!({"Type": "Choice",
            "Choices": [{"Variable": "$.validation.call", "IsPresent": true, "Next": "Validate"}],
            "Default": "Complete"});
    });
    let mut child = Command::new(env!("CARGO_BIN_EXE_zts"))
        .args([
            "serve",
            "--in-memory",
            "--addr",
            "127.0.0.1:0",
            "--api-key",
            KEY,
            "--max-transitions",
            "20",
            "--definitions-root",
        ])
        .arg(&root)
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let url = first
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap()
        .to_string();
    std::thread::spawn(move || for _ in lines {});
    let client = reqwest::Client::new();
    let created: Value = client
        .post(format!("{url}/api/v1/projects"))
        .header("x-api-key", KEY)
        .json(&json!({"name": "a loop", "description": "Dentists lose 10% of slots to no-shows.", "workflow": "quick-check"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["project_id"].as_str().unwrap().to_string();
    let mut status = Value::Null;
    for _ in 0..200 {
        status = client
            .get(format!("{url}/api/v1/projects/{id}/status"))
            .header("x-api-key", KEY)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if status["state"] == "FAILED" || status["state"] == "COMPLETED" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(status["state"], "FAILED", "{status}");
    assert_eq!(status["error"]["code"], "ZeroToShip.Watchdog", "{status}");
    let message = status["error"]["message"].as_str().unwrap();
    assert!(message.contains("20 state transitions"), "{message}");
}
