#!/usr/bin/env bash
# Supply-chain gates, offline: cargo-deny (RustSec advisories from the snapshot beside the
# repository, licences, bans, sources: deny.toml) and detect-secrets (the tree against
# .secrets.baseline, and on CI every line the history ever added).
#   supply-chain.sh              run the gates on this tree
#   supply-chain.sh --self-test  in scratch copies, a vulnerable dependency, a disallowed
#                                licence and a secret each make their gate fail, naming it
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
tools=$(bash infra/scripts/tools.sh supply)

# The RustSec snapshot as cargo-deny wants it: a git clone of db-urls[0], in a directory
# named by cargo-deny's hash of that URL, under the db-path of deny.toml.
snapshot=${ZTS_ADVISORY_DB:-$root/../shared/advisory-db}
export ZTS_ADVISORY_DB_ROOT="$root/target/advisory-dbs"
prepare_advisory_db() {
  local clone="$ZTS_ADVISORY_DB_ROOT/advisory-db-3157b0e258782691"
  local stamp
  stamp=$(cat "$snapshot/../advisory-db.SNAPSHOT" 2>/dev/null | sha256sum | cut -c1-16)
  if [ ! -d "$snapshot/crates" ]; then
    echo "supply-chain: no advisory snapshot at $snapshot (set ZTS_ADVISORY_DB)" >&2
    exit 1
  fi
  if [ "$(cat "$clone/.zts-stamp" 2>/dev/null)" != "$stamp" ]; then
    rm -rf "$clone"
    mkdir -p "$clone"
    cp -r "$snapshot/." "$clone/"
    git -C "$clone" init -q
    git -C "$clone" add -A
    git -C "$clone" -c user.name=snapshot -c user.email=snapshot@localhost \
      commit -q -m "RustSec advisory-db snapshot"
    echo "$stamp" > "$clone/.zts-stamp"
  fi
}

# deny DIR: cargo-deny on the workspace in DIR (offline; crates fetched by cargo first).
deny() {
  (cd "$1" && cargo fetch --locked -q && "$tools/cargo-deny" --offline --locked \
    --color never check --hide-inclusion-graph)
}

# Fails, naming each, on findings in the scan $2 whose (file, hash) — or hash alone, with
# "any-file" — the baseline $1 does not list. Line numbers do not count: moving an
# allowed fixture is not a new secret.
new_findings() {
  python3 - "$1" "$2" "${3:-}" <<'PY'
import json, sys
baseline, scan, any_file = sys.argv[1], sys.argv[2], sys.argv[3] == "any-file"
key = (lambda f, s: s["hashed_secret"]) if any_file else (lambda f, s: (f, s["hashed_secret"]))
allowed = {key(f, s) for f, found in json.load(open(baseline))["results"].items() for s in found}
new = [(f, s) for f, found in json.load(open(scan))["results"].items() for s in found
       if key(f, s) not in allowed]
for f, s in new:
    print(f"new secret: {s['type']} in {f}:{s['line_number']}", file=sys.stderr)
sys.exit(1 if new else 0)
PY
}

# secrets DIR: every tracked file (the baseline itself aside) against the baseline.
secrets_tree() {
  local scan status=0
  scan=$(mktemp)
  (cd "$1" && git ls-files -z ':!.secrets.baseline' | xargs -0 "$tools/detect-secrets" scan) > "$scan"
  new_findings "$1/.secrets.baseline" "$scan" || status=$?
  rm -f "$scan"
  return $status
}

# Every line any commit ever added, scanned once; a finding fails unless its hash is one
# the baseline allows (the same fixtures, wherever they stood in the history).
secrets_history() {
  local work
  work=$(mktemp -d)
  # The baseline (hashes of allowed fixtures) and the lock files (checksums; npm's are
  # base64 sha512 integrity hashes) are not sources of secrets, as the tree scan, which
  # skips lock files, has it; detect-secrets scans a path relative to where it runs.
  git -C "$1" log --all -p --no-color --unified=0 -- . ':!.secrets.baseline' ':!Cargo.lock' \
    ':!**/package-lock.json' \
    | grep '^+' | grep -v '^+++' > "$work/added.txt" || true
  (cd "$work" && "$tools/detect-secrets" scan added.txt > added.json)
  local status=0
  new_findings "$1/.secrets.baseline" "$work/added.json" any-file || status=$?
  rm -rf "$work"
  return $status
}

prepare_advisory_db

if [ "${1:-}" = "--self-test" ]; then
  fails_with() { # fails_with WHAT PATTERN OUTPUT STATUS
    if [ "$4" -eq 0 ] || ! grep -q -- "$2" <<<"$3"; then
      echo "self-test failed: $1 did not fail its gate naming '$2':" >&2
      echo "$3" | tail -20 >&2
      exit 1
    fi
    echo "supply-chain self-test: $1 refused ($2)"
  }
  scratch() {
    local dir
    dir=$(mktemp -d)
    git ls-files -z -co --exclude-standard | xargs -0 -I{} cp --parents {} "$dir"
    (cd "$dir" && git init -q && git add -A && git -c user.name=t -c user.email=t@localhost commit -qm scratch)
    echo "$dir"
  }
  # A dependency with a known advisory in the snapshot: rand 0.9.2 (RUSTSEC-2026-0097).
  dir=$(scratch)
  sed -i 's/^rand = "=0.9.4"/rand = "=0.9.2"/' "$dir/Cargo.toml"
  (cd "$dir" && cargo update -q -p rand@0.9.4 --precise 0.9.2)
  set +e; out=$(deny "$dir" 2>&1); status=$?; set -e
  fails_with "a vulnerable dependency" "RUSTSEC-2026-0097" "$out" "$status"
  rm -rf "$dir"
  # A disallowed licence: a workspace crate under GPL-3.0.
  dir=$(scratch)
  sed -i 's/^license.workspace = true$/license = "GPL-3.0-only"/' "$dir/shared/telemetry/Cargo.toml"
  set +e; out=$(deny "$dir" 2>&1); status=$?; set -e
  fails_with "a disallowed licence" "GPL-3.0-only" "$out" "$status"
  rm -rf "$dir"
  # An allowed fixture that moved (lines above it added) is not a new secret.
  dir=$(scratch)
  sed -i '1i // a line added above the fixtures' "$dir/tests/tests/e2e/local_stack.rs"
  if ! out=$(secrets_tree "$dir" 2>&1); then
    echo "self-test failed: a moved fixture was taken for a new secret: $out" >&2
    exit 1
  fi
  echo "supply-chain self-test: a moved fixture passes"
  rm -rf "$dir"
  # A secret-shaped string in a new file (an AWS access key id and secret in a config).
  dir=$(scratch)
  printf 'aws_access_key_id = %s\naws_secret_access_key = %s\n' \
    "AKIA$(printf 'Z%.0s' $(seq 16))" "$(head -c 30 /dev/urandom | base64 | tr -d '/+=' | head -c 40)" \
    > "$dir/credentials.toml"
  (cd "$dir" && git add credentials.toml)
  set +e; out=$(secrets_tree "$dir" 2>&1); status=$?; set -e
  fails_with "a secret in the tree" "credentials.toml" "$out" "$status"
  (cd "$dir" && git -c user.name=t -c user.email=t@localhost commit -qm "add credentials" && git rm -q credentials.toml && git -c user.name=t -c user.email=t@localhost commit -qm "remove them")
  set +e; out=$(secrets_history "$dir" 2>&1); status=$?; set -e
  fails_with "a secret in the history" "new secret: AWS Access Key" "$out" "$status"
  rm -rf "$dir"
  exit 0
fi

echo "supply-chain: cargo-deny (advisories from $(head -c 80 "$snapshot/../advisory-db.SNAPSHOT" | tr '\n' ' ')…)"
deny "$root"
echo "supply-chain: detect-secrets on the tree"
secrets_tree "$root"
if [ "${CI:-}" = "true" ]; then
  echo "supply-chain: detect-secrets on the history"
  secrets_history "$root"
fi
echo "supply-chain: ok"
