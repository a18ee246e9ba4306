#!/usr/bin/env bash
# Lints every workflow definition (statemachine.asl.json, workflows/*.asl.json) with
# statelint, with its ${…} placeholders replaced by example Lambda ARNs (as SAM's
# DefinitionSubstitutions will replace them).
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=$(bash infra/scripts/tools.sh)
substituted=$(mktemp)
trap 'rm -f "$substituted"' EXIT
for definition in statemachine.asl.json workflows/*.asl.json; do
  sed -E 's/\$\{([A-Za-z]+)FunctionArn\}/arn:aws:lambda:us-east-1:123456789012:function:zts-\1/g' \
    "$definition" > "$substituted"
  "$bin/statelint" "$substituted"
  echo "statelint: $definition is valid"
done
