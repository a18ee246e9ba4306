//! What logs and metrics add to a warm invocation, measured in the function's own process
//! (README: Observability, "What telemetry costs"). The validator's real handler runs
//! through the real Lambda wrapper (`zts_aws::lambda::invocation`: cold-start metric, EMF
//! flush to stdout) inside the span `lambda_runtime` opens per invocation, against the
//! embedded store in memory, in two kinds of child process:
//!
//!   on    `zts_aws::lambda::init` as on Lambda: JSON log lines and EMF documents on
//!         stdout, which is a pipe the parent drains as Lambda's log agent does
//!   off   no subscriber and no recorder: every span, line and metric is a no-op
//!
//! alternating, so a slow minute of the machine lands on both. For each child: the median
//! and mean duration of a warm invocation and the stdout bytes it wrote. The difference of
//! the medians is what telemetry costs a warm invocation (the aim: at most 1 ms).
//!
//! `cargo bench -p validator --bench telemetry -- [ROUNDS] [INVOCATIONS]`

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark binary: a failed setup ends it with the reason"
)]

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use zts_analysis::rules::RuleEngine;
use zts_conformance::new_project;
use zts_domain::ports::ProjectStore;
use zts_domain::step::StepRequest;
use zts_domain::{ProjectId, clock};
use zts_embedded::EmbeddedStore;

const MODE_VAR: &str = "ZTS_TELEMETRY_BENCH_MODE";
const WARMUP: usize = 200;

fn main() {
    match std::env::var(MODE_VAR) {
        Ok(mode) => child(&mode),
        Err(_) => parent(),
    }
}

fn numbers() -> Vec<usize> {
    std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect()
}

fn parent() {
    let args = numbers();
    let rounds = args.first().copied().unwrap_or(3);
    let invocations = args.get(1).copied().unwrap_or(3000);
    let me = std::env::current_exe().expect("the bench's own path");
    eprintln!("{invocations} warm validator invocations per child, {rounds} rounds");
    eprintln!(
        "{:<6} {:>5} {:>12} {:>12} {:>16}",
        "round", "mode", "median µs", "mean µs", "stdout B/invoke"
    );
    let mut gaps = Vec::new();
    for round in 1..=rounds {
        let mut medians = [0.0; 2];
        for (i, mode) in ["off", "on"].into_iter().enumerate() {
            let (median, mean, bytes) = run_child(&me, mode, invocations);
            medians[i] = median;
            eprintln!(
                "{round:<6} {mode:>5} {median:>12.1} {mean:>12.1} {:>16.0}",
                bytes as f64 / (invocations + WARMUP) as f64
            );
        }
        gaps.push(medians[1] - medians[0]);
    }
    gaps.sort_by(f64::total_cmp);
    eprintln!(
        "telemetry per warm invocation (on − off, median of rounds): {:.1} µs (rounds: {})",
        gaps[gaps.len() / 2],
        gaps.iter()
            .map(|g| format!("{g:.1}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
}

/// Runs one child; returns its median and mean in µs and the bytes it wrote to stdout.
fn run_child(me: &std::path::Path, mode: &str, invocations: usize) -> (f64, f64, usize) {
    let mut child = Command::new(me)
        .arg(invocations.to_string())
        .env(MODE_VAR, mode)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "bench")
        .env("AWS_SECRET_ACCESS_KEY", "bench")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the bench re-runs itself");
    // Lambda's log agent reads the function's stdout as it is written.
    let mut stdout = child.stdout.take().unwrap();
    let drain = std::thread::spawn(move || {
        let mut buf = [0u8; 65536];
        let mut total = 0;
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 {
                break;
            }
            total += n;
        }
        total
    });
    let out = child.wait_with_output().expect("the child runs");
    let bytes = drain.join().unwrap();
    let report = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "child {mode} failed: {report}");
    let line = report
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .unwrap_or_else(|| panic!("child {mode} printed no result: {report}"));
    let mut parts = line.split(' ').map(|p| p.parse::<f64>().unwrap());
    (parts.next().unwrap(), parts.next().unwrap(), bytes)
}

fn request(project: &ProjectId, n: usize) -> StepRequest {
    StepRequest {
        project_id: project.clone(),
        correlation_id: format!("bench-{n}"),
        execution_id: format!("arn:aws:states:us-east-1:123456789012:execution:zts:{n}"),
        state: "Validate".into(),
        retry_count: 0,
        run: 1,
        outcome: None,
        error: None,
    }
}

#[tokio::main(flavor = "current_thread")]
async fn child(mode: &str) {
    let invocations: usize = numbers().first().copied().unwrap_or(3000);
    if mode == "on" {
        zts_aws::lambda::init("validator").await;
    }
    let store = EmbeddedStore::in_memory().unwrap();
    let mut projects = Vec::with_capacity(WARMUP + invocations);
    for _ in 0..WARMUP + invocations {
        let new = new_project("alice", "receipts", clock::now());
        projects.push(new.project_id.clone());
        store.create_project(new).await.unwrap();
    }
    let mut took = Vec::with_capacity(invocations);
    for (n, project) in projects.iter().enumerate() {
        let started = Instant::now();
        invoke(&store, project, n).await;
        if n >= WARMUP {
            took.push(started.elapsed());
        }
    }
    took.sort();
    let mean = took.iter().sum::<Duration>() / took.len() as u32;
    eprintln!(
        "RESULT {:.1} {:.1}",
        took[took.len() / 2].as_secs_f64() * 1e6,
        mean.as_secs_f64() * 1e6
    );
}

/// One invocation as the function's `main.rs` runs it, inside the span `lambda_runtime`
/// opens for each event.
async fn invoke(store: &EmbeddedStore, project: &ProjectId, n: usize) {
    use tracing::Instrument;
    let span = tracing::info_span!(
        "Lambda runtime invoke",
        requestId = %format!("req-{n}"),
        xrayTraceId = "Root=1-00000000-000000000000000000000000"
    );
    zts_aws::lambda::invocation(async {
        validator::handle(store, &RuleEngine, request(project, n))
            .await
            .map_err(zts_aws::lambda::diagnostic)
    })
    .instrument(span)
    .await
    .expect("the step succeeds");
}
