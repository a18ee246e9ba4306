//! One test binary for the crate (one link instead of one per file); each module is a suite.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failed expectation is a failed test"
)]

mod analysis_corpus;
mod analysis_schema;
mod asyncapi_contract;
mod backup;
mod browser;
mod dynamodb_conformance;
mod dynamodb_retention;
mod embedded_conformance;
mod emulate_cost;
mod emulate_iam;
mod emulate_observability;
mod emulate_path;
mod emulate_runtime;
mod emulate_stream;
mod hardening;
mod lifecycle;
mod load_generator;
mod local_stack;
mod push_adapter;
mod secrets;
mod security;
mod step_functions;
mod template_rules;
mod url_suite;
mod ws_cap_on_dynamodb;
