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
bin="${CARGO_TARGET_DIR:-target}/release/globallm"
body=../shared/data/github/webhooks/issues/opened.payload.json
[ -f "$body" ] || body=tests/fixtures/webhooks/issues.json
export GLOBALLM_WEBHOOK_SECRET=bench-webhook-secret
signature="sha256=$(openssl dgst -sha256 -hmac "$GLOBALLM_WEBHOOK_SECRET" -r "$body" | cut -d' ' -f1)"
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
start() { # data dir, database URL (empty: SQLite); sets $port
  port=$(free_port)
  local database=()
  [ -n "$2" ] && database=("GLOBALLM_DATABASE_URL=$2")
  env -u GLOBALLM_TEST_DATABASE_URL "${database[@]}" RUST_LOG=warn "$bin" serve \
    --listen "127.0.0.1:$port" --data-dir "$1" >"$1.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 200); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && return; sleep 0.05; done
  echo "the service on port $port did not become ready:" >&2; cat "$1.log" >&2; exit 1
}
load() { # label, ports…: wrk on each port at once, the connections split between them
  local label=$1; shift
  local per=$((connections / $#)) out=() runs=()
  for p in "$@"; do
    out+=("$work/wrk-$p.txt")
    GUID_PREFIX="$p-" BODY_FILE=$body SIGNATURE=$signature wrk -t1 -c"$per" -d"$duration" --latency \
      -s bench/wrk-webhook.lua "http://127.0.0.1:$p/webhook" >"$work/wrk-$p.txt" &
    runs+=($!)
  done
  wait "${runs[@]}"
  python3 - "$label" "${out[@]}" <<'PY'
import re, sys
label, files = sys.argv[1], sys.argv[2:]
rps = 0.0; p99 = 0.0; non2xx = 0
def ms(v, unit): return float(v) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
for f in files:
    t = open(f).read()
    rps += float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
    m = re.search(r"99%\s+([\d.]+)(us|ms|s)", t); p99 = max(p99, ms(*m.groups()))
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", t); non2xx += int(m.group(1)) if m else 0
print(f"| {label} | {rps:,.0f} | {p99:.1f} | {non2xx} |")
PY
}

url_for() { # a fresh database on the cluster
  local name="bench_$1_$$"
  psql -q "$GLOBALLM_TEST_DATABASE_URL" -c "CREATE DATABASE $name" >/dev/null
  python3 -c "import sys,urllib.parse as u; p=u.urlparse(sys.argv[1]); print(p._replace(path='/$name').geturl())" "$GLOBALLM_TEST_DATABASE_URL"
}

echo "| backend | deliveries/s | p99 ms | refused |"
echo "| --- | ---: | ---: | ---: |"
start "$work/sqlite" ""
load "SQLite, one process" "$port"
start "$work/pg1" "$(url_for one)"
load "PostgreSQL, one replica" "$port"
pg2=$(url_for two)
start "$work/pg2a" "$pg2"; a=$port
start "$work/pg2b" "$pg2"; b=$port
load "PostgreSQL, two replicas" "$a" "$b"
