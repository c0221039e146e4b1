#!/usr/bin/env bash
# Ingest on SQLite and on PostgreSQL with one and with two replicas, same load, same run:
# acknowledged deliveries/s and p99 of POST /webhook (wrk, Debian's package). PostgreSQL is a
# throwaway cluster (scripts/test-postgres.sh starts it; this script runs inside it).
# Usage: bench/replicas.sh [DURATION] [CONNECTIONS]   e.g. bench/replicas.sh 20s 32
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${GLOBALLM_TEST_DATABASE_URL:-}" ]; then
  exec scripts/test-postgres.sh "$0" "$@"
fi
duration=${1:-10s}
connections=${2:-32}
command -v wrk >/dev/null || { echo "wrk is not installed: apt-get install wrk" >&2; exit 1; }
cargo build --release --quiet --bin globallm
body=../shared/data/github/webhooks/issues/opened.payload.json
[ -f "$body" ] || body=tests/fixtures/webhooks/issues.json
export GLOBALLM_WEBHOOK_SECRET=bench-webhook-secret
signature="sha256=$(openssl dgst -sha256 -hmac "$GLOBALLM_WEBHOOK_SECRET" -r "$body" | cut -d' ' -f1)"
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
start() { # data dir, database URL (empty: SQLite) → prints the port
  local port; port=$(free_port)
  GLOBALLM_DATABASE_URL="$2" RUST_LOG=warn target/release/globallm serve \
    --listen "127.0.0.1:$port" --data-dir "$1" >/dev/null 2>&1 &
  pids+=($!)
  for _ in $(seq 200); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.05; done
  echo "$port"
}
load() { # label, ports…: wrk on each port at once, connections split between them
  local label=$1; shift
  local n=$# per=$((connections / $#)) out=()
  for port in "$@"; do
    out+=("$work/wrk-$port.txt")
    BODY_FILE=$body SIGNATURE=$signature wrk -t1 -c"$per" -d"$duration" --latency \
      -s bench/wrk-webhook.lua "http://127.0.0.1:$port/webhook" >"$work/wrk-$port.txt" &
  done
  wait "${!}" 2>/dev/null || true; sleep 1
  python3 - "$label" "${out[@]}" <<'PY'
import re, sys
label, files = sys.argv[1], sys.argv[2:]
rps = 0.0; p99 = 0.0
def ms(v, unit): return float(v) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
for f in files:
    t = open(f).read()
    rps += float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
    m = re.search(r"99%\s+([\d.]+)(us|ms|s)", t); p99 = max(p99, ms(*m.groups()))
print(f"| {label} | {rps:,.0f} | {p99:.1f} |")
PY
}

url_for() { # a fresh database on the cluster
  local name="bench_$1_$$"
  psql -q "$GLOBALLM_TEST_DATABASE_URL" -c "CREATE DATABASE $name" >/dev/null
  python3 -c "import sys,urllib.parse as u; p=u.urlparse(sys.argv[1]); print(p._replace(path='/$name').geturl())" "$GLOBALLM_TEST_DATABASE_URL"
}

echo "| backend | deliveries/s | p99 ms |"
echo "| --- | ---: | ---: |"
load "SQLite, one process" "$(start "$work/sqlite" "")"
pg1=$(url_for one)
load "PostgreSQL, one replica" "$(start "$work/pg1" "$pg1")"
pg2=$(url_for two)
a=$(start "$work/pg2a" "$pg2"); b=$(start "$work/pg2b" "$pg2")
load "PostgreSQL, two replicas" "$a" "$b"
