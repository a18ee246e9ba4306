#!/usr/bin/env bash
# Packages every Lambda function with cargo-lambda (release, one bootstrap.zip each, under
# target/lambda/<function>/) for this machine's target, so no toolchain is downloaded, and
# prints each zip's size. `sam build` does the same for arm64 when deploying.
set -euo pipefail
cd "$(dirname "$0")/../.."
tools=$(bash infra/scripts/tools.sh)
export PATH="$tools:$PATH"
functions=(api ws authorizer validator advisory finalize broadcaster reconciler)
packages=()
for f in "${functions[@]}"; do packages+=(-p "$f"); done
# --compiler cargo: for the host target no cross linker is needed, so CI installs no zig
# (ziglang is 400 MB of Python wheel); `sam build` for arm64 uses cargo-lambda's zig.
cargo lambda build --release --locked --compiler cargo --target "$(uname -m)-unknown-linux-gnu" \
  --output-format zip "${packages[@]}"
# Each zip's bootstrap beside it, as Lambda unpacks it: the emulation and its tests run
# exactly what the zip holds (never a bootstrap left by an earlier build).
for f in "${functions[@]}"; do
  rm -f "target/lambda/$f/bootstrap"
  python3 -m zipfile -e "target/lambda/$f/bootstrap.zip" "target/lambda/$f/"
  chmod +x "target/lambda/$f/bootstrap"
done
# Each zip against its budget (infra/lambda-zip-budgets.txt): a function that grew fails.
bash infra/scripts/zip-budget.sh target/lambda
