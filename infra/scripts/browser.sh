#!/usr/bin/env bash
# Installs what the browser suite and the AsyncAPI check need: Debian's chromium (as root,
# where apt-get exists; Playwright's own browser download cannot reach its host) and the
# npm packages pinned by tests/browser/package-lock.json (no install scripts run). Where the
# browser cannot be installed it says so; the browser tests then skip, except under CI,
# where they fail (tests/src/browser.rs).
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ ! -x "${ZTS_CHROMIUM:-/usr/bin/chromium}" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "browser.sh: installing Debian's chromium (once)" >&2
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2; then
      apt-get update -qq >&2
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2
    fi
  else
    echo "browser.sh: no chromium, and not root: install it with 'sudo apt-get install chromium' (or set ZTS_CHROMIUM); the browser tests will be skipped" >&2
  fi
fi
lock=tests/browser/package-lock.json
stamp=tests/browser/node_modules/.installed
if [ ! -f "$stamp" ] || ! cmp -s "$lock" "$stamp"; then
  npm ci --ignore-scripts --no-audit --no-fund --prefix tests/browser >&2
  cp "$lock" "$stamp"
fi
