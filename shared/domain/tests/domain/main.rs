//! One test binary for the crate (one link instead of one per file); each module is a suite.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failed expectation is a failed test"
)]

mod input_validation;
mod lifecycle;
mod pii_corpus;
mod pii_redaction;
mod rate_limit;
mod shared_rules;
mod transitions;
