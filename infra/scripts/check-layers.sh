#!/usr/bin/env bash
# The layers of ARCHITECTURE.md §1, checked from the normal dependency trees (cargo tree -e
# normal): the domain has no I/O dependencies, an adapter never depends on the other, the
# local stack links no Lambda runtime and no AWS SDK by default, and a function crate
# without its `lambda` feature links neither. Also: no command in the docs or scripts builds
# the local stack with `--release` (Cargo.toml: that is the Lambda packages' size profile;
# `zts` builds with `--profile local`).
#   check-layers.sh              check this workspace
#   check-layers.sh --self-test  check that a scratch copy with a forbidden dependency fails
set -euo pipefail
cd "$(dirname "$0")/../.."

io='aws-sdk-|aws-config|aws-smithy|lambda_runtime|lambda_http|tokio|rusqlite|axum|hyper'
lambda='aws-sdk-|aws-config|lambda_runtime|lambda_http|zts-aws'

# deps PACKAGE [cargo tree flags…]: the names in PACKAGE's normal dependency tree.
deps() {
  local package=$1
  shift
  cargo tree --offline --locked -q -p "$package" -e normal --prefix none --format '{p}' "$@" \
    | awk '{print $1}' | grep -vx "$package" | sort -u
}

failures=0
# forbid PACKAGE PATTERN WHY [cargo tree flags…]
forbid() {
  local package=$1 pattern=$2 why=$3
  shift 3
  local found
  found=$(deps "$package" "$@" | grep -E "^($pattern)" || true)
  if [ -n "$found" ]; then
    echo "layer violation: $package $why, but depends on: $(echo "$found" | tr '\n' ' ')" >&2
    failures=$((failures + 1))
  fi
}

check() {
  forbid zts-domain "$io|zts-" "is the domain (no runtime, SDK, database or web server)"
  forbid zts-analysis "$io|zts-(aws|embedded|conformance)" "is pure analysis"
  forbid zts-conformance "zts-(aws|embedded)|aws-sdk-|rusqlite" "tests every adapter alike"
  forbid zts-embedded "zts-aws|aws-sdk-|aws-config|lambda_" "is the local adapter"
  forbid zts-aws "zts-embedded|rusqlite" "is the AWS adapter"
  forbid zts-apigw "zts-|aws-sdk-|aws-config|lambda_" "is API Gateway's behaviour for every gateway (no SDK, no adapter)" --features management
  forbid zts "$lambda|zts-emulate" "is the local stack (its AWS commands and the emulation are behind --features aws)"
  forbid zts-cost "$io|zts-" "is arithmetic on a run's counts (no runtime, no SDK)"
  # The release profile is optimised for size (the Lambda packages); the local stack
  # builds with `local`, so its benchmarks and its users get full speed.
  local released
  released=$(git grep -nE -- '--release.*-p zts|-p zts.*--release' -- ':!infra/scripts/check-layers.sh' || true)
  if [ -n "$released" ]; then
    echo "profile violation: the local stack is built with --release (the Lambda size profile); use --profile local: $released" >&2
    failures=$((failures + 1))
  fi
  for f in api ws validator advisory finalize broadcaster authorizer reconciler; do
    forbid "$f" "$lambda|zts-embedded|rusqlite" "without its lambda feature is a handler library" --no-default-features
  done
  if [ "$failures" -gt 0 ]; then
    echo "$failures layer violation(s); see ARCHITECTURE.md §1" >&2
    return 1
  fi
  echo "layers: ok (domain free of I/O, adapters independent, zts without Lambda, SDK or the emulation)"
}

if [ "${1:-}" = "--self-test" ]; then
  scratch=$(mktemp -d)
  trap 'rm -rf "$scratch"' EXIT
  git ls-files -z -co --exclude-standard | xargs -0 -I{} cp --parents {} "$scratch"
  cp Cargo.lock "$scratch"
  # The domain gains tokio: the check must name it.
  sed -i 's/^uuid.workspace = true$/uuid.workspace = true\ntokio.workspace = true/' "$scratch/shared/domain/Cargo.toml"
  if out=$(cd "$scratch" && bash infra/scripts/check-layers.sh 2>&1); then
    echo "self-test failed: a domain depending on tokio passed the layer check" >&2
    exit 1
  fi
  echo "$out" | grep -q "layer violation: zts-domain .*tokio" || {
    echo "self-test failed: the message does not name the violation: $out" >&2
    exit 1
  }
  echo "layers self-test: ok (a domain depending on tokio is refused)"
  exit 0
fi
check
