//! The browser page in a real Chromium against the local stack (tests/browser/page.test.mjs):
//! a run to COMPLETED with its artifacts rendered, a WebSocket cut mid-run that still shows
//! every step once, a subscribe the server could not complete made again, field errors next to their fields, a FAILED run with its reason, a
//! retry as it happens, a FAILED run retried from the page and exported, a run cancelled
//! from the page, paging, phone width and keyboard use; no console error and no CSP
//! violation on any page. Its twin against `zts emulate` is in emulate_path.rs.

use std::time::Duration;
use zts::faults::{Fault, FaultRule};
use zts_domain::project::StepName;
use zts_tests::{TEST_KEY, browser, stack_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_in_chromium_against_the_local_stack() {
    if !browser::available("local") {
        return;
    }
    let stack = stack_with(
        vec![
            FaultRule {
                step: StepName::Advisory,
                name_contains: "slow-advice".into(),
                fault: Fault::Delay(Duration::from_millis(1_500)),
            },
            FaultRule {
                step: StepName::Validator,
                name_contains: "flaky".into(),
                fault: Fault::Transient(1),
            },
            FaultRule {
                step: StepName::Validator,
                name_contains: "doomed".into(),
                fault: Fault::Permanent,
            },
            // Every attempt of the first run (the ASL's four), then it works: retried.
            FaultRule {
                step: StepName::Advisory,
                name_contains: "rerun".into(),
                fault: Fault::Transient(4),
            },
        ],
        1_024,
    )
    .await;
    browser::run(&stack.http_url(), TEST_KEY, "all", "local").await;
}

/// The same page against the deployed wiring under `zts emulate`: the packaged api serves
/// it, a ticket opens the one WebSocket URL of the emulated API Gateway (another port,
/// so another origin the page's policy must allow), and the page subscribes by message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_in_chromium_against_the_emulated_deployment() {
    // As `zts emulate` runs by default (10 processes per function): a first visit loads
    // the page's files in parallel, one invocation each (later visits keep them cached).
    let Some(emulation) = crate::emulate_path::emulate_with(&[], 10).await else {
        return;
    };
    if !browser::available("emulate") {
        return;
    }
    browser::run(
        &emulation.base_url,
        crate::emulate_path::KEY,
        "happy,dropped,transient,workflow",
        "emulate",
    )
    .await;
}
