#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: installs what the tests need, then runs
# every crate's tests. This is the README's test command and what CI runs after lint.
set -euo pipefail
cd "$(dirname "$0")/../.."

# Tests must never reach real AWS (ARCHITECTURE.md §9): dummy credentials, no instance metadata.
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true

bash infra/scripts/check-layers.sh
bash infra/scripts/check-layers.sh --self-test
bash infra/scripts/zip-budget.sh --self-test
bash infra/scripts/lint-asl.sh
bash infra/scripts/lint-template.sh

# A moto server on loopback for the AWS adapters' tests (DynamoDB conformance).
read -r moto_pid moto_url < <(bash infra/scripts/moto.sh)
trap 'kill "$moto_pid" 2>/dev/null || true' EXIT
export ZTS_MOTO_ENDPOINT="$moto_url"

# The function packages first (release, as deployed; a no-op when they are current): the
# emulation's tests run them as Lambda runs a package, and CI reports their sizes. No
# separate debug build of the binaries: `cargo build` resolves features without the
# dev-dependencies, so it would compile every crate a second time beside `cargo test`.
bash infra/scripts/package.sh
# The browser suite's Chromium and npm packages (tests/browser); the frames the suite's
# WebSocket clients receive are recorded afresh for the AsyncAPI check below.
bash infra/scripts/browser.sh
rm -rf target/ws-frames target/browser-screenshots target/analysis-artifacts
cargo test --workspace --all-features --locked

# The contracts: the AsyncAPI parser accepts the WebSocket document and every frame
# recorded above is valid under it; every corpus artifact is valid under the analysis
# schema.
node --test --test-reporter=spec tests/browser/asyncapi.test.mjs tests/browser/analysis-schema.test.mjs

# The API against its own OpenAPI document (the zts binary was built by cargo test).
bash infra/scripts/schemathesis.sh target/debug/zts
