#!/usr/bin/env bash
# Starts a moto server (DynamoDB, Step Functions, API Gateway management) on a free
# loopback port, waits until it answers, and prints `PID URL`. The caller stops it.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=$(bash infra/scripts/tools.sh)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log=target/moto.log
# moto's Step Functions calls Lambda at localhost:$MOTO_PORT (ARCHITECTURE.md §9).
MOTO_PORT=$port "$bin/moto_server" -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  if python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/', timeout=1)" 2>/dev/null; then
    echo "$pid http://127.0.0.1:$port"
    exit 0
  fi
  sleep 0.2
done
echo "moto did not start; its log:" >&2
cat "$log" >&2
kill "$pid" 2>/dev/null || true
exit 1
