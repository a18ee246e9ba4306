//! One test binary for the crate (one link instead of one per file); each module is a suite.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failed expectation is a failed test"
)]

mod backup_cli;
mod cost_cli;
#[cfg(feature = "aws")]
mod emulate_cli;
mod keys_cli;
mod observability;
mod restart;
mod workflows_cli;
