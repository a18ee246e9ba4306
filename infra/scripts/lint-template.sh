#!/usr/bin/env bash
# Checks template.yaml offline: cfn-lint, then `sam validate --lint` (aws-sam-cli in its own
# virtualenv). Neither reads the workflow definitions; lint-asl.sh checks those.
set -euo pipefail
cd "$(dirname "$0")/../.."
tools=$(bash infra/scripts/tools.sh)
sam=$(bash infra/scripts/tools.sh sam)
"$tools/cfn-lint" template.yaml
# sam reads a region; the credentials are dummies and nothing is sent anywhere.
AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_EC2_METADATA_DISABLED=true \
  SAM_CLI_TELEMETRY=0 "$sam/sam" validate --lint --region us-east-1 --template template.yaml
