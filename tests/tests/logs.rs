//! Logs never carry API keys, tickets or un-redacted PII: this test captures everything
//! logged at debug while requests carry all three, then searches the capture.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failed expectation is a failed test"
)]

use serde_json::json;
use std::io::Write;
use std::sync::{Arc, Mutex};
use zts_tests::*;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_hold_no_keys_tickets_or_pii() {
    let capture = Capture::default();
    let writer = capture.clone();
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(tracing_subscriber::EnvFilter::new("debug"))
        .with_writer(move || writer.clone())
        .init();

    let stack = stack_with(
        vec![zts::faults::FaultRule {
            step: zts_domain::project::StepName::Validator,
            name_contains: "flaky".into(),
            fault: zts::faults::Fault::Transient(1),
        }],
        64,
    )
    .await;
    let http = Http::new(&stack);
    let pii = PII_SAMPLES.iter().map(|(secret, _)| *secret);
    let id = http.create(&idea_full_of_pii("flaky idea")).await;
    http.wait_terminal(&id).await;
    // A refused body full of PII, a bad key, a ticket in a URL.
    http.post_raw(
        "/api/v1/projects",
        "application/json",
        json!({"name": "x", "extra jan@example.com": "+49 170 1234567"}).to_string(),
    )
    .await;
    Http::with_key(
        &stack.http_url(),
        Some("zts_wrong_key_zzzzzzzzzzzzzzzzzzzzzzzz"),
    )
    .get("/api/v1/projects")
    .await;
    let (_, ticket) = http
        .post_raw("/api/v1/ws-tickets", "application/json", "")
        .await;
    let ticket_url = ticket["websocket_url"].as_str().unwrap().to_string();
    let secret_ticket = ticket["ticket"].as_str().unwrap().to_string();
    let mut ws = Ws::try_connect(&ticket_url, None).await.unwrap();
    ws.subscribe(&id, 0).await;
    ws.until(|m| m["event"] == "replay_complete").await;
    drop(ws);
    stack.shutdown().await;

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("/api/v1/projects"),
        "nothing was captured: the test would prove nothing"
    );
    assert!(
        logs.contains("retry scheduled") || logs.contains("task failed"),
        "the run's failure was not logged"
    );
    for secret in [
        TEST_KEY,
        "zts_wrong_key_zzzzzzzzzzzzzzzzzzzzzzzz",
        secret_ticket.as_str(),
    ]
    .into_iter()
    .chain(pii)
    {
        assert!(!logs.contains(secret), "the logs contain {secret:?}");
    }
}
