//! `zts keys` against a running `zts serve` on the same data directory: a new key works at
//! once, `list` shows it without the key itself, `revoke` stops it; a first start with no
//! `--api-key` prints a working key once.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

fn zts(args: &[&str], dir: &std::path::Path) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_zts"))
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// Starts `zts serve`; returns the child, its URL and the key it printed (if any).
fn serve(dir: &std::path::Path, extra: &[&str]) -> (Child, String, Option<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_zts"))
        .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .args(extra)
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
    // A first start prints its key in a box: the one line that is only a key.
    let key = if extra.is_empty() {
        let mut found = None;
        for line in lines.by_ref().take(8) {
            let line = line.unwrap();
            let inner = line.trim_matches(|c: char| c == '|' || c == ' ');
            if inner.starts_with("zts_") && !inner.contains(' ') {
                found = Some(inner.to_string());
                break;
            }
        }
        found
    } else {
        None
    };
    std::thread::spawn(move || for _ in lines {});
    (child, url, key)
}

async fn status_with(url: &str, key: &str) -> u16 {
    reqwest::Client::new()
        .get(format!("{url}/api/v1/projects"))
        .header("x-api-key", key)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_managed_while_the_stack_runs() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("keys-{}", zts_domain::ProjectId::generate()));
    let (mut server, url, printed) = serve(&dir, &[]);
    let first = printed.expect("a first start prints a key");
    assert!(first.starts_with("zts_"), "{first}");
    assert_eq!(status_with(&url, &first).await, 200);

    let (ok, stdout, _) = zts(
        &[
            "keys",
            "create",
            "--owner",
            "bob",
            "--rate",
            "100",
            "--burst",
            "50",
            "--expires",
            "2099-01-31",
        ],
        &dir,
    );
    assert!(ok);
    let bob = stdout.trim().to_string();
    assert!(bob.starts_with("zts_"));
    assert_eq!(
        status_with(&url, &bob).await,
        200,
        "a new key works without a restart"
    );

    let (ok, listing, _) = zts(&["keys", "list"], &dir);
    assert!(ok);
    assert!(
        listing.contains("bob")
            && listing.contains("100/s burst 50")
            && listing.contains("2099-01-31"),
        "{listing}"
    );
    assert!(
        !listing.contains(&bob) && !listing.contains(&first),
        "list shows a key: {listing}"
    );
    let bob_id = listing
        .lines()
        .find(|l| l.contains("bob"))
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();

    // Rotation: a second key for bob works while the first still does.
    let (_, stdout, _) = zts(&["keys", "create", "--owner", "bob"], &dir);
    let bob2 = stdout.trim().to_string();
    assert_eq!(status_with(&url, &bob2).await, 200);
    assert_eq!(status_with(&url, &bob).await, 200);
    let (ok, out, _) = zts(&["keys", "revoke", &bob_id], &dir);
    assert!(ok, "{out}");
    assert_eq!(
        status_with(&url, &bob).await,
        401,
        "a revoked key still works"
    );
    assert_eq!(
        status_with(&url, &bob2).await,
        200,
        "revoking one key stopped the other"
    );

    let (ok, _, err) = zts(&["keys", "revoke", "ffffffffffff"], &dir);
    assert!(!ok && err.contains("no single key"), "{err}");

    // A key already expired is refused, and nothing is created.
    let (ok, _, err) = zts(
        &[
            "keys",
            "create",
            "--owner",
            "late",
            "--expires",
            "2020-01-01",
        ],
        &dir,
    );
    assert!(!ok && err.contains("in the past"), "{err}");
    let (_, listing, _) = zts(&["keys", "list", "--json"], &dir);
    assert!(
        listing
            .lines()
            .all(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["owner"] != "late"),
        "{listing}"
    );
    // Every flag says what it is.
    let (_, help, _) = zts(&["keys", "create", "--help"], &dir);
    for flag in ["--owner", "--rate", "--burst", "--expires"] {
        let line = help
            .lines()
            .find(|l| l.trim_start().starts_with(flag))
            .unwrap_or_else(|| panic!("{flag} missing: {help}"));
        let described = line.trim_start().len() > flag.len() + 12
            || help
                .lines()
                .skip_while(|l| !l.trim_start().starts_with(flag))
                .nth(1)
                .is_some_and(|next| next.starts_with("          "));
        assert!(described, "{flag} has no description: {help}");
    }
    let (ok, _, err) = zts(&["keys", "create", "--owner", "bad#owner"], &dir);
    assert!(!ok && err.contains("--owner"), "{err}");
    server.kill().unwrap();
    server.wait().unwrap();

    // A restart on the same store prints no new key: the existing ones still work.
    let (mut again, url, _) = serve(&dir, &["--rate", "100"]);
    assert_eq!(status_with(&url, &first).await, 200);
    again.kill().unwrap();
    again.wait().unwrap();
}
