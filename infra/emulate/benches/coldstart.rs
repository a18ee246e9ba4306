//! Cold-start figures for the packaged functions (`infra/scripts/package.sh` first), run
//! by the emulation's own machinery (`zts_emulate`): each `bootstrap` starts as its own
//! process against the emulation's Lambda Runtime API, with exactly the environment
//! `template.yaml` gives it (resolved against tables, a cursor secret and a key created on
//! moto), and answers a real event that reaches the store. For every function, the median
//! over fresh processes of:
//!
//!   init   process start → its first `GET …/invocation/next`
//!   first  the first event: handed over → answered (its first SDK call inside)
//!   warm   the second event on the same process
//!
//! and the first answer, checked (a smoke test of every package). Not shown: Lambda's own
//! sandbox start, the TLS handshake to a real AWS endpoint (moto is plain HTTP).
//!
//! `cargo bench -p zts-emulate --bench coldstart -- MOTO_URL [RUNS]`

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark binary: a missing package or fixture ends it with the reason"
)]

use serde_json::{Value, json};
use std::sync::atomic::Ordering;
use std::time::Duration;
use zts_emulate::runtime::{FunctionPool, InvokeError};
use zts_emulate::stack::{EmulateConfig, FunctionsDir, start};

fn fixture(path: &str) -> Value {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let text = std::fs::read_to_string(root.join(path)).expect("a fixture");
    serde_json::from_str(&text).expect("fixture JSON")
}

/// The event each function gets, and what its answer must contain.
fn event_for(binary: &str) -> (Value, &'static str) {
    let step = |state: &str| {
        json!({
            "project_id": zts_domain::ProjectId::generate().as_str(),
            "correlation_id": "coldstart",
            "execution_id": "arn:aws:states:us-east-1:123456789012:execution:zts:coldstart",
            "state": state,
            "retry_count": 0,
            "run": 1,
        })
    };
    match binary {
        "api" => {
            let mut e = fixture("functions/api/tests/fixtures/http-list-projects.json");
            // Unknown: one GetItem, then 401.
            e["headers"]["x-api-key"] = json!(format!("zts_{}", "0".repeat(40)));
            (e, r#""statusCode":401"#)
        }
        "ws" => (
            fixture("functions/ws/tests/fixtures/disconnect.json"),
            r#""statusCode":200"#,
        ),
        "authorizer" => {
            let mut e =
                fixture("functions/authorizer/tests/fixtures/connect-authorizer-request.json");
            // Unknown: denied after its DeleteItem.
            e["queryStringParameters"]["ticket"] = json!(format!("wst_{}", "0".repeat(40)));
            (e, r#""Effect":"Deny""#)
        }
        "validator" => (step("Validate"), "ZeroToShip.Invalid"),
        "advisory" => (step("Advise"), "ZeroToShip.Invalid"),
        "finalize" => {
            let mut e = step("Complete");
            e["outcome"] = json!("COMPLETED");
            (e, "ZeroToShip.Invalid")
        }
        "broadcaster" => (
            fixture("functions/broadcaster/tests/fixtures/stream-batch.json"),
            r#""batchItemFailures":[]"#,
        ),
        // An empty pass: the pending-run index queried on every shard, nothing stale.
        "reconciler" => (
            fixture("functions/reconciler/tests/fixtures/scheduled-event.json"),
            r#""stale":0"#,
        ),
        other => panic!("template.yaml deploys {other}, which this benchmark has no event for"),
    }
}

/// An answer as text: the function's JSON, or its error type and message.
fn answer_text(answer: &Result<Value, InvokeError>) -> String {
    match answer {
        Ok(v) => v.to_string(),
        Err(e) => format!("{}: {e}", e.states_error()),
    }
}

fn ms(micros: u64) -> f64 {
    micros as f64 / 1000.0
}

/// One fresh process: init, first and warm (ms), and the first answer.
async fn measure(pool: &FunctionPool, event: &Value) -> (f64, f64, f64, String) {
    let stats = &pool.stats;
    let first = pool.invoke(event).await;
    let after_first = stats.run_micros.load(Ordering::Relaxed);
    let _ = pool.invoke(event).await;
    let warm = stats.run_micros.load(Ordering::Relaxed) - after_first;
    let init = stats.init_micros.load(Ordering::Relaxed);
    (ms(init), ms(after_first), ms(warm), answer_text(&first))
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let moto = args
        .first()
        .cloned()
        .or_else(|| std::env::var("ZTS_MOTO_ENDPOINT").ok())
        .expect("usage: coldstart MOTO_URL [RUNS]");
    let runs: usize = args.get(1).and_then(|r| r.parse().ok()).unwrap_or(3);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/lambda");
    // Every function the template deploys, by its binary.
    let mut samples: std::collections::BTreeMap<String, Vec<(f64, f64, f64, String)>> =
        Default::default();
    for run in 0..runs {
        // A fresh emulation (its own stage, tables and processes) per run: every
        // measurement starts a new process.
        let emulation = start(EmulateConfig {
            addr: "127.0.0.1:0".parse().expect("an address"),
            functions: FunctionsDir::Packages(dir.clone()),
            aws_endpoint: moto.clone(),
            parameters: [(
                "Stage".to_string(),
                format!(
                    "cold{run}{}",
                    &zts_domain::ProjectId::generate().as_str()[28..36]
                ),
            )]
            .into(),
            api_keys: Vec::new(),
            max_processes: 1,
            connection_limits: Default::default(),
            // The reconciler's schedule must not run during the measurement.
            schedule_every: Some(Duration::from_secs(3600)),
            meter_dynamodb: false,
        })
        .await
        .unwrap_or_else(|e| panic!("the emulation did not start: {e}"));
        for pool in emulation.functions.values() {
            let (event, _) = event_for(&pool.spec.binary);
            let sample = measure(pool, &event).await;
            samples
                .entry(pool.spec.binary.clone())
                .or_default()
                .push(sample);
        }
    }
    println!(
        "{:<12} {:>9} {:>8} {:>9} {:>8}  first answer",
        "function", "zip bytes", "init ms", "first ms", "warm ms"
    );
    let mut failures = Vec::new();
    for (binary, s) in &samples {
        let zip = std::fs::metadata(dir.join(binary).join("bootstrap.zip")).map_or(0, |m| m.len());
        let answer = &s[0].3;
        let (_, expected) = event_for(binary);
        if !answer.contains(expected) {
            failures.push(format!("{binary}: expected {expected}, got {answer}"));
        }
        println!(
            "{binary:<12} {zip:>9} {:>8.1} {:>9.1} {:>8.1}  {}",
            median(s.iter().map(|x| x.0).collect()),
            median(s.iter().map(|x| x.1).collect()),
            median(s.iter().map(|x| x.2).collect()),
            answer.chars().take(70).collect::<String>()
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
