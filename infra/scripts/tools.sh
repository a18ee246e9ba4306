#!/usr/bin/env bash
# Installs the test tools from PyPI into one virtualenv (target/tools), once; prints its bin dir.
# Pinned here so every machine tests with the same versions.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=target/tools
requirements="statelint==3.1.0 schemathesis==4.32.5 moto[server]==5.2.5"
if [ ! -f "$venv/.installed" ] || [ "$(cat "$venv/.installed")" != "$requirements" ]; then
  python3 -m venv "$venv" >&2
  # shellcheck disable=SC2086
  "$venv/bin/pip" install --quiet --disable-pip-version-check $requirements >&2
  echo "$requirements" > "$venv/.installed"
fi
echo "$PWD/$venv/bin"
