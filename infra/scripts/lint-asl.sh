#!/usr/bin/env bash
# Lints statemachine.asl.json with statelint, with its ${…} placeholders replaced by
# example Lambda ARNs (as SAM's DefinitionSubstitutions will replace them).
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=$(bash infra/scripts/tools.sh)
substituted=$(mktemp)
trap 'rm -f "$substituted"' EXIT
sed -E 's/\$\{([A-Za-z]+)FunctionArn\}/arn:aws:lambda:us-east-1:123456789012:function:zts-\1/g' \
  statemachine.asl.json > "$substituted"
"$bin/statelint" "$substituted"
echo "statelint: statemachine.asl.json is valid"
