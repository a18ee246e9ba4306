#!/usr/bin/env bash
# Runs schemathesis against a local stack's /openapi.json with an API key: every
# generated request must get an answer that the spec allows, and never a server error.
# Usage: schemathesis.sh [path to the zts binary] (default: target/debug/zts).
set -euo pipefail
cd "$(dirname "$0")/../.."
zts=${1:-target/debug/zts}
bin=$(bash infra/scripts/tools.sh)
key="zts_schemathesis_$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
log=$(mktemp)
RUST_LOG=error "$zts" serve --in-memory --addr 127.0.0.1:0 --api-key "$key" --rate 100000 --burst 100000 >"$log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; rm -f "$log"' EXIT
url=""
for _ in $(seq 1 200); do
  url=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$log" | head -n 1 || true)
  [ -n "$url" ] && break
  sleep 0.1
done
[ -n "$url" ] || { echo "the stack did not start:"; cat "$log"; exit 1; }
"$bin/schemathesis" --config-file infra/schemathesis/schemathesis.toml run "$url/openapi.json" \
  -H "x-api-key: $key" --max-examples 100 --no-color
