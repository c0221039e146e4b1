#!/usr/bin/env bash
# Measures `globallm localize` recall@1 and recall@5 on real packages' source (see README.md).
# Usage: bench/localize/run.sh [WORK_DIR]   (sources are fetched there, outside the repository)
# Needs pip, npm, apt-get (Debian) and cargo with registry access, and python3.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="${1:-${TMPDIR:-/tmp}/globallm-localize-eval}"
src="$work/src"
mkdir -p "$src"

fetch() {
  cd "$src"
  [ -d requests-2.32.3 ] || { pip download -q --no-deps --no-binary :all: requests==2.32.3 -d . && tar xzf requests-2.32.3.tar.gz && rm requests-2.32.3.tar.gz; }
  [ -d click-8.1.7 ] || { pip download -q --no-deps --no-binary :all: click==8.1.7 -d . && tar xzf click-8.1.7.tar.gz && rm click-8.1.7.tar.gz; }
  if [ ! -d jpype-java ]; then
    pip download -q --no-deps --no-binary :all: JPype1==1.5.0 -d .
    tar xzf JPype1-1.5.0.tar.gz && mkdir jpype-java && cp -r JPype1-1.5.0/native/java/* jpype-java/
    rm -rf JPype1-1.5.0 JPype1-1.5.0.tar.gz
  fi
  for pkg in semver@7.6.3 qs@6.13.0 commander@12.1.0; do
    dir="${pkg/@/-}"
    [ -d "$dir" ] || { npm pack -q "$pkg" >/dev/null && mkdir "$dir" && tar xzf "$dir.tgz" -C "$dir" --strip-components=1 && rm "$dir.tgz"; }
  done
  if [ ! -d pflag ]; then
    apt-get download golang-github-spf13-pflag-dev=1.0.6~git20210604-d5e0c0615ace-1 >/dev/null 2>&1
    dpkg-deb -x golang-github-spf13-pflag-dev_*.deb deb
    mv deb/usr/share/gocode/src/github.com/spf13/pflag pflag && rm -rf deb golang-github-spf13-pflag-dev_*.deb
  fi
  if [ ! -d semver-1.0.28 ] || [ ! -d globset-0.4.22 ] || [ ! -d serde_json-1.0.154 ]; then
    mkdir -p crates/src && touch crates/src/lib.rs
    printf '[package]\nname = "fetch"\nversion = "0.0.0"\nedition = "2021"\n[dependencies]\nsemver = "=1.0.28"\nglobset = "=0.4.22"\nserde_json = "=1.0.154"\n' > crates/Cargo.toml
    (cd crates && cargo vendor -q --versioned-dirs vendor >/dev/null)
    cp -r crates/vendor/semver-1.0.28 crates/vendor/globset-0.4.22 crates/vendor/serde_json-1.0.154 . && rm -rf crates
  fi
}
fetch

cd "$root"
# LOCALIZE_BIN=path/to/globallm skips the release build (the ranking is the same in debug).
bin="${LOCALIZE_BIN:-}"
if [ -z "$bin" ]; then
  cargo build -q --release --bin globallm
  bin="${CARGO_TARGET_DIR:-$root/target}/release/globallm"
fi
results="$work/results.jsonl"
: > "$results"
count=$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))))" "$here/issues.json")
for i in $(seq 0 $((count - 1))); do
  python3 - "$here/issues.json" "$i" "$work/issue.json" <<'PY'
import json, sys
issue = json.load(open(sys.argv[1]))[int(sys.argv[2])]
json.dump({"title": issue["title"], "body": issue["body"]}, open(sys.argv[3], "w"))
print(issue["repo"], file=open(sys.argv[3] + ".repo", "w"), end="")
PY
  repo="$(cat "$work/issue.json.repo")"
  start=$(date +%s%N)
  out="$("$bin" localize --repo-path "$src/$repo" --issue-file "$work/issue.json" --top 5 --json)"
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  python3 -c "import json,sys; r=json.loads(sys.argv[1]); print(json.dumps({'index': int(sys.argv[2]), 'ms': int(sys.argv[3]), 'ranked': [c['path'] for c in r['candidates']]}))" "$out" "$i" "$ms" >> "$results"
done

python3 - "$here/issues.json" "$results" <<'PY'
import json, sys
from collections import defaultdict
issues = json.load(open(sys.argv[1]))
runs = {r["index"]: r for r in map(json.loads, open(sys.argv[2]))}
groups = defaultdict(list)
for i, issue in enumerate(issues):
    ranked = runs[i]["ranked"]
    rank = next((k + 1 for k, p in enumerate(ranked) if p in issue["expected"]), None)
    for key in ("all", "kind:" + issue["kind"], "repo:" + issue["repo"]):
        groups[key].append(rank)
    mark = rank if rank else "-"
    print(f"{mark:>2}  {issue['repo']:<18} {issue['kind']:<11} {issue['title'][:60]}")
print()
print(f"{'set':<28} {'n':>3} {'recall@1':>9} {'recall@5':>9} {'MRR@5':>7}")
for key in sorted(groups, key=lambda k: (k != "all", k)):
    ranks = groups[key]
    n = len(ranks)
    r1 = sum(1 for r in ranks if r == 1) / n
    r5 = sum(1 for r in ranks if r and r <= 5) / n
    mrr = sum(1 / r for r in ranks if r) / n
    print(f"{key:<28} {n:>3} {r1:>9.2f} {r5:>9.2f} {mrr:>7.2f}")
times = sorted(r["ms"] for r in runs.values())
print(f"\ntime per issue (process start to JSON): median {times[len(times) // 2]} ms, max {times[-1]} ms")
PY
