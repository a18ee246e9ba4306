//! The browser suite's runner: `tests/browser/page.test.mjs` in Debian's Chromium through
//! playwright-core, against a stack a test started. Where the browser or the npm packages
//! are missing it says so and how to install them, and the test passes as skipped —
//! except under CI, where a skipped browser suite fails (the README's test command
//! installs both as root).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository's root (this crate lives in `tests/`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

fn chromium() -> PathBuf {
    std::env::var_os("ZTS_CHROMIUM")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from)
}

/// Why the suite cannot run here, if it cannot.
pub fn missing() -> Option<String> {
    let browser_dir = repo_root().join("tests/browser");
    if !chromium().exists() {
        return Some(format!(
            "no browser at {} (apt-get install chromium, or set ZTS_CHROMIUM)",
            chromium().display()
        ));
    }
    if !browser_dir.join("node_modules/playwright-core").exists() {
        return Some(
            "playwright-core is not installed (npm ci --ignore-scripts --prefix tests/browser)"
                .into(),
        );
    }
    if Command::new("node").arg("--version").output().is_err() {
        return Some("node is not installed".into());
    }
    None
}

/// Whether to run; `false` after saying why not (a panic under CI).
pub fn available(suite: &str) -> bool {
    match missing() {
        None => true,
        Some(why) if std::env::var_os("CI").is_some() => {
            panic!("the browser suite {suite} must run under CI, but {why}")
        }
        Some(why) => {
            eprintln!(
                "SKIPPED the browser suite {suite}: {why}; bash infra/scripts/test.sh installs both"
            );
            false
        }
    }
}

/// Runs the named scenarios (or "all") against `base_url`; screenshots go to
/// `target/browser-screenshots`, named after `label`. Panics with the runner's report
/// when a scenario fails.
pub async fn run(base_url: &str, api_key: &str, scenarios: &str, label: &str) {
    let root = repo_root();
    let shots = root.join("target/browser-screenshots");
    let output = tokio::process::Command::new("node")
        .current_dir(root.join("tests/browser"))
        .args(["--test", "--test-reporter=spec", "page.test.mjs"])
        .env("ZTS_BASE_URL", base_url)
        .env("ZTS_API_KEY", api_key)
        .env("ZTS_SCENARIOS", scenarios)
        .env("ZTS_LABEL", label)
        .env("ZTS_SCREENSHOTS", &shots)
        .env("ZTS_FRAMES_DIR", root.join("target/ws-frames"))
        .env("ZTS_CHROMIUM", chromium())
        .kill_on_drop(true)
        .output()
        .await
        .expect("node starts");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "the browser suite failed:\n{report}"
    );
    // A runner that skipped everything must not pass for one that ran.
    assert!(
        report.contains("pass ") && !report.contains("pass 0"),
        "no browser scenario ran:\n{report}"
    );
    eprintln!("{report}");
}
