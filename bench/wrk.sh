#!/usr/bin/env bash
# Load test of POST /webhook with wrk against the release build (Debian's `wrk` package).
# Usage: bench/wrk.sh [DURATION] [CONNECTIONS]   e.g. bench/wrk.sh 20s 32
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10s}
connections=${2:-32}
command -v wrk >/dev/null || { echo "wrk is not installed: apt-get install wrk" >&2; exit 1; }
cargo build --release --quiet
body=../shared/data/github/webhooks/issues/opened.payload.json
[ -f "$body" ] || body=tests/fixtures/webhooks/issues.json
dir=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
export GLOBALLM_WEBHOOK_SECRET=bench-webhook-secret
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
RUST_LOG=warn target/release/globallm serve --listen "127.0.0.1:$port" --data-dir "$dir" &
pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.05; done
signature="sha256=$(openssl dgst -sha256 -hmac "$GLOBALLM_WEBHOOK_SECRET" -r "$body" | cut -d' ' -f1)"
BODY_FILE=$body SIGNATURE=$signature wrk -t2 -c"$connections" -d"$duration" --latency -s bench/wrk-webhook.lua "http://127.0.0.1:$port/webhook"
echo "stored deliveries: $(sqlite3 "$dir/globallm.db" 'SELECT count(*) FROM deliveries') (outcomes: $(sqlite3 "$dir/globallm.db" "SELECT group_concat(outcome || '=' || n) FROM (SELECT outcome, count(*) n FROM deliveries GROUP BY outcome)"))"
