//! `zts backup` and `zts restore` as a person runs them: a backup of a served store says
//! what it copied, never overwrites a file; a restore refuses a directory holding a store
//! unless --force, and a restored store serves the same project.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

fn zts(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_zts"))
        .args(args)
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// Serves `dir` with `key` (until the returned child is killed); answers its URL.
fn serve(dir: &Path, key: &str) -> (std::process::Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_zts"))
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--api-key",
            key,
            "--data-dir",
        ])
        .arg(dir)
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
    (child, url)
}

#[tokio::test]
async fn backup_and_restore_say_what_they_did_and_refuse_what_would_lose_data() {
    let root =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("backup-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let (data, restored, file) = (
        root.join("data"),
        root.join("restored"),
        root.join("b.backup"),
    );
    let key = "zts_backup_cli_test_key_0000000000000000";
    let (mut server, url) = serve(&data, key);
    let created = reqwest::Client::new()
        .post(format!("{url}/api/v1/projects"))
        .header("x-api-key", key)
        .json(&serde_json::json!({"name": "kept through a backup"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 202);
    let id = created.json::<serde_json::Value>().await.unwrap()["project_id"]
        .as_str()
        .unwrap()
        .to_string();

    // While it serves.
    let (code, said) = zts(&[
        "backup",
        "--data-dir",
        data.to_str().unwrap(),
        "--to",
        file.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{said}");
    assert!(said.contains("backed up 1 projects"), "{said}");
    let (code, said) = zts(&[
        "backup",
        "--data-dir",
        data.to_str().unwrap(),
        "--to",
        file.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(said.contains("already exists"), "{said}");
    server.kill().unwrap();
    server.wait().unwrap();

    let (code, said) = zts(&[
        "restore",
        "--from",
        file.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(
        said.contains("already holds a store (1 projects)"),
        "{said}"
    );
    let (code, said) = zts(&[
        "restore",
        "--from",
        file.to_str().unwrap(),
        "--data-dir",
        restored.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{said}");
    assert!(said.contains("restored 1 projects"), "{said}");

    let (mut server, url) = serve(&restored, key);
    let project = reqwest::Client::new()
        .get(format!("{url}/api/v1/projects/{id}"))
        .header("x-api-key", key)
        .send()
        .await
        .unwrap();
    assert_eq!(project.status(), 200);
    server.kill().unwrap();
    server.wait().unwrap();
    let _ = std::fs::remove_dir_all(&root);
}
