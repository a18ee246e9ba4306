//! `zts emulate` as a person runs it: without `--dynamodb-endpoint` it starts its own moto
//! on a free loopback port, prints the URLs and the key, serves the deployment there, and
//! stops moto with itself when interrupted.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .and_then(|p| p.parent())
        .unwrap()
        .to_path_buf()
}

/// The checkout's moto and packages, or a skip outside CI.
fn prerequisites() -> Option<(PathBuf, PathBuf)> {
    let moto = workspace().join("target/tools/bin/moto_server");
    let packages = workspace().join("target/lambda");
    let ready = moto.is_file() && packages.join("api/bootstrap").is_file();
    if !ready {
        let why =
            "moto (infra/scripts/tools.sh) or the packages (infra/scripts/package.sh) are missing";
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{why}");
        eprintln!("skipped: {why}");
        return None;
    }
    Some((moto, packages))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zts_emulate_starts_its_own_moto_and_serves_the_deployment() {
    let Some((moto, packages)) = prerequisites() else {
        return;
    };
    let key = "zts_emulate_cli_key_0000000000000000000";
    let counts_file = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("counts-{}.json", std::process::id()));
    let mut child = Command::new(env!("CARGO_BIN_EXE_zts"))
        .args([
            "emulate",
            "--addr",
            "127.0.0.1:0",
            "--api-key",
            key,
            "--functions",
        ])
        .arg(&packages)
        .args(["--parameter", "Stage=clitest", "--counts"])
        .arg(&counts_file)
        .env("ZTS_MOTO_SERVER", &moto)
        .env_remove("ZTS_DYNAMODB_ENDPOINT")
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = Vec::new();
    let mut base = None;
    for line in lines.by_ref() {
        let line = line.unwrap();
        printed.push(line.clone());
        if let Some(rest) = line.strip_prefix("zts emulate: HTTP API ") {
            base = rest.split_whitespace().next().map(str::to_string);
        }
        if line.starts_with("zts emulate: API key") {
            break;
        }
    }
    let base = base.unwrap_or_else(|| panic!("no HTTP API line: {printed:?}"));
    let moto_url = printed
        .iter()
        .find_map(|l| l.strip_prefix("zts emulate: moto at "))
        .unwrap_or_else(|| panic!("no moto line: {printed:?}"))
        .to_string();
    assert!(
        printed
            .iter()
            .any(|l| l.contains(&format!("{}/clitest", base.replacen("http", "ws", 1)))),
        "{printed:?}"
    );
    let http = reqwest::Client::new();
    let projects = http
        .get(format!("{base}/api/v1/projects"))
        .header("x-api-key", key)
        .send()
        .await
        .unwrap();
    assert_eq!(
        projects.status(),
        200,
        "the api function answered through the emulation"
    );
    let moto_up = http.get(format!("{moto_url}/moto-api/")).send().await;
    assert!(moto_up.is_ok_and(|r| r.status().is_success()));

    // Interrupted (Ctrl-C), it prints its summary and takes its moto with it.
    let interrupted = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(child.wait().unwrap().success());
    assert!(
        rest.iter().any(|l| l.starts_with("executions: 0 started")),
        "{rest:?}"
    );
    // --counts: what the run did, for `zts cost` (one GET, no project: nothing to price).
    let counts: zts_cost::Counts =
        serde_json::from_str(&std::fs::read_to_string(&counts_file).unwrap()).unwrap();
    assert_eq!(counts.projects, 0);
    assert_eq!(counts.lambda["zts-clitest-api"].invocations, 1);
    assert_eq!(counts.http_request_units, 1);
    let priced = Command::new(env!("CARGO_BIN_EXE_zts"))
        .args(["cost", "--counts"])
        .arg(&counts_file)
        .output()
        .unwrap();
    assert!(!priced.status.success());
    assert!(String::from_utf8_lossy(&priced.stderr).contains("no projects were counted"));
    let mut gone = false;
    for _ in 0..50 {
        if http
            .get(format!("{moto_url}/moto-api/"))
            .send()
            .await
            .is_err()
        {
            gone = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(gone, "moto outlived zts emulate");
}
