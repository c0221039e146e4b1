#!/usr/bin/env bash
# `globallm analyze --graph` on a synthetic scale-free graph, timed under /usr/bin/time -v,
# then networkx's nx.pagerank on the same file as the reference.
# Usage: bench/graph.sh [NODES] [EDGES] [K]      (default 1000000 10000000 256)
# Needs python3 with networkx, numpy and scipy for the reference (skipped when missing).
# The generated graph and metrics live in a temporary directory removed at exit.
set -euo pipefail
cd "$(dirname "$0")/.."
nodes=${1:-1000000}
edges=${2:-10000000}
k=${3:-256}
target=${CARGO_TARGET_DIR:-target}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

cargo build --release --quiet --bin globallm
cargo bench --bench graph --quiet -- --generate "$dir/edges.tsv" --nodes "$nodes" --edges "$edges"
ls -l "$dir/edges.tsv" | awk '{printf "edge list: %.0f MB\n", $5 / 1e6}'

echo "== globallm analyze --graph edges.tsv --out metrics.tsv --k $k"
/usr/bin/time -v "$target/release/globallm" analyze --graph "$dir/edges.tsv" --out "$dir/metrics.tsv" --k "$k" 2>"$dir/time.txt"
grep -vE '^\s' "$dir/time.txt"
grep -E 'Elapsed \(wall clock\)|Maximum resident set size|User time|System time' "$dir/time.txt"

if python3 -c 'import networkx, scipy' 2>/dev/null; then
  echo "== networkx"
  /usr/bin/time -v python3 bench/networkx_pagerank.py "$dir/edges.tsv" "$dir/metrics.tsv" 2>"$dir/nx-time.txt"
  grep -E 'Elapsed \(wall clock\)|Maximum resident set size' "$dir/nx-time.txt"
else
  echo "networkx, numpy or scipy missing: pip install networkx numpy scipy" >&2
fi
