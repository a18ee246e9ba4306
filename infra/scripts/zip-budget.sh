#!/usr/bin/env bash
# Each function's zip against its budget in infra/lambda-zip-budgets.txt: a zip over its
# budget fails (package.sh calls this, so CI fails when a function grows). The budgets
# only go down: the aim is 4 MiB (4,194,304 bytes) each; lower a budget when a change
# makes its function smaller, never raise one without saying why in the commit.
#   zip-budget.sh [DIR]        check DIR/<function>/bootstrap.zip (default target/lambda)
#   zip-budget.sh --self-test  check that a zip one byte over its budget fails
set -euo pipefail
cd "$(dirname "$0")/../.."
budgets=infra/lambda-zip-budgets.txt
aim=4194304

check() {
  local dir=$1 failures=0 function budget size
  while read -r function budget; do
    case "$function" in '' | '#'*) continue ;; esac
    if [ ! -f "$dir/$function/bootstrap.zip" ]; then
      echo "zip budget: $dir/$function/bootstrap.zip is missing" >&2
      failures=$((failures + 1))
      continue
    fi
    size=$(stat -c %s "$dir/$function/bootstrap.zip")
    if [ "$size" -gt "$budget" ]; then
      echo "zip budget: $function is $size bytes, $((size - budget)) over its budget of $budget (aim: $aim)" >&2
      failures=$((failures + 1))
    else
      printf 'zip budget: %-12s %9s of %9s%s\n' "$function" "$size" "$budget" \
        "$([ "$size" -gt "$aim" ] && echo "  (over the 4 MiB aim by $((size - aim)))" || true)"
    fi
  done < "$budgets"
  return "$failures"
}

if [ "${1:-}" = "--self-test" ]; then
  scratch=$(mktemp -d)
  trap 'rm -rf "$scratch"' EXIT
  read -r function budget < <(grep -v '^#' "$budgets" | grep . | head -1)
  while read -r f b; do
    case "$f" in '' | '#'*) continue ;; esac
    mkdir -p "$scratch/$f"
    head -c "$b" /dev/zero > "$scratch/$f/bootstrap.zip"
  done < "$budgets"
  check "$scratch" > /dev/null || { echo "self-test: zips at their budgets failed" >&2; exit 1; }
  head -c $((budget + 1)) /dev/zero > "$scratch/$function/bootstrap.zip"
  if out=$(check "$scratch" 2>&1); then
    echo "self-test: $function one byte over its budget passed" >&2
    exit 1
  fi
  grep -q "$function is $((budget + 1)) bytes, 1 over" <<< "$out" \
    || { echo "self-test: the failure did not name the function: $out" >&2; exit 1; }
  echo "zip budget self-test: a zip over its budget fails, naming it"
  exit 0
fi

check "${1:-target/lambda}"
