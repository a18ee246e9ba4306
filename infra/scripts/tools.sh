#!/usr/bin/env bash
# Installs the test tools from PyPI into one virtualenv (target/tools), once; prints its bin dir.
# Pinned here so every machine lints with the same versions.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=target/tools
if [ ! -x "$venv/bin/statelint" ]; then
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check 'statelint==3.1.0' >&2
fi
echo "$PWD/$venv/bin"
