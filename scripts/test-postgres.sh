#!/usr/bin/env bash
# Runs a command (by default the library's tests) against a throwaway PostgreSQL cluster:
# installs PostgreSQL from Debian's packages when it is missing, starts a cluster in a
# temporary directory as a non-root user (CI runs as root; PostgreSQL refuses to), sets
# GLOBALLM_TEST_DATABASE_URL to it, runs the command, then stops the cluster and removes it.
#
# Usage: scripts/test-postgres.sh [COMMAND...]   (default: cargo test --locked --lib)
set -euo pipefail
cd "$(dirname "$0")/.."

find_bin() {
  command -v "$1" 2>/dev/null && return
  ls -d /usr/lib/postgresql/*/bin/"$1" 2>/dev/null | sort -V | tail -n 1
}

if [ -z "$(find_bin initdb)" ]; then
  if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    postgresql >/dev/null
fi
initdb="$(find_bin initdb)"
pg_ctl="$(find_bin pg_ctl)"
[ -n "$initdb" ] && [ -n "$pg_ctl" ] || { echo "PostgreSQL's initdb/pg_ctl not found" >&2; exit 1; }

dir="$(mktemp -d "${TMPDIR:-/tmp}/globallm-pg.XXXXXX")"
as_owner=()
if [ "$(id -u)" -eq 0 ]; then
  # PostgreSQL will not run as root: the cluster belongs to the `postgres` user (Debian's
  # package creates it), else to a user made for it.
  id -u postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
  chown postgres "$dir"
  as_owner=(runuser -u postgres --)
fi
port="${GLOBALLM_TEST_PG_PORT:-$((20000 + RANDOM % 20000))}"
cleanup() {
  "${as_owner[@]}" "$pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT

"${as_owner[@]}" "$initdb" -D "$dir/data" -U globallm --auth=trust -E UTF8 >"$dir/initdb.log"
# Throwaway: no fsync (the durability under test is GlobalLM's, not the disk's); enough
# connections for every test's pool running in parallel.
"${as_owner[@]}" "$pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -o \
  "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
   -c full_page_writes=off -c max_connections=500" start >/dev/null

export GLOBALLM_TEST_DATABASE_URL="postgres://globallm@127.0.0.1:$port/postgres"
echo "PostgreSQL $("$(find_bin postgres)" --version | awk '{print $3}') on port $port"
if [ $# -eq 0 ]; then
  set -- cargo test --locked --lib
fi
"$@"
