#!/usr/bin/env python3
"""Seconds and peak memory of `globallm localize` on sympy's development-set tasks, one at a
time: each task without the index cache, then twice with it (the first run writes the pack,
the second reads it), and whether the cached run ranks as the uncached one.

  python3 bench/localize/speed.py BIN TREES [N]

BIN: a release build of globallm. TREES: the sympy checkouts `swebench.sh` keeps, one per base
commit (WORK_DIR/trees/sympy__sympy). N: tasks (default 20). Needs GNU time (/usr/bin/time).
With HISTORY=GIT_DIR (sympy's git snapshot), every run also reads the commits citing the
issues each issue cites, up to its base commit (`--git-dir`, `--rev`), as a clone would.
"""
import json, os, re, shutil, statistics, subprocess, sys, tempfile, time

here = os.path.dirname(os.path.abspath(__file__))
binary, trees = sys.argv[1], sys.argv[2]
n = int(sys.argv[3]) if len(sys.argv) > 3 else 20
data = json.load(open(os.path.join(here, "../../../shared/data/swebench/verified-dev.json")))
data = data if isinstance(data, list) else data["instances"]
tasks = [x for x in data if x["repo"] == "sympy/sympy"][:n]
work = tempfile.mkdtemp()
cache = os.path.join(work, "cache")


def run(task, extra):
    issue = os.path.join(work, "issue.md")
    open(issue, "w").write(task["problem_statement"])
    history = ["--git-dir", os.environ["HISTORY"], "--rev", task["base_commit"]] if os.environ.get("HISTORY") else []
    cmd = ["/usr/bin/time", "-v", binary, "localize", "--repo-path",
           os.path.join(trees, task["base_commit"]), "--issue-file", issue, "--top", "20", "--json",
           *history, *extra]
    start = time.time()
    p = subprocess.run(cmd, capture_output=True, text=True, check=True)
    wall = time.time() - start
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1)) / 1024
    cpu = sum(float(re.search(rf"{k} time \(seconds\): ([\d.]+)", p.stderr).group(1)) for k in ("User", "System"))
    return wall, cpu, rss, [c["path"] for c in json.loads(p.stdout)["candidates"]]


rows = {"no cache": [], "cache, first": [], "cache, second": []}
same = 0
for task in tasks:
    rows["no cache"].append(run(task, []))
    rows["cache, first"].append(run(task, ["--index-cache", cache]))
    rows["cache, second"].append(run(task, ["--index-cache", cache]))
    same += rows["cache, second"][-1][3] == rows["no cache"][-1][3]


def p95(values):
    values = sorted(values)
    return values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]


for name, r in rows.items():
    wall, cpu, rss = ([x[i] for x in r] for i in range(3))
    print(f"{name:14} {len(r)} tasks: wall median {statistics.median(wall):.2f} s, p95 {p95(wall):.2f} s; "
          f"CPU median {statistics.median(cpu):.2f} s; peak memory median {statistics.median(rss):.0f} MB, max {max(rss):.0f} MB")
print(f"the second cached run ranked as the uncached one: {same} of {len(tasks)}")
shutil.rmtree(work)
