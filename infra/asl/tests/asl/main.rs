//! One test binary for the crate (one link instead of one per file); each module is a suite.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failed expectation is a failed test"
)]

mod project_state_machine;
mod resume;
mod retry_and_timeouts;
mod spec_examples;
mod support;
mod validation;
