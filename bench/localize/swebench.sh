#!/usr/bin/env bash
# Measures `globallm localize` (no LLM) on real issues: the SWE-bench Verified development set
# (../shared/data/swebench/verified-dev.json) over the nine repositories small enough to keep
# here, scored by ../shared/tools/localize_eval.py (recall@1/5/10 and MRR per repository); then
# the 79-issue bench (run.sh) as a second row.
#
# Usage: bench/localize/swebench.sh [REPOS_DIR] [WORK_DIR]
#   REPOS_DIR  git snapshots as owner+name/repo (bare or clones), default /work/.mirror
#   WORK_DIR   checkouts, results (outside the repository), default $TMPDIR/globallm-swebench
# Environment: LOCALIZE_BIN (skip the release build), SHARED (default ../shared beside the
# repository), JOBS (default 2), SKIP_BENCH79=1 (only the real issues), REPO=owner/name (one
# repository only; repeatable as a space-separated list), FEATURES=DIR (also keep each task's
# top 200 with their features in DIR, for bench/localize/fit.py).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
repos="${1:-/work/.mirror}"
work="${2:-${TMPDIR:-/tmp}/globallm-swebench}"
shared="${SHARED:-$root/../shared}"
[ -d "$shared/tools" ] || shared=/work/shared
mkdir -p "$work"

bin="${LOCALIZE_BIN:-}"
if [ -z "$bin" ]; then
  (cd "$root" && cargo build -q --release --bin globallm)
  bin="${CARGO_TARGET_DIR:-$root/target}/release/globallm"
fi

filters=()
for r in ${REPO:-sympy/sympy sphinx-doc/sphinx pydata/xarray astropy/astropy pytest-dev/pytest \
  pylint-dev/pylint psf/requests mwaskom/seaborn pallets/flask}; do
  filters+=(--repo "$r")
done

# The checkouts are exported without .git: the history the localizer reads for the issues an
# issue cites (#8164) is the snapshot's, up to the task's base commit, as a clone's would be.
# NO_HISTORY=1 ranks without it.
history="--git-dir \"\$(d=$repos/\$(echo {repo} | tr / +)/repo; [ -d \$d/.git ] && d=\$d/.git; echo \$d)\" --rev {base_commit}"
[ "${NO_HISTORY:-0}" != 1 ] || history=""
cmd="$bin localize --repo-path {repo_path} --issue-file {issue_file} $history --top 20 --json"
if [ -n "${FEATURES:-}" ]; then
  mkdir -p "$FEATURES"
  cmd="$bin localize --repo-path {repo_path} --issue-file {issue_file} $history --top 200 --json --features > $FEATURES/{instance_id}.json && cat $FEATURES/{instance_id}.json"
fi

# Checkouts are kept per (repository, commit) so a second run reads no git objects; the
# localizer only reads its tree.
python3 "$shared/tools/localize_eval.py" \
  --instances "$shared/data/swebench/verified-dev.json" --repos-dir "$repos" "${filters[@]}" \
  --tree-cache "$work/trees" --work-dir "$work/tmp" --jobs "${JOBS:-2}" --timeout 300 \
  --out "$work/globallm.json" \
  --cmd "$cmd"

python3 - "$work/globallm.json" <<'PY'
import json, statistics, sys
run = json.load(open(sys.argv[1]))
recs = [r for r in run["records"] if r.get("status") == "ok"]
secs = sorted(r.get("cmd_seconds", r.get("seconds", 0)) for r in recs)
if secs:
    p95 = secs[min(len(secs) - 1, int(round(0.95 * (len(secs) - 1))))]
    print(f"\nseconds per task (localizer only): median {statistics.median(secs):.2f}, p95 {p95:.2f}")
PY

if [ "${SKIP_BENCH79:-0}" != 1 ]; then
  echo
  echo "79-issue bench (bench/localize/run.sh):"
  LOCALIZE_BIN="$bin" "$here/run.sh" "$work/bench79" | grep -E '^(set|all) '
fi
